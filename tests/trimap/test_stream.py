"""``/v1/stream`` over a real WebSocket (order, filters, resuming, errors); ``events --follow``."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from tests.service_process import ROOT, TrimapProcess, run_trimap
from tests.trimap.sample_events import event
from tests.waiting import wait_until
from trimap.config import load_config
from trimap.events import Event, EventLog
from trimap.metrics import Metrics
from trimap.service import serve
from trimap.store import EventLogStore, RedisStore

TIMEOUT = 10.0  # a deadline only a broken stream reaches, never a measurement
PROBES = itertools.count(100_000)


def big_event(uid: int) -> Event:
    return dataclasses.replace(event("a", uid), data={"uid": uid, "blob": "x" * 20_000})


@pytest.fixture
async def service(
    redis_url: str, nursery: trio.Nursery, tmp_path: Path
) -> AsyncIterator[tuple[str, trio.Event]]:
    """The stream's URL on an in-process service, and the event that stops the service."""
    options = {"api.port": "0", "dbs.redis": redis_url, "data.dir": str(tmp_path)}
    config = load_config(options, environ={})
    stop = trio.Event()
    bound = await nursery.start(partial(serve, config, stop=stop, handle_signals=False))
    yield bound[0].replace("http://", "ws://") + "/v1/stream", stop
    stop.set()


@pytest.fixture
def ws_url(service: tuple[str, trio.Event]) -> str:
    return service[0]


@pytest.fixture
def writer(redis_url: str) -> Iterator[EventLog]:
    """Another instance's view of the same log (its appends reach the service by the poll)."""
    store = RedisStore(redis_url)
    backend = EventLogStore(store, retention=3600, max_length=100, dedupe_window=60)
    yield EventLog(backend, Metrics(), poll_interval=0.05)
    store.close()


def url(base: str, **query: Any) -> str:
    return f"{base}?{urlencode(query, doseq=True)}" if query else base


async def frames(ws: WebSocketConnection, count: int) -> list[dict[str, Any]]:
    received = []
    with trio.fail_after(TIMEOUT):
        for _ in range(count):
            received.append(json.loads(await ws.get_message()))
    return received


async def connected(ws: WebSocketConnection, writer: EventLog, account: str = "probe") -> None:
    """Return once the handler is tailing: a probe event appended now comes through."""
    await writer.append([event(account, next(PROBES))])
    assert (await frames(ws, 1))[0]["account"] == account


async def test_events_arrive_in_order_with_positions(ws_url: str, writer: EventLog) -> None:
    before = await writer.append([event("a", 0)])  # logged before connecting: not streamed
    async with open_websocket_url(ws_url) as ws:
        await connected(ws, writer)
        positions = await writer.append([event("a", uid) for uid in range(1, 6)])
        received = await frames(ws, 5)
    assert [frame["position"] for frame in received] == positions
    assert [frame["data"]["uid"] for frame in received] == [1, 2, 3, 4, 5]
    assert received[0]["event"] == "messageNew" and received[0]["account"] == "a"
    assert before[0] not in positions


async def test_filters_by_account_and_event(ws_url: str, writer: EventLog) -> None:
    query = {"account": "a", "event": ["messageDeleted", "messageUpdated,messageNew"]}
    async with open_websocket_url(url(ws_url, **query)) as ws:
        await connected(ws, writer, account="a")
        await writer.append(
            [
                event("b", 1, "messageDeleted"),
                event("a", 2, "messageDeleted"),
                event("a", 3, "mailboxNew"),
                event("a", 4, "messageUpdated"),
            ]
        )
        received = await frames(ws, 2)
    assert [(f["account"], f["data"]["uid"]) for f in received] == [("a", 2), ("a", 4)]


async def test_a_client_resuming_from_its_cursor_sees_every_event_once(
    ws_url: str, writer: EventLog
) -> None:
    start = await writer.append([event("a", 0)])
    seen: list[int] = []
    cursor = start[0]
    for batch in range(4):
        uids = range(batch * 10 + 1, batch * 10 + 11)
        async with open_websocket_url(url(ws_url, cursor=cursor)) as ws:
            await writer.append([event("a", uid) for uid in uids[:5]])
            received = await frames(ws, 3)  # leave with events sent but not read
        seen += [frame["data"]["uid"] for frame in received]
        cursor = received[-1]["position"]
        await writer.append([event("a", uid) for uid in uids[5:]])  # while it is away
    async with open_websocket_url(url(ws_url, cursor=cursor)) as ws:
        received = await frames(ws, 40 - len(seen))
    seen += [frame["data"]["uid"] for frame in received]
    assert seen == list(range(1, 41))


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ({"cursor": "yesterday"}, ["cursor"]),
        ({"event": "messageNu"}, ["event"]),
        ({"colour": "blue", "account": ["a", "b"]}, ["account", "colour"]),
    ],
)
async def test_invalid_queries_get_an_error_frame_and_a_close(
    ws_url: str, query: dict[str, Any], keys: list[str]
) -> None:
    async with open_websocket_url(url(ws_url, **query)) as ws:
        (body,) = await frames(ws, 1)
        with pytest.raises(ConnectionClosed) as closed:
            await frames(ws, 1)
    assert body["statusCode"] == 400 and body["code"] == "InvalidInput"
    assert sorted(field["key"] for field in body["fields"]) == keys
    assert closed.value.reason.code == 1008
    assert closed.value.reason.reason == "InvalidInput"


