"""One account's protocol log: from imapproto's hook to Redis, without ever slowing IMAP down.

How it works: ``hook(cid)`` gives the ``imapproto.client.ProtocolLog`` callable
for one connection; imapproto calls it synchronously with ``("C"|"S", line)``
for every line sent and received, already redacted (passwords and tokens
masked, literals elided).  The runner adds its own lines (state changes,
errors) with ``note``.  Both only append to an in-memory buffer; ``run``, a
long-lived task in the account's nursery, writes the buffer to the
``ProtocolLogStore`` in batches: once ``batch`` entries wait, or ``interval``
seconds after the first one arrived.  An idle account costs no wake-ups.

Each stored entry is ``{"t": epoch ms, "src": "C"|"S"|"trimap", "msg",
"cid": connection id or null, "level": "info"|"warn"|"error", "lo"}``, ``lo``
counting the entries this account wrote since the runner started, in order.

Rules it keeps:

* Nothing here blocks or fails the connection: the hook never awaits and
  never raises; while logging is off for the account (``LogSettings``, read
  through the ``settings`` callable at every line) it returns at once.
* Memory is bounded: the buffer holds at most ``capacity`` entries (plus the
  one batch being written); when it is full the oldest entry is dropped and
  counted, and the next write starts with one ``warn`` entry saying how many
  were dropped there.
* A Redis failure is logged once per outage and the same batch is retried
  with backoff; meanwhile the buffer keeps its bound.  Entries of a deleted
  account are dropped.
* Logging switched off means the stored log goes (the reference's rule):
  the engine calls ``clear``, which waits for a write in progress so no
  batch lands after the delete, and drops everything buffered.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal, NamedTuple, NoReturn

import trio

from imapproto.client import ProtocolLog
from trimap.settings import LogSettings
from trimap.store import ProtocolLogStore, StoreUnavailable
from trimap.supervise import Backoff

__all__ = ["DEFAULT_CAPACITY", "AccountProtocolLog", "Level"]

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 2000
DEFAULT_BATCH = 200
DEFAULT_INTERVAL = 0.5

Level = Literal["info", "warn", "error"]


class _Entry(NamedTuple):
    t: int
    src: str
    msg: str
    cid: str | None
    level: Level


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class AccountProtocolLog:
    """The protocol log of account ``account_id`` (see the module comment)."""

    def __init__(
        self,
        account_id: str,
        store: ProtocolLogStore,
        settings: Callable[[], LogSettings],
        *,
        capacity: int = DEFAULT_CAPACITY,
        batch: int = DEFAULT_BATCH,
        interval: float = DEFAULT_INTERVAL,
        retry_min: float = 0.5,
        retry_max: float = 30.0,
    ) -> None:
        if not 0 < batch <= capacity:
            raise ValueError("batch must be from 1 to capacity")
        self.account_id = account_id
        self._store = store
        self._settings = settings
        self._capacity = capacity
        self._batch = batch
        self._interval = interval
        self._retry = (retry_min, retry_max)
        self._buffer: deque[_Entry] = deque()
        self._sending: list[dict[str, Any]] = []  # the batch being written (or retried)
        self._dropped = 0  # entries dropped since the last batch was taken
        self._lo = 0
        self._pending = trio.Event()  # the buffer is not empty
        self._full = trio.Event()  # the buffer holds a batch
        self._lock = trio.Lock()  # one write or clear at a time

    def enabled(self) -> bool:
        """Whether lines are kept now: the account is logged and logs keep lines."""
        settings = self._settings()
        return settings.max_lines > 0 and settings.logs(self.account_id)

    def hook(self, cid: str) -> ProtocolLog:
        """The ``ProtocolLog`` callable for connection ``cid``."""

        def protocol_log(src: str, line: str) -> None:
            if self.enabled():
                self._add(_Entry(_now_ms(), src, line, cid, "info"))

        return protocol_log

    def note(self, level: Level, msg: str, *, cid: str | None = None) -> None:
        """Log one of trimap's own lines (``src`` ``"trimap"``) for the account."""
        if self.enabled():
            self._add(_Entry(_now_ms(), "trimap", msg, cid, level))

    def _add(self, entry: _Entry) -> None:
        if len(self._buffer) >= self._capacity:
            self._buffer.popleft()
            self._dropped += 1
        self._buffer.append(entry)
        self._pending.set()
        if len(self._buffer) >= self._batch:
            self._full.set()

    async def run(self) -> NoReturn:
        """Write buffered entries until cancelled (see the module comment)."""
        while True:
            await self._pending.wait()
            with trio.move_on_after(self._interval):
                await self._full.wait()
            self._pending, self._full = trio.Event(), trio.Event()
            while self._buffer or self._sending:
                await self._write_batch()

    async def clear(self) -> None:
        """Delete the stored log and drop everything buffered (logging was switched off)."""
        async with self._lock:
            self._drop_all()
            await self._store.clear(self.account_id)

    def _drop_all(self) -> None:
        self._buffer.clear()
        self._sending = []
        self._dropped = 0

    def _take_batch(self) -> list[dict[str, Any]]:
        entries = [self._buffer.popleft() for _ in range(min(self._batch, len(self._buffer)))]
        if self._dropped:
            message = f"{self._dropped} protocol log entries dropped here: the log fell behind"
            entries.insert(0, _Entry(_now_ms(), "trimap", message, None, "warn"))
            self._dropped = 0
        batch = []
        for entry in entries:
            self._lo += 1
            batch.append({**entry._asdict(), "lo": self._lo})
        return batch

    async def _write_batch(self) -> None:
        """Write one batch, retrying it until it is stored, dropped or cleared."""
        backoff = Backoff(*self._retry)
        while True:
            async with self._lock:
                if not self.enabled():
                    self._drop_all()
                    return
                if not self._sending:
                    self._sending = self._take_batch()
                try:
                    stored = await self._store.append(
                        self.account_id, self._sending, self._settings().max_lines
                    )
                except StoreUnavailable as exc:
                    failed = exc
                else:
                    self._sending = []
                    if not stored:  # the account was deleted
                        self._drop_all()
                    if backoff.attempt:
                        log.info("protocol log written again", extra={"account": self.account_id})
                    return
            if not backoff.attempt:
                log.warning(
                    "protocol log not written, retrying",
                    extra={"account": self.account_id, "error": str(failed)},
                )
            await trio.sleep(backoff.next_delay())
