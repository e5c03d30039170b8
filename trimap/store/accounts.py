"""The account registry in Redis: the only code that knows its keys, codecs and scripts.

Keys (one hash tag, ``{accounts}``, so every script's keys share a slot):

* ``trimap:{accounts}:a:<id>``: hash, one account: ``account`` (the id),
  ``name``, ``imap`` and ``smtp`` (JSON in the API's shape, with ``auth.pass``
  and ``auth.accessToken`` replaced by sealed tokens), ``copy`` (``true`` or
  ``false``), ``notifyFrom`` (ISO 8601), ``state``, ``lastError`` (JSON, only
  while there is one), ``webhooks`` (the account's own webhook URL as a sealed
  token, only while it has one);
* ``trimap:{accounts}:ids``: sorted set of every account, all scores 0, member
  ``lower(id) NUL id`` (ASCII lower-casing, done in Lua), so ``ZRANGE`` by rank
  pages through ids in case-insensitive order, as the reference lists them;
* ``trimap:{accounts}:state:<state>``: the same members, per state, so a
  state filter pages as cheaply as the full list;
* ``trimap:{accounts}:webhooks``: set of the ids of accounts that have their
  own webhook URL, so the webhook supervisor lists them without reading every
  account;
* ``trimap:{accounts}:k:<id>``: set naming every other key that holds the
  account's data (sync state, logs ...), so deletion finds them without
  ``KEYS`` or ``SCAN``; store modules add their keys with ``track_keys``;
* ``trimap:{accounts}:keycheck``: a token sealed with the secrets key, to
  refuse a key other than the one the stored secrets were sealed with.

Every change is one Lua script (create-or-update, state change, delete), so
the record and its index entries never disagree (the write script puts the id
in the webhook index exactly when the record holds ``webhooks`` after the
write).  A write sets only the fields a request names (``HSET``) and, for a
new account, the defaults with ``HSETNX``: an update never resets ``copy`` or
``notifyFrom``.

Rules it keeps: secrets (passwords, tokens, the webhook URL) reach Redis only
sealed by the ``SecretBox``, bound to the account id and field, so a token
copied elsewhere does not decrypt; listing reads no secret at all.  The list
and delete scripts reach keys they build from a prefix or read from the key
index, which Redis Cluster forbids: fine on one Redis, to revisit (with hash
tags per account) for a cluster.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from trimap.accounts.model import (
    ACCOUNT_STATES,
    Account,
    AccountError,
    AccountInput,
    AccountNotFound,
    AccountState,
    AccountSummary,
    InvalidAccount,
    ServerSettings,
    parse_imap,
    parse_smtp,
)
from trimap.secrets import SecretBox, SecretDecryptError, SecretKeyError, token_key_id
from trimap.store.client import RedisStore

__all__ = ["AccountStore"]

PREFIX = "trimap:{accounts}:"
IDS_KEY = PREFIX + "ids"
RECORD_PREFIX = PREFIX + "a:"
KEYS_PREFIX = PREFIX + "k:"
KEYCHECK_KEY = PREFIX + "keycheck"
WEBHOOKS_KEY = PREFIX + "webhooks"
KEYCHECK_TEXT = "trimap secrets key check"
_STATE_KEYS = [PREFIX + "state:" + state for state in ACCOUNT_STATES]
_SECRET_FIELDS = ("pass", "accessToken")

# The index member of account `id` (state sets are passed in ACCOUNT_STATES order).
_MEMBER = "local member = string.lower(id) .. '\\0' .. id\n"

_WRITE = (
    """
-- KEYS: record, ids, the init state set, webhook index
-- ARGV: mode, id, nset, pairs..., ndel, fields..., defaults...
local record, ids = KEYS[1], KEYS[2]
local mode, id = ARGV[1], ARGV[2]
"""
    + _MEMBER
    + """
