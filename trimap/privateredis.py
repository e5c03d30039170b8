"""A private redis-server, so ``trimap`` works out of the box with no Redis set up.

How it works: when the configured Redis URL is the default and nothing
answers there, the service starts ``redis-server`` as a child process under
``<data.dir>/redis`` (append-only file on, RDB snapshots off, listening on a
unix socket only, ``noeviction``), waits until it answers PING and hands the
service a ``unix://`` URL for database 8, the default database.  The process
runs as a supervised task: if it exits, ``supervise`` starts it again on the
same files, so no data is lost; on shutdown, cancellation sends SIGTERM and
Redis flushes its AOF before exiting.

Rules it keeps:

* It never listens on TCP, so it cannot clash with or be mistaken for a
  system Redis, and nothing else on the machine can reach it.
* Socket paths are kept under the 107-byte unix limit: a deep data directory
  gets its socket in /tmp under a name derived from the directory.
* A missing ``redis-server`` binary or a server that does not come up within
  ``START_TIMEOUT`` is a ``PrivateRedisError`` with a message saying what to do.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from functools import partial
from pathlib import Path

import trio

from trimap.store import RedisStore

__all__ = ["PrivateRedis", "PrivateRedisError"]

START_TIMEOUT = 10.0
MAX_SOCKET_PATH = 100
DEFAULT_DB = 8


class PrivateRedisError(Exception):
    """The private redis-server could not be started."""


class PrivateRedis:
    """A supervised redis-server child process owned by this trimap instance."""

    def __init__(self, data_dir: Path, db: int = DEFAULT_DB) -> None:
        self.directory = (data_dir / "redis").resolve()
        socket = self.directory / "redis.sock"
        if len(str(socket)) > MAX_SOCKET_PATH:
            digest = hashlib.sha256(str(self.directory).encode()).hexdigest()[:16]
            socket = Path("/tmp") / f"trimap-redis-{digest}.sock"
        self.socket = socket
        self.url = f"unix://{self.socket}?db={db}"

    def command(self, binary: str) -> list[str]:
        return [
            binary,
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--maxmemory-policy", "noeviction",
            "--daemonize", "no",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip

    async def run(self, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED) -> None:
        """Run redis-server until cancelled; ``task_status.started(url)`` once it answers."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise PrivateRedisError(
                "no Redis answers at the default URL and redis-server is not installed "
                "(apt-get install redis-server, or set dbs.redis)"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        async with trio.open_nursery() as nursery:
            process: trio.Process = await nursery.start(
                partial(
                    trio.run_process,
                    self.command(binary),
                    check=False,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            await self._wait_until_ready(process)
            task_status.started(self.url)
            await process.wait()
            raise PrivateRedisError(
                f"redis-server exited with status {process.returncode}; "
                f"see {self.directory / 'redis.log'}"
            )

    async def _wait_until_ready(self, process: trio.Process) -> None:
        store = RedisStore(self.url, timeout=1.0)
        try:
            with trio.move_on_after(START_TIMEOUT):
                while process.returncode is None:
                    if self.socket.exists() and await store.answers():
                        return
                    await trio.sleep(0.05)
            raise PrivateRedisError(
                f"redis-server did not come up (see {self.directory / 'redis.log'})"
            )
        finally:
            store.close()