async def test_an_expired_cursor_gets_an_error_frame_and_a_close(
    ws_url: str, writer: EventLog
) -> None:
    for start in range(0, 1000, 100):  # the writer's size bound is 100 events
        await writer.append([event("a", uid) for uid in range(start, start + 100)])
    async with open_websocket_url(url(ws_url, cursor="0-0")) as ws:
        (body,) = await frames(ws, 1)
        with pytest.raises(ConnectionClosed) as closed:
            await frames(ws, 1)
    assert body["statusCode"] == 410 and body["code"] == "CursorExpired"
    assert "cursor" in body["message"]
    assert closed.value.reason.code == 1008


async def test_a_client_that_stops_reading_does_not_hold_up_others(
    ws_url: str, writer: EventLog
) -> None:
    async with open_websocket_url(ws_url) as stalled, open_websocket_url(ws_url) as reader:
        await connected(reader, writer)
        await frames(stalled, 1)  # the stalled client's probe; it reads nothing after this
        for start in range(0, 200, 20):
            await writer.append([big_event(uid) for uid in range(start, start + 20)])
            received = await frames(reader, 20)
            assert [f["data"]["uid"] for f in received] == list(range(start, start + 20))


async def test_a_stopping_service_closes_its_streams_with_going_away(
    service: tuple[str, trio.Event], writer: EventLog
) -> None:
    ws_url, stop = service
    async with open_websocket_url(ws_url) as ws:
        await connected(ws, writer)
        stop.set()
        with pytest.raises(ConnectionClosed) as closed:
            await frames(ws, 1)
    assert closed.value.reason.code == 1001
    assert closed.value.reason.reason == "ServiceStopping"


# --- trimap events --follow --------------------------------------------------------------


class Follower:
    """``trimap events --follow`` as a child process, its stdout lines collected by a thread."""

    def __init__(self, args: list[str]) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("TRIMAP_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "trimap", "events", "--follow", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=environ,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def uids(self) -> list[int]:
        return [json.loads(line)["data"]["uid"] for line in list(self.lines)]

    def stop(self) -> tuple[int, str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=TIMEOUT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        assert self.process.stderr is not None
        return status, self.process.stderr.read()


def _append(redis_url: str, uids: range) -> list[str]:
    store = RedisStore(redis_url)
    backend = EventLogStore(store, retention=3600, max_length=1000, dedupe_window=60)
    try:
        return trio.run(EventLog(backend, Metrics()).append, [event("a", uid) for uid in uids])
    finally:
        store.close()


def test_follow_prints_json_lines_and_resumes_across_a_service_restart(
    redis_url: str, tmp_path: Path
) -> None:
    options = [f"--dbs.redis={redis_url}", f"--data.dir={tmp_path}"]
    trimap = TrimapProcess.start(options)
    port = trimap.url.rsplit(":", 1)[1]  # type: ignore[union-attr]
    start = _append(redis_url, range(0, 1))
    follower = Follower(["--url", f"ws://127.0.0.1:{port}", "--cursor", start[0]])
    try:
        _append(redis_url, range(1, 4))
        wait_until(lambda: follower.uids() == [1, 2, 3], message=lambda: repr(follower.lines))
        assert trimap.stop() == 0
        _append(redis_url, range(4, 7))  # logged while the service is down
        trimap = TrimapProcess.start([*options, f"--api.port={port}"])
        _append(redis_url, range(7, 9))
        wait_until(lambda: len(follower.uids()) >= 8, message=lambda: repr(follower.lines))
        assert follower.uids() == list(range(1, 9))
        record = json.loads(follower.lines[0])
        assert record["account"] == "a" and record["position"]
    finally:
        status, stderr = follower.stop()
        trimap.stop()
    assert status == 0, stderr


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["events"], "--follow"),
        (["events", "--follow", "--colour", "blue"], "--colour"),
        (["events", "--follow", "--url"], "--url"),
        (["events", "--follow", "--url", "http://x"], "ws://"),
        (["events", "--follow", "--event", "messageNu"], "messageNu"),
        (["watch"], "watch"),
    ],
)
def test_follow_usage_errors_are_one_line(args: list[str], complaint: str) -> None:
    result = run_trimap(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and complaint in lines[0], result.stderr


def test_follow_stops_with_one_line_on_errors_it_cannot_retry(
    redis_url: str, tmp_path: Path
) -> None:
    trimap = TrimapProcess.start([f"--dbs.redis={redis_url}", f"--data.dir={tmp_path}"])
    base = str(trimap.url).replace("http://", "ws://")
    try:
        for args, complaint in [
            (["--url", base, "--cursor", "yesterday"], "InvalidInput"),
            (["--url", f"{base}/elsewhere"], "HTTP 404"),
        ]:
            result = subprocess.run(
                [sys.executable, "-m", "trimap", "events", "--follow", *args],
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=30,
            )
            assert result.returncode == 1, result.stderr
            assert result.stdout == ""
            lines = result.stderr.splitlines()
            assert len(lines) == 1 and complaint in lines[0], result.stderr
    finally:
        assert trimap.stop() == 0
