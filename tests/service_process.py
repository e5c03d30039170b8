"""Run the real ``trimap`` command as a child process, the way operators do.

``TrimapProcess.start`` launches ``python -m trimap`` with the given options
(``--api.port=0`` and a temporary ``--data.dir`` unless told otherwise),
collects its JSON log lines on a reader thread, and returns once the "trimap is
serving" line names the bound address, or raises with the process output when
it exits or the deadline passes.  Later tests use it to SIGTERM, SIGKILL and restart the service.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent


class TrimapProcess:
    """One running ``trimap`` process and the log lines it wrote."""

    def __init__(self, process: subprocess.Popen[str], own_data_dir: Path | None = None) -> None:
        self.process = process
        self.own_data_dir = own_data_dir  # a temporary data.dir, removed by stop()
        self.lines: list[str] = []
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def start(
        cls,
        options: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 20.0,
    ) -> TrimapProcess:
        args = list(options)
        if not any(arg.startswith("--api.port") for arg in args):
            args.append("--api.port=0")
        own_data_dir = None
        if not any(arg.startswith("--data.dir") for arg in args):
            own_data_dir = Path(tempfile.mkdtemp(prefix="trimap-data-"))
            args.append(f"--data.dir={own_data_dir}")
        environ = {k: v for k, v in os.environ.items() if not k.startswith("TRIMAP_")}
        environ.update(env or {})
        process = subprocess.Popen(
            [sys.executable, "-m", "trimap", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd or ROOT,
            env=environ,
        )
        started = cls(process, own_data_dir)
        wait_until(
            lambda: started.url is not None or process.poll() is not None,
            timeout=timeout,
            message="trimap did not report that it is serving",
        )
        if started.url is None:
            raise AssertionError(f"trimap exited: {started.output()}")
        return started

    def _read(self) -> None:
        assert self.process.stdout is not None and self.process.stderr is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
        self.stderr = self.process.stderr.read()

    def records(self) -> list[dict[str, object]]:
        """The log lines parsed as JSON (each must be valid JSON)."""
        return [json.loads(line) for line in list(self.lines)]

    @property
    def url(self) -> str | None:
        for line in list(self.lines):
            record = json.loads(line)
            if record.get("msg") == "trimap is serving":
                return str(record["addresses"][0])
        return None

    def output(self) -> str:
        return "\n".join(self.lines) + "\n" + self.stderr

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Send ``sig`` and wait for the exit status; kills the process past ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._reader.join(timeout=5)
            if self.own_data_dir is not None:
                shutil.rmtree(self.own_data_dir, ignore_errors=True)


def run_trimap(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m trimap ARGS`` to completion (for commands that exit by themselves)."""
    return subprocess.run(
        [sys.executable, "-m", "trimap", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
