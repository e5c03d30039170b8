"""Per-account protocol logs in Redis: the only code that knows their keys.

Keys (hash tag ``{accounts}``, like the account records they belong to):

* ``trimap:{accounts}:log:<id>``: list, one compact JSON object per entry,
  oldest first, trimmed to the newest ``max_lines`` at every append;
* ``trimap:{accounts}:logn:<id>``: how many entries were ever appended, so a
  reader can tell how far the head has moved (see below).

Both keys are named in the account's key index, so deleting the account
deletes them.  ``append`` is one Lua script that first checks that the
account record still exists (a log flushed while its account is being
deleted cannot leave an orphaned key behind), pushes, trims and counts.

Reading: ``ndjson`` streams the log as NDJSON in ``batch``-line chunks
(``LRANGE``), so a log of a million lines is never one reply or one list in
memory.  Entries are addressed by their absolute number (the count minus the
list's length is the head's number), so appends and trims while a download
runs neither repeat nor skip a line: the download gives, in order, every entry
that was in the log when it began and was not trimmed away before it was
read.  ``clear`` drops the list but keeps the count, so numbers stay unique.

Rules it keeps: the content is what the caller hands over, already redacted
(imapproto masks secrets and elides literals); this module only encodes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from trimap.store.accounts import KEYS_PREFIX, RECORD_PREFIX
from trimap.store.client import RedisStore

__all__ = ["ProtocolLogStore"]

LOG_PREFIX = "trimap:{accounts}:log:"
COUNT_PREFIX = "trimap:{accounts}:logn:"
READ_BATCH = 1000
_PUSH_CHUNK = 1000  # values per RPUSH inside the script (Lua's unpack has a stack limit)

_APPEND = f"""
-- KEYS: record, log, count, key index; ARGV: max lines, entries...
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 2, #ARGV, {_PUSH_CHUNK} do
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + {_PUSH_CHUNK - 1}, #ARGV)))
end
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[1]), -1)
redis.call('INCRBY', KEYS[3], #ARGV - 1)
redis.call('SADD', KEYS[4], KEYS[2], KEYS[3])
return 1
"""

_READ = """
-- KEYS: log, count; ARGV: first entry number, at most how many, end ('' = the current count)
-- returns {first number read, end, entries}
local count = tonumber(redis.call('GET', KEYS[2]) or '0')
local head = count - redis.call('LLEN', KEYS[1])
local first = math.max(tonumber(ARGV[1]), head)
local stop = count
if ARGV[3] ~= '' then stop = math.min(stop, tonumber(ARGV[3])) end
local last = math.min(first + tonumber(ARGV[2]), stop) - 1
if last < first then return {first, stop, {}} end
return {first, stop, redis.call('LRANGE', KEYS[1], first - head, last - head)}
"""


def _encode(entry: Mapping[str, Any]) -> str:
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


class ProtocolLogStore:
    """The protocol logs of every account (see the module comment)."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._append_script = store.client.register_script(_APPEND)
        self._read_script = store.client.register_script(_READ)

    async def append(
        self, account_id: str, entries: Sequence[Mapping[str, Any]], max_lines: int
    ) -> bool:
        """Add ``entries`` and keep the newest ``max_lines`` (0: nothing is written).

        ``False`` when the account does not exist (nothing is written then)."""
        if max_lines <= 0 or not entries:
            return True
        args: list[int | str] = [max_lines, *(_encode(entry) for entry in entries[-max_lines:])]
        keys = [
            RECORD_PREFIX + account_id,
            LOG_PREFIX + account_id,
            COUNT_PREFIX + account_id,
            KEYS_PREFIX + account_id,
        ]
        return bool(await self._store.call(lambda: self._append_script(keys=keys, args=args)))

    async def ndjson(self, account_id: str, *, batch: int = READ_BATCH) -> AsyncIterator[bytes]:
        """The log as NDJSON (one entry per line), in chunks of up to ``batch`` entries."""
        keys = [LOG_PREFIX + account_id, COUNT_PREFIX + account_id]
        position = 0
        end: int | str = ""  # fixed by the first read: the entry count when the download began
        while True:
            first, end, entries = await self._store.call(
                self._read_script, keys, [position, batch, end]
            )
            if not entries:
                return
            yield b"".join(entry + b"\n" for entry in entries)
            position = first + len(entries)

    async def clear(self, account_id: str) -> None:
        """Delete the account's log (its entry count stays, see the module comment)."""
        await self._store.call(self._store.client.delete, LOG_PREFIX + account_id)