local existed = redis.call('EXISTS', record) == 1
if not existed and mode == 'update' then return -1 end
local nset = tonumber(ARGV[3])
local named = {}
for i = 4, 3 + 2 * nset, 2 do named[ARGV[i]] = true end
if not existed and not named['name'] then return -2 end
local ndel_at = 4 + 2 * nset
local ndel = tonumber(ARGV[ndel_at])
if nset > 0 then redis.call('HSET', record, unpack(ARGV, 4, 3 + 2 * nset)) end
if ndel > 0 then redis.call('HDEL', record, unpack(ARGV, ndel_at + 1, ndel_at + ndel)) end
if redis.call('HEXISTS', record, 'webhooks') == 1 then
  redis.call('SADD', KEYS[4], id)
else
  redis.call('SREM', KEYS[4], id)
end
if not existed then
  for i = ndel_at + ndel + 1, #ARGV, 2 do redis.call('HSETNX', record, ARGV[i], ARGV[i + 1]) end
  redis.call('HSET', record, 'account', id, 'state', 'init')
  redis.call('ZADD', ids, 0, member)
  redis.call('ZADD', KEYS[3], 0, member)
  return 1
end
return 0
"""
)

_SET_STATE = (
    """
-- KEYS: record, state sets...; ARGV: id, target's position in KEYS, lastError JSON or '', state
local record, id = KEYS[1], ARGV[1]
"""
    + _MEMBER
    + """
if redis.call('EXISTS', record) == 0 then return 0 end
local target = tonumber(ARGV[2])
redis.call('HSET', record, 'state', ARGV[4])
if ARGV[3] == '' then
  redis.call('HDEL', record, 'lastError')
else
  redis.call('HSET', record, 'lastError', ARGV[3])
end
for i = 2, #KEYS do
  if i == target then
    redis.call('ZADD', KEYS[i], 0, member)
  else
    redis.call('ZREM', KEYS[i], member)
  end
end
return 1
"""
)

_DELETE = (
    """
-- KEYS: record, ids, key index, webhook index, state sets...; ARGV: id
local record, ids, index, id = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
"""
    + _MEMBER
    + """
