"""Sync checkpoints and folder numbers in Redis: the only code that knows their keys.

Keys (hash tag ``{accounts}``, like the account records they belong to):

* ``trimap:{accounts}:sync:<id>``: one hash per account holding

  - ``f:<path>``: the folder's ``FolderCheckpoint`` (compact JSON);
  - ``@<uidvalidity>:<path>``: that folder's number, and ``#<n>``: folder
    number ``n`` -> ``<uidvalidity>:<path>``, the reverse map message ids are
    decoded with (a number is never reused, and a folder that was reset or
    re-created has a new UIDVALIDITY, so an old id never names another message);
  - ``next``: the last folder number handed out.

  The key is named in the account's key index, so deleting the account
  deletes it.

Every write is one Lua script that first checks that the account record
still exists: a runner finishing a sync while its account is being deleted
cannot leave an orphaned key behind.

Rules it keeps: memory grows with the number of folders, not of messages
(what a checkpoint holds is bounded by ``trimap.sync.checkpoint``); a
checkpoint that cannot be read is dropped and reported (the folder is then
synced from scratch, which re-detects changes with the same event ids).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import cast

from trimap.store.accounts import KEYS_PREFIX, RECORD_PREFIX
from trimap.store.client import RedisStore
from trimap.sync.checkpoint import FolderCheckpoint

__all__ = ["SyncStore"]

log = logging.getLogger(__name__)

SYNC_PREFIX = "trimap:{accounts}:sync:"
CHECKPOINT_FIELD = "f:"

_SAVE = """
-- KEYS: record, sync hash, key index; ARGV: nset, (field, value)..., fields to delete...
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local nset = tonumber(ARGV[1])
for i = 2, 2 * nset, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
for i = 2 * nset + 2, #ARGV do redis.call('HDEL', KEYS[2], ARGV[i]) end
redis.call('SADD', KEYS[3], KEYS[2])
return 1
"""

_FOLDER_IDS = """
-- KEYS: record, sync hash, key index; ARGV: '<uidvalidity>:<path>'...
local numbers = {}
local checked = false
for i, folder in ipairs(ARGV) do
  local known = redis.call('HGET', KEYS[2], '@' .. folder)
  if known then
    numbers[i] = tonumber(known)
  else
    if not checked then
      if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
      checked = true
    end
    local number = redis.call('HINCRBY', KEYS[2], 'next', 1)
    redis.call('HSET', KEYS[2], '#' .. number, folder, '@' .. folder, number)
    numbers[i] = number
  end
end
if checked then redis.call('SADD', KEYS[3], KEYS[2]) end
return numbers
"""


class AccountGone(LookupError):
    """The account was deleted while its sync state was being written."""


class SyncStore:
    """Checkpoints and folder numbers of every account (see the module comment)."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._save_script = store.client.register_script(_SAVE)
        self._folder_ids_script = store.client.register_script(_FOLDER_IDS)

    @staticmethod
    def _keys(account_id: str) -> list[str]:
        return [RECORD_PREFIX + account_id, SYNC_PREFIX + account_id, KEYS_PREFIX + account_id]

    async def load(self, account_id: str) -> dict[str, FolderCheckpoint]:
        """Every folder checkpoint of the account, by path."""
        raw = cast(
            dict[bytes, bytes],
            await self._store.call(self._store.client.hgetall, SYNC_PREFIX + account_id),
        )
        checkpoints: dict[str, FolderCheckpoint] = {}
        for field, value in raw.items():
            name = field.decode("utf-8", "surrogateescape")
            if not name.startswith(CHECKPOINT_FIELD):
                continue
            path = name[len(CHECKPOINT_FIELD) :]
            try:
                checkpoints[path] = FolderCheckpoint.decode(path, value)
            except ValueError as error:
                log.warning("dropped an unreadable checkpoint of account %s: %s", account_id, error)
        return checkpoints

    async def save(
        self,
        account_id: str,
        checkpoints: Sequence[FolderCheckpoint],
        removed: Iterable[str] = (),
    ) -> None:
        """Store ``checkpoints`` and forget the folders named in ``removed``; ``AccountGone``
        if the account no longer exists."""
        args: list[str | bytes] = [str(len(checkpoints))]
        for checkpoint in checkpoints:
            args += [CHECKPOINT_FIELD + checkpoint.path, checkpoint.encode()]
        args += [CHECKPOINT_FIELD + path for path in removed]
        if len(args) == 1:
            return
        keys = self._keys(account_id)
        if not await self._store.call(lambda: self._save_script(keys=keys, args=args)):
            raise AccountGone(account_id)

    async def folder_id(self, account_id: str, path: str, uidvalidity: int) -> int:
        """The number of ``path`` at ``uidvalidity``, given on first use (and kept)."""
        (number,) = await self.folder_ids(account_id, [(path, uidvalidity)])
        return number

    async def folder_ids(self, account_id: str, folders: Sequence[tuple[str, int]]) -> list[int]:
        """``folder_id`` of each ``(path, uidvalidity)``, in one call."""
        keys = self._keys(account_id)
        args = [f"{uidvalidity}:{path}" for path, uidvalidity in folders]
        numbers = await self._store.call(lambda: self._folder_ids_script(keys=keys, args=args))
        if not numbers:
            raise AccountGone(account_id)
        return [int(number) for number in numbers]

    async def folder_of(self, account_id: str, folder_id: int) -> tuple[int, str] | None:
        """The ``(uidvalidity, path)`` folder number ``folder_id`` was given to, if any."""
        raw = cast(
            bytes | None,
            await self._store.call(
                self._store.client.hget, SYNC_PREFIX + account_id, f"#{folder_id}"
            ),
        )
        if raw is None:
            return None
        uidvalidity, _, path = raw.decode("utf-8", "surrogateescape").partition(":")
        return int(uidvalidity), path
