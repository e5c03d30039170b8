"""The event log in Redis Streams: the only code that knows its keys, codec and scripts.

How it works: one stream, ``trimap:{events}``, holds every event; its entry ids
("<ms>-<seq>", assigned by Redis, always increasing) are the log positions and
the cursors.  One stream means one order: each account's events keep the order
they were appended in, whatever other accounts do.  An entry's fields are
``prev`` (the id of the entry appended just before it, "" for the first),
``id``, ``account``, ``event``, ``date``, ``path`` and ``specialUse`` when
known, and ``data`` (compact JSON).

Appending is one Lua script per batch of up to ``APPEND_CHUNK`` events (a
longer batch is sent as several, in order), so a chunk is atomic, costs one
round trip, and never blocks Redis for long.  For each event it checks
``trimap:{events}:seen:<event id>``: if the key exists the event is a repeat
and its stored position (the key's value) is returned; otherwise the event is
added (XADD) and the key set with a TTL of the de-duplication window.  After
each chunk the stream is trimmed twice, both approximately (``~``: whole
stream nodes only, which keeps trimming O(1) amortised): ``MINID`` at Redis'
clock minus the retention, and ``MAXLEN`` at the size bound.  So the log may
hold up to one stream node (``stream-node-max-entries``, 100 by default) more
than the bound, and events may outlive the retention until their node is full
and the next append comes (a quiet log is not trimmed: trimming runs only when
appending).

The de-duplication trade-off: a seen-key costs ~150 bytes for the length of
the window, so memory is bounded by (event rate x window), not by retention.
The window is therefore short (an hour by default, against days of retention):
it catches the repeats that actually happen (a resync right after a restart or
reconnect, a client retrying an append whose answer it lost).  A repeat
detected after the window is stored again with the same event id, and
consumers de-duplicate by id.  A window of 0 turns it off.

Reading is a Lua script too: XRANGE from the cursor (exclusive) in batches,
keeping entries whose account and kind match, until the page is full or the
scan budget (``SCAN_BUDGET`` entries examined, at least the page size) is
spent, so no request does unbounded work inside Redis.  It also detects an
expired cursor: the first retained entry's ``prev`` is the newest trimmed
entry; if that is after the cursor, the reader missed events.

Rules it keeps: every call goes through ``RedisStore.call`` (worker threads,
``StoreUnavailable`` on errors); the scripts are loaded again by redis-py when
a restarted Redis no longer has them; a cursor is validated before it reaches
Redis.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from trimap.events.log import Appended, CursorExpired, EventPage, InvalidCursor
from trimap.events.model import Event, format_date
from trimap.store.client import RedisStore

__all__ = [
    "APPEND_CHUNK",
    "SCAN_BUDGET",
    "EventLogStore",
    "check_position",
    "position_at",
    "position_before",
    "position_time",
]

# One hash tag, so the script's keys share a slot should trimap ever run on Redis Cluster.
STREAM_KEY = "trimap:{events}"
SEEN_PREFIX = "trimap:{events}:seen:"
SCAN_BUDGET = 2000
APPEND_CHUNK = 500
START = "0-0"
_CURSOR_RE = re.compile(r"[0-9]{1,15}-[0-9]{1,19}")  # "<ms>-<seq>"; ms up to the year 33658

_APPEND = """
local stream = KEYS[1]
local retention_ms = tonumber(ARGV[1])
local max_length = ARGV[2]
local window_ms = tonumber(ARGV[3])
local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
local prev = ''
if #last > 0 then prev = last[1][1] end
local results = {}
local arg = 4
for i = 2, #KEYS do
  local count = tonumber(ARGV[arg])
  local seen = false
  if window_ms > 0 then seen = redis.call('GET', KEYS[i]) end
  if seen then
    results[#results + 1] = {seen, 0}
  else
    local id = redis.call('XADD', stream, '*', 'prev', prev, unpack(ARGV, arg + 1, arg + count))
    if window_ms > 0 then redis.call('SET', KEYS[i], id, 'PX', window_ms) end
    prev = id
    results[#results + 1] = {id, 1}
  end
  arg = arg + count + 1
end
local now = redis.call('TIME')
local cutoff = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - retention_ms
if cutoff > 0 then
  redis.call('XTRIM', stream, 'MINID', '~', string.format('%.0f', cutoff))
end
redis.call('XTRIM', stream, 'MAXLEN', '~', max_length)
return results
"""

_READ = """
local stream = KEYS[1]
local after = ARGV[1]
local check_expiry = ARGV[2] == '1'
local limit = tonumber(ARGV[3])
local budget = tonumber(ARGV[4])
local account = ARGV[5]
local kinds = nil
if #ARGV > 5 then
  kinds = {}
  for i = 6, #ARGV do kinds[ARGV[i]] = true end
end

local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end

local function newer(a, b)
  local am, aseq = string.match(a, '^(%d+)%-(%d+)$')
  local bm, bseq = string.match(b, '^(%d+)%-(%d+)$')
  am, aseq, bm, bseq = tonumber(am), tonumber(aseq), tonumber(bm), tonumber(bseq)
  return am > bm or (am == bm and aseq > bseq)
end

if check_expiry then
  local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
  if #first > 0 then
    local trimmed = field(first[1][2], 'prev')
    if trimmed and trimmed ~= '' and newer(trimmed, after) then return {1} end
  end
end

local filtered = account ~= '' or kinds ~= nil
local page = {}
local cursor = after
local scanned = 0
while #page < limit and scanned < budget do
  local want = limit - #page
  if filtered then want = math.min(budget - scanned, math.max(want, 100)) end
  local batch = redis.call('XRANGE', stream, '(' .. cursor, '+', 'COUNT', want)
  for _, entry in ipairs(batch) do
    scanned = scanned + 1
    cursor = entry[1]
    local fields = entry[2]
    if (account == '' or field(fields, 'account') == account)
        and (kinds == nil or kinds[field(fields, 'event')]) then
      page[#page + 1] = entry
      if #page == limit then break end
    end
  end
  if #batch < want then break end
end
local more = #redis.call('XRANGE', stream, '(' .. cursor, '+', 'COUNT', 1)
return {0, cursor, more, page}
"""


_MAX_SEQ = 10**19 - 1  # the largest sequence number a cursor may carry


def check_position(cursor: str) -> str:
    """``cursor`` itself when it has the shape of a log position, else ``InvalidCursor``."""
    if not _CURSOR_RE.fullmatch(cursor):
        raise InvalidCursor(f"not a cursor of this event log: {cursor[:40]!r}")
    return cursor


def position_before(position: str) -> str:
    """The cursor just before ``position``: reading after it starts with that entry."""
    ms, seq = (int(part) for part in check_position(position).split("-"))
    if seq > 0:
        return f"{ms}-{seq - 1}"
    return START if ms == 0 else f"{ms - 1}-{_MAX_SEQ}"


def position_at(moment: datetime) -> str:
    """The cursor just before the first entry appended at or after ``moment``."""
    ms = max(0, int(moment.timestamp() * 1000))
    return position_before(f"{ms}-0")


def position_time(position: str) -> float:
    """When the entry at ``position`` was appended (Redis' clock), in seconds since the epoch."""
    return int(check_position(position).split("-")[0]) / 1000


def _encode(event: Event) -> list[str]:
    """The stream fields of ``event`` after ``prev``, which the script adds, as a flat list."""
    fields = ["id", event.id, "account", event.account, "event", event.kind]
    fields += ["date", format_date(event.date)]
    if event.path is not None:
        fields += ["path", event.path]
    if event.special_use is not None:
        fields += ["specialUse", event.special_use]
    fields += ["data", json.dumps(event.data, ensure_ascii=False, separators=(",", ":"))]
    return fields


def _decode(position: bytes, flat: list[bytes]) -> Event:
    fields = {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}
    return Event(
        id=fields["id"],
        account=fields["account"],
        kind=fields["event"],
        date=datetime.fromisoformat(fields["date"]),
        data=json.loads(fields["data"]),
        path=fields.get("path"),
        special_use=fields.get("specialUse"),
        position=position.decode(),
    )


class EventLogStore:
    """The event log's storage in Redis Streams (see the module comment).

    ``retention`` and ``dedupe_window`` are in seconds, ``max_length`` in events.
    """

    def __init__(
        self, store: RedisStore, *, retention: float, max_length: int, dedupe_window: float
    ) -> None:
        self._store = store
        self._retention_ms = round(retention * 1000)
        self._max_length = max_length
        self._window_ms = round(dedupe_window * 1000)
        self._append_script = store.client.register_script(_APPEND)
        self._read_script = store.client.register_script(_READ)

    async def append(self, events: Sequence[Event]) -> list[Appended]:
        """Store ``events`` in order, in atomic chunks; a repeat gets its earlier position."""
        results: list[Appended] = []
        for start in range(0, len(events), APPEND_CHUNK):
            results += await self._append_chunk(events[start : start + APPEND_CHUNK])
        return results

    async def _append_chunk(self, events: Sequence[Event]) -> list[Appended]:
        keys = [STREAM_KEY, *(SEEN_PREFIX + event.id for event in events)]
        args: list[Any] = [self._retention_ms, self._max_length, self._window_ms]
        for event in events:
            fields = _encode(event)
            args += [len(fields), *fields]
        results = await self._store.call(lambda: self._append_script(keys=keys, args=args))
        return [Appended(position.decode(), bool(stored)) for position, stored in results]

    async def read(
        self, after: str | None, limit: int, account: str | None, kinds: Collection[str] | None
    ) -> EventPage:
        """Up to ``limit`` matching events after ``after``; see ``EventLog.read``."""
        cursor = START if after is None else check_position(after)
        budget = limit if account is None and not kinds else max(limit, SCAN_BUDGET)
        args = [cursor, "0" if after is None else "1", limit, budget, account or "", *(kinds or ())]
        answer = await self._store.call(lambda: self._read_script(keys=[STREAM_KEY], args=args))
        if answer[0] == 1:
            raise CursorExpired(f"events after {after} are no longer in the log")
        _, next_cursor, more, entries = answer
        return EventPage(
            events=tuple(_decode(position, flat) for position, flat in entries),
            cursor=next_cursor.decode(),
            has_more=bool(more),
        )

    async def latest(self) -> str | None:
        """The newest entry's position, ``None`` for an empty log."""
        client = self._store.client

        def newest() -> str | None:
            found: Any = client.xrevrange(STREAM_KEY, "+", "-", 1)
            return found[0][0].decode() if found else None

        return await self._store.call(newest)

    async def has_after(self, after: str | None) -> bool:
        """Whether the log holds an entry after the cursor ``after`` (``None``: any entry)."""
        start = "-" if after is None else "(" + check_position(after)
        found = await self._store.call(self._store.client.xrange, STREAM_KEY, start, "+", 1)
        return bool(found)
