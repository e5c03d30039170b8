"""The async facade over Redis: the only door from trio code to the database.

How it works: redis-py (with hiredis) is a blocking client, so every call is
run in a trio worker thread through ``RedisStore.call``, which is limited to a
fixed number of concurrent threads (a ``trio.CapacityLimiter``) so a burst of
work queues up instead of spawning threads without bound.  One connection pool
is shared by those threads.  Later modules of ``trimap.store`` build typed
operations (accounts, sync state, logs, event log) on ``call`` and on
pipelines; no code outside ``trimap.store`` knows a Redis key name.

Rules it keeps:

* Every network operation has a socket timeout, so a thread never blocks
  forever on a dead server, and cancellation of the waiting trio task is
  honoured at once (the thread finishes on its own, within that timeout).
* Connection errors surface as ``StoreUnavailable`` with a message that
  names the server but never a password from the URL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis
import trio

__all__ = ["RedisHealth", "RedisStore", "StoreUnavailable", "redacted_url"]

T = TypeVar("T")
MAX_THREADS = 16


class StoreUnavailable(Exception):
    """Redis could not be reached or answered with an error."""


def redacted_url(url: str) -> str:
    """The URL with any password replaced by ``***``, for logs and errors."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


@dataclass(frozen=True, slots=True)
class RedisHealth:
    """What ``/health`` reports about Redis."""

    reachable: bool
    version: str | None = None
    latency_ms: float | None = None
    error: str | None = None


class RedisStore:
    """Runs redis-py calls in worker threads; see the module comment."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self._client: redis.Redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=min(timeout, 2.0),
            health_check_interval=30,
        )
        self._limiter = trio.CapacityLimiter(MAX_THREADS)

    @property
    def client(self) -> redis.Redis:
        """The blocking client, for functions passed to ``call``."""
        return self._client

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` in a worker thread; Redis errors become ``StoreUnavailable``."""
        try:
            return await trio.to_thread.run_sync(
                function, *args, limiter=self._limiter, abandon_on_cancel=True
            )
        except redis.RedisError as exc:
            raise StoreUnavailable(f"Redis at {redacted_url(self.url)}: {exc}") from None

    async def health(self) -> RedisHealth:
        """Ping Redis and read its version; never raises for an unreachable server."""

        def probe() -> tuple[float, str]:
            began = time.perf_counter()
            self._client.ping()
            latency = (time.perf_counter() - began) * 1000
            info = self._client.info("server")
            return latency, str(info.get("redis_version", "unknown"))

        try:
            latency, version = await self.call(probe)
        except StoreUnavailable as exc:
            return RedisHealth(reachable=False, error=str(exc))
        return RedisHealth(reachable=True, version=version, latency_ms=round(latency, 3))

    async def answers(self) -> bool:
        """Whether a Redis server answers PING at the URL (bounded by the socket timeouts)."""
        return (await self.health()).reachable

    def close(self) -> None:
        self._client.close()
