"""The idle connections of an ``HttpClient``, by origin.

How it works: a connection that finished an exchange cleanly is put back here with the time
it became idle; a request takes the most recently used one of its origin (LIFO, so a quiet
period lets the others age out).  Expiry is lazy, since the client runs no tasks of its own:
every take and put first removes the connections idle for longer than ``idle_timeout``, oldest
first, from one insertion-ordered dict across all origins (so this costs nothing per origin
that has nothing expired).  Removed connections are handed back to the caller to close: the
pool itself is synchronous and never awaits.

Rules it keeps: at most ``max_idle_per_origin`` idle connections per origin (the oldest go
first); a connection is only ever in the pool while nobody uses it; a connection whose server
has already spoken (closed it, reset it, sent stray bytes) is never handed out.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from trimap.httpclient._url import Origin

__all__ = ["ConnectionPool", "PooledConnection"]


class PooledConnection(Protocol):
    """What the pool needs of a connection (``C`` in the client)."""

    origin: Origin
    idle_since: float

    def peer_has_spoken(self) -> bool: ...


C = TypeVar("C", bound=PooledConnection)


class ConnectionPool(Generic[C]):
    def __init__(self, *, max_idle_per_origin: int, idle_timeout: float) -> None:
        self.max_idle_per_origin = max_idle_per_origin
        self.idle_timeout = idle_timeout
        self._by_origin: dict[Origin, list[C]] = {}  # oldest first
        self._all_oldest_first: dict[C, None] = {}

    def __len__(self) -> int:
        return len(self._all_oldest_first)

    def idle_count(self, origin: Origin) -> int:
        return len(self._by_origin.get(origin, ()))

    def take(self, origin: Origin, now: float) -> tuple[C | None, list[C]]:
        """A usable idle connection to ``origin`` (or None), and the connections to close."""
        to_close = self._expire(now)
        stack = self._by_origin.get(origin)
        while stack:
            connection = stack.pop()
            del self._all_oldest_first[connection]
            if connection.peer_has_spoken():
                to_close.append(connection)
                continue
            if not stack:
                del self._by_origin[origin]
            return connection, to_close
        self._by_origin.pop(origin, None)
        return None, to_close

    def put(self, connection: C, now: float) -> list[C]:
        """Keep ``connection`` idle; returns the connections to close (expired, over the cap)."""
        to_close = self._expire(now)
        connection.idle_since = now
        stack = self._by_origin.setdefault(connection.origin, [])
        stack.append(connection)
        self._all_oldest_first[connection] = None
        while len(stack) > self.max_idle_per_origin:
            oldest = stack.pop(0)
            del self._all_oldest_first[oldest]
            to_close.append(oldest)
        return to_close

    def take_all(self) -> list[C]:
        """Empty the pool; returns every idle connection (to close)."""
        everything = list(self._all_oldest_first)
        self._all_oldest_first.clear()
        self._by_origin.clear()
        return everything

    def _expire(self, now: float) -> list[C]:
        expired: list[C] = []
        for connection in self._all_oldest_first:
            if now - connection.idle_since < self.idle_timeout:
                break
            expired.append(connection)
        for connection in expired:
            del self._all_oldest_first[connection]
            stack = self._by_origin[connection.origin]
            stack.remove(connection)  # the oldest of its origin: at or near the front
            if not stack:
                del self._by_origin[connection.origin]
        return expired