local existed = redis.call('EXISTS', record)
local tracked = redis.call('SMEMBERS', index)
for i = 1, #tracked, 500 do
  redis.call('DEL', unpack(tracked, i, math.min(i + 499, #tracked)))
end
redis.call('DEL', record, index)
redis.call('ZREM', ids, member)
redis.call('SREM', KEYS[4], id)
for i = 5, #KEYS do redis.call('ZREM', KEYS[i], member) end
return existed
"""
)

_LIST = """
-- KEYS: the index to page (all ids or one state's); ARGV: start, stop, record prefix
local total = redis.call('ZCARD', KEYS[1])
local rows = {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2])) do
  local id = string.sub(member, string.find(member, '\\0', 1, true) + 1)
  local fields = redis.call('HMGET', ARGV[3] .. id, 'name', 'state', 'lastError')
  if fields[1] then rows[#rows + 1] = {id, fields[1], fields[2], fields[3] or ''} end
end
return {total, rows}
"""

_WEBHOOKS = """
-- KEYS: the webhook index; ARGV: record prefix.  Every account with its own URL: {id, sealed URL}
local rows = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local sealed = redis.call('HGET', ARGV[1] .. id, 'webhooks')
  if sealed then rows[#rows + 1] = {id, sealed} end
end
return rows
"""


def _record_key(account_id: str) -> str:
    return RECORD_PREFIX + account_id


def _bound_to(account_id: str, field: str) -> str:
    """What a secret is bound to: its account and field, unambiguously."""
    return json.dumps([account_id, field], ensure_ascii=False)


def _auth_field(protocol: str, name: str) -> str:
    return f"{protocol}.auth.{name}"


def _state_index(state: AccountState) -> int:
    return ACCOUNT_STATES.index(state)


class AccountStore:
    """Accounts in Redis (see the module comment); secrets sealed with ``box``."""

    def __init__(self, store: RedisStore, box: SecretBox) -> None:
        self._store = store
        self._box = box
        client = store.client
        self._write_script = client.register_script(_WRITE)
        self._state_script = client.register_script(_SET_STATE)
        self._delete_script = client.register_script(_DELETE)
        self._list_script = client.register_script(_LIST)
        self._webhooks_script = client.register_script(_WEBHOOKS)

    async def check_key(self) -> None:
        """Refuse (``SecretKeyError``) a key other than the one stored secrets were sealed with.

        The first call on an empty database records a token sealed with the
        current key; every later call, from any process, must open it.
        """
        token = self._box.encrypt(KEYCHECK_TEXT, bound_to="keycheck")
        client = self._store.client

        def claim() -> bytes:
            with client.pipeline(transaction=True) as pipe:
                pipe.set(KEYCHECK_KEY, token, nx=True)
                pipe.get(KEYCHECK_KEY)
                return cast(bytes, pipe.execute()[1])

        stored = (await self._store.call(claim)).decode()
        try:
            self._box.decrypt(stored, bound_to="keycheck")
        except SecretDecryptError:
            raise SecretKeyError(
                f"this secrets key (key id {self._box.key_id}) is not the one the stored "
                f"secrets were sealed with (key id {token_key_id(stored) or 'unknown'}); "
                "restore that key from its backup"
            ) from None

    def _seal(self, account_id: str, protocol: str, settings: ServerSettings) -> str:
        sealed = {
            name: self._box.encrypt(
                value, bound_to=_bound_to(account_id, _auth_field(protocol, name))
            )
            for name, value in settings.secrets().items()
        }
        return json.dumps(settings.to_json(sealed), ensure_ascii=False, separators=(",", ":"))

    def _open(self, account_id: str, protocol: str, stored: bytes) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(stored)
        auth = body.get("auth")
        if isinstance(auth, dict):
            for name in _SECRET_FIELDS:
                if name in auth:
                    bound_to = _bound_to(account_id, _auth_field(protocol, name))
                    auth[name] = self._box.decrypt(auth[name], bound_to=bound_to)
        return body

    def _open_webhooks(self, account_id: str, sealed: bytes) -> str:
        return self._box.decrypt(sealed.decode(), bound_to=_bound_to(account_id, "webhooks"))

    async def write(self, change: AccountInput, *, create: bool, notify_from: datetime) -> bool:
        """Apply ``change``; ``True`` if it created the account.

        ``create=False`` raises ``AccountNotFound`` for an unknown id.  A new
        account gets ``copy`` true and ``notify_from`` unless ``change`` names
        them, and state ``init``; a new account without a name is
        ``InvalidAccount``.
        """
        fields: dict[str, str] = {}
        if change.name is not None:
            fields["name"] = change.name
        if change.imap is not None:
            fields["imap"] = self._seal(change.id, "imap", change.imap)
        if change.smtp:
            fields["smtp"] = self._seal(change.id, "smtp", change.smtp)
        if change.copy is not None:
            fields["copy"] = "true" if change.copy else "false"
        if change.notify_from is not None:
            fields["notifyFrom"] = change.notify_from.isoformat()
        if change.webhooks:
            bound_to = _bound_to(change.id, "webhooks")
            fields["webhooks"] = self._box.encrypt(change.webhooks, bound_to=bound_to)
        removed = ["smtp"] if change.smtp is False else []
        if change.webhooks is False:
            removed.append("webhooks")
        defaults = {"copy": "true", "notifyFrom": notify_from.isoformat()}
        args: list[Any] = ["upsert" if create else "update", change.id, len(fields)]
        args += [item for pair in fields.items() for item in pair]
        args += [len(removed), *removed, *(item for pair in defaults.items() for item in pair)]
        keys = [_record_key(change.id), IDS_KEY, _STATE_KEYS[_state_index("init")], WEBHOOKS_KEY]
        result = await self._store.call(lambda: self._write_script(keys=keys, args=args))
        if result == -1:
            raise AccountNotFound(change.id)
        if result == -2:
            raise InvalidAccount({"name": '"name" is required for a new account'})
        return bool(result)

    async def read(self, account_id: str) -> Account:
        """The account with its secrets decrypted; ``AccountNotFound`` for an unknown id."""
        found = await self._store.call(self._store.client.hgetall, _record_key(account_id))
        raw = cast(dict[bytes, bytes], found)
        if not raw:
            raise AccountNotFound(account_id)
        fields = {name.decode(): value for name, value in raw.items()}
        imap = fields.get("imap")
        smtp = fields.get("smtp")
        last_error = fields.get("lastError")
        webhooks = fields.get("webhooks")
        return Account(
            id=account_id,
            name=fields["name"].decode(),
            imap=parse_imap(self._open(account_id, "imap", imap)) if imap else None,
            smtp=parse_smtp(self._open(account_id, "smtp", smtp)) if smtp else None,
            copy=_decode_bool(fields["copy"]),
            notify_from=datetime.fromisoformat(fields["notifyFrom"].decode()),
            state=_decode_state(fields["state"]),
            last_error=_decode_error(last_error) if last_error else None,
            webhooks=self._open_webhooks(account_id, webhooks) if webhooks else None,
        )

    async def webhook_url(self, account_id: str) -> str | None:
        """The account's own webhook URL; ``None`` when it has none or does not exist."""
        client = self._store.client
        sealed: Any = await self._store.call(
            lambda: client.hget(_record_key(account_id), "webhooks")
        )
        return None if sealed is None else self._open_webhooks(account_id, sealed)

    async def webhook_urls(self) -> dict[str, str]:
        """Every account that has its own webhook URL, and that URL (one atomic read)."""
        rows = await self._store.call(
            lambda: self._webhooks_script(keys=[WEBHOOKS_KEY], args=[RECORD_PREFIX])
        )
        return {
            account_id.decode(): self._open_webhooks(account_id.decode(), sealed)
            for account_id, sealed in rows
        }

    async def page(
        self, state: AccountState | None, offset: int, count: int
    ) -> tuple[list[AccountSummary], int]:
        """Up to ``count`` accounts from ``offset`` in id order, and how many there are."""
        index = IDS_KEY if state is None else _STATE_KEYS[_state_index(state)]
        args: list[Any] = [offset, offset + count - 1, RECORD_PREFIX]
        total, rows = await self._store.call(lambda: self._list_script(keys=[index], args=args))
        summaries = [
            AccountSummary(
                id=account_id.decode(),
                name=name.decode(),
                state=_decode_state(state_name),
                last_error=_decode_error(error) if error else None,
            )
            for account_id, name, state_name, error in rows
        ]
        return summaries, int(total)

    async def set_state(
        self, account_id: str, state: AccountState, last_error: AccountError | None
    ) -> None:
        """Record ``state`` (and ``last_error``, or none); ``AccountNotFound`` if unknown."""
        error = "" if last_error is None else json.dumps(last_error.to_json(), ensure_ascii=False)
        args: list[Any] = [account_id, _state_index(state) + 2, error, state]
        keys = [_record_key(account_id), *_STATE_KEYS]
        if not await self._store.call(lambda: self._state_script(keys=keys, args=args)):
            raise AccountNotFound(account_id)

    async def delete(self, account_id: str) -> bool:
        """Remove the account and every key it tracks; ``False`` if it did not exist."""
        keys = [
            _record_key(account_id),
            IDS_KEY,
            KEYS_PREFIX + account_id,
            WEBHOOKS_KEY,
            *_STATE_KEYS,
        ]
        return bool(
            await self._store.call(lambda: self._delete_script(keys=keys, args=[account_id]))
        )

    async def track_keys(self, account_id: str, keys: Iterable[str]) -> None:
        """Name ``keys`` as holding the account's data, so ``delete`` removes them too."""
        names = list(keys)
        if names:
            await self._store.call(self._store.client.sadd, KEYS_PREFIX + account_id, *names)


def _decode_bool(raw: bytes) -> bool:
    if raw not in (b"true", b"false"):
        raise ValueError("stored copy flag is not true or false")
    return raw == b"true"


def _decode_state(raw: bytes) -> AccountState:
    state = raw.decode()
    if state not in ACCOUNT_STATES:
        raise ValueError(f"stored account state {state[:40]!r} is unknown")
    return state


def _decode_error(raw: bytes) -> AccountError:
    body = json.loads(raw)
    return AccountError(str(body["response"]), body.get("serverResponseCode"))
