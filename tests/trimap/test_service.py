"""The service end to end: /health, JSON errors, clean shutdown, private Redis."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

import pytest
import trio

from tests.httpclient import request
from tests.service_process import ROOT, TrimapProcess, run_trimap
from trimap.config import load_config
from trimap.service import serve


async def test_health_reports_redis_and_errors_are_json(redis_url, nursery, tmp_path) -> None:
    options = {"api.port": "0", "dbs.redis": redis_url, "data.dir": str(tmp_path)}
    config = load_config(options, environ={})
    stop = trio.Event()
    bound = await nursery.start(partial(serve, config, stop=stop, handle_signals=False))
    base = bound[0]

    health = await trio.to_thread.run_sync(request, "GET", f"{base}/health")
    assert health.status == 200
    assert health.headers["content-type"].startswith("application/json")
    body = health.json()
    assert body["status"] == "ok"
    assert body["redis"]["reachable"] is True
    assert body["redis"]["version"].count(".") == 2
    assert body["redis"]["private"] is False

    missing = await trio.to_thread.run_sync(request, "GET", f"{base}/v1/nothing-here")
    assert missing.status == 404
    assert missing.json() == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "Requested page not found",
        "code": "NotFound",
    }
    wrong_method = await trio.to_thread.run_sync(request, "DELETE", f"{base}/health")
    assert wrong_method.status == 405
    assert wrong_method.json()["code"] == "MethodNotAllowed"
    stop.set()


async def test_health_is_503_while_redis_is_unreachable(nursery, tmp_path) -> None:
    with trio.socket.socket() as probe:  # a port nothing listens on
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = {
        "api.port": "0",
        "dbs.redis": f"redis://127.0.0.1:{port}/0",
        "data.dir": str(tmp_path),
    }
    config = load_config(options, environ={})
    stop = trio.Event()
    bound = await nursery.start(partial(serve, config, stop=stop, handle_signals=False))
    health = await trio.to_thread.run_sync(request, "GET", f"{bound[0]}/health")
    assert health.status == 503
    assert health.json()["redis"]["reachable"] is False
    stop.set()


def test_request_body_cap_is_a_json_413(redis_url, tmp_path) -> None:
    options = [f"--dbs.redis={redis_url}", f"--data.dir={tmp_path}", "--api.maxSize=1k"]
    trimap = TrimapProcess.start(options)
    try:
        answer = request("POST", f"{trimap.url}/health", body=b"x" * 4096)
        assert answer.status == 413
        assert answer.json()["code"] == "PayloadTooLarge"
    finally:
        assert trimap.stop() == 0


def test_sigterm_and_sigint_stop_the_process_cleanly(redis_url, tmp_path) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        trimap = TrimapProcess.start([f"--dbs.redis={redis_url}", f"--data.dir={tmp_path}"])
        assert request("GET", f"{trimap.url}/health").status == 200
        # the service's own shutdown.timeout (5 s) bounds the exit; the wait is a deadline
        assert trimap.stop(sig, timeout=6.0) == 0
        messages = [record["msg"] for record in trimap.records()]
        assert messages[-1] == "trimap stopped"


def test_bad_port_exits_with_one_line() -> None:
    result = run_trimap("--api.port=abc")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "api.port" in lines[0] and "abc" in lines[0]


def test_port_in_use_exits_with_one_line(redis_url, tmp_path) -> None:
    first = TrimapProcess.start([f"--dbs.redis={redis_url}", f"--data.dir={tmp_path}"])
    try:
        port = first.url.rsplit(":", 1)[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "trimap",
                f"--api.port={port}",
                f"--dbs.redis={redis_url}",
                f"--data.dir={tmp_path}",
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=30,
        )
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [
            f"trimap: cannot listen on 127.0.0.1:{port}: Address already in use"
        ]
    finally:
        first.stop()


PRIVATE_REDIS_PROBE = r"""
import json, signal, subprocess, sys
sys.path.insert(0, sys.argv[1])
from tests.httpclient import request
from tests.service_process import TrimapProcess
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
trimap = TrimapProcess.start([f"--data.dir={sys.argv[2]}"])
health = request("GET", f"{trimap.url}/health")
status = trimap.stop(signal.SIGTERM, timeout=6.0)
print(json.dumps({"status": health.status, "health": health.json(), "exit": status}))
"""


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
def test_private_redis_starts_when_nothing_answers_at_the_default_url() -> None:
    """In a fresh network namespace nothing listens on 127.0.0.1:6379, as on a new machine."""
    data_dir = Path(tempfile.mkdtemp(prefix="trimap-data-"))
    try:
        result = subprocess.run(
            [
                "unshare",
                "--net",
                sys.executable,
                "-c",
                PRIVATE_REDIS_PROBE,
                str(ROOT),
                str(data_dir),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0 and "Operation not permitted" in result.stderr:
            pytest.skip("creating a network namespace is not permitted here")
        assert result.returncode == 0, result.stderr
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
        assert outcome["status"] == 200
        assert outcome["health"]["redis"] | {"latencyMs": None} == {
            "reachable": True,
            "private": True,
            "version": outcome["health"]["redis"]["version"],
            "latencyMs": None,
        }
        assert outcome["exit"] == 0
        assert (data_dir / "redis" / "appendonlydir").is_dir()
        leftover = subprocess.run(
            ["pgrep", "-f", str(data_dir)], capture_output=True, text=True
        ).stdout
        assert leftover == "", "the private redis-server outlived trimap"
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
