"""The account registry: create, update, read, list and delete accounts; announce changes.

How it works: ``AccountRegistry`` sits on an ``AccountBackend``,
``trimap.store.accounts.AccountStore`` (Redis; secrets are sealed there).
``create_or_update`` has the reference's ``POST /v1/account`` meaning (an
existing id is updated), ``update`` its ``PUT`` meaning (an unknown id is
``AccountNotFound``); both change only the fields the ``AccountInput``
names, so ``copy: false`` or a ``notifyFrom`` survives any later update
that does not name them.  The account's runner records its connection
state with ``set_state``.

Every create, update and delete is announced on ``changes`` after it is
stored, for the supervisor that starts, restarts and stops runners.  That
queue holds at most one entry per account id (a newer change replaces the
pending one: its kind is the latest), so it never blocks or fails a
request and its memory is bounded by the number of accounts, whatever the
consumer's pace.  The consumer reconciles: it reads the account again
(``get``) and acts on what it finds, so coalescing loses nothing.  The
queue is in-process: changes made by another trimap sharing the Redis are
not announced here.

Listeners (``add_listener``) are the other way to hear of changes: each is
awaited, in the caller's task, after a create, update or delete is stored
and before the call returns, as ``Settings`` listeners are.  The webhook
supervisor uses this so that an account's own webhook URL has its cursor
before ``POST /v1/account`` is answered.  A listener's error fails the call
(the change itself is stored by then).  ``webhook_url``/``webhook_urls``
read accounts' own webhook URLs through an index, without reading every
account.

Rules it keeps: the secrets key is checked against the stored key token
before the first read or write of secrets (``check_key``; the service
calls it at start), so a wrong key is refused at once instead of sealing
new secrets with a second key; nothing here logs or formats a secret.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, Protocol

import trio

from trimap.accounts.model import (
    Account,
    AccountError,
    AccountInput,
    AccountState,
    AccountSummary,
)

__all__ = [
    "AccountBackend",
    "AccountChange",
    "AccountChanges",
    "AccountListener",
    "AccountPage",
    "AccountRegistry",
]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000

ChangeKind = Literal["created", "updated", "deleted"]


class AccountBackend(Protocol):
    """What the registry needs from storage (``trimap.store.accounts.AccountStore``)."""

    async def check_key(self) -> None: ...

    async def write(self, change: AccountInput, *, create: bool, notify_from: datetime) -> bool: ...

    async def read(self, account_id: str) -> Account: ...

    async def page(
        self, state: AccountState | None, offset: int, count: int
    ) -> tuple[list[AccountSummary], int]: ...

    async def set_state(
        self, account_id: str, state: AccountState, last_error: AccountError | None
    ) -> None: ...

    async def delete(self, account_id: str) -> bool: ...

    async def webhook_url(self, account_id: str) -> str | None: ...

    async def webhook_urls(self) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class AccountChange:
    """Account ``id`` was created, updated or deleted (the latest change, if several)."""

    id: str
    kind: ChangeKind


AccountListener = Callable[[AccountChange], Awaitable[None]]


class AccountChanges:
    """Pending account changes, at most one per id, in the order ids first changed.

    One consumer iterates it (``async for change in registry.changes``);
    ``announce`` never blocks.
    """

    def __init__(self) -> None:
        self._pending: dict[str, AccountChange] = {}
        self._arrived = trio.Event()

    def __len__(self) -> int:
        return len(self._pending)

    def announce(self, change: AccountChange) -> None:
        """Queue ``change``, replacing a pending change of the same account."""
        self._pending[change.id] = change
        self._arrived.set()

    async def receive(self) -> AccountChange:
        """The oldest pending change, waiting for one if there is none."""
        while not self._pending:
            if self._arrived.is_set():
                self._arrived = trio.Event()
            await self._arrived.wait()
        return self._pending.pop(next(iter(self._pending)))

    def __aiter__(self) -> AsyncIterator[AccountChange]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[AccountChange]:
        while True:
            yield await self.receive()


@dataclass(frozen=True, slots=True)
class AccountPage:
    """One page of the account list; ``pages`` is at least 1."""

    accounts: tuple[AccountSummary, ...]
    page: int
    pages: int
    total: int


class AccountRegistry:
    """Every registered account (see the module comment)."""

    def __init__(self, store: AccountBackend) -> None:
        self._store = store
        self._key_checked = False
        self._listeners: list[AccountListener] = []
        self.changes = AccountChanges()

    def add_listener(self, listener: AccountListener) -> None:
        """Await ``listener(change)`` after every stored create, update and delete."""
        self._listeners.append(listener)

    async def _announce(self, change: AccountChange) -> None:
        self.changes.announce(change)
        for listener in self._listeners:
            await listener(change)

    async def check_key(self) -> None:
        """Refuse (``SecretKeyError``) a secrets key other than the one Redis holds secrets for."""
        if not self._key_checked:
            await self._store.check_key()
            self._key_checked = True

    async def create_or_update(self, change: AccountInput) -> bool:
        """Store ``change``, creating the account if its id is new; ``True`` if created.

        A new account needs a name (``InvalidAccount``); it starts in state
        ``init`` with ``copy`` true and ``notifyFrom`` now unless named.
        """
        await self.check_key()
        created = await self._store.write(change, create=True, notify_from=datetime.now(UTC))
        await self._announce(AccountChange(change.id, "created" if created else "updated"))
        return created

    async def update(self, change: AccountInput) -> None:
        """Change the named fields of an existing account; ``AccountNotFound`` if unknown."""
        await self.check_key()
        await self._store.write(change, create=False, notify_from=datetime.now(UTC))
        await self._announce(AccountChange(change.id, "updated"))

    async def get(self, account_id: str) -> Account:
        """The account, secrets decrypted; ``AccountNotFound`` if unknown."""
        await self.check_key()
        return await self._store.read(account_id)

    async def list(
        self,
        state: AccountState | None = None,
        page: int = 0,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AccountPage:
        """Page ``page`` (from 0) of the accounts, by id case-insensitively; no secrets read."""
        if page < 0 or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page must be >= 0 and page_size from 1 to {MAX_PAGE_SIZE}")
        accounts, total = await self._store.page(state, page * page_size, page_size)
        pages = max(1, -(-total // page_size))
        return AccountPage(tuple(accounts), page, pages, total)

    async def delete(self, account_id: str) -> bool:
        """Remove the account and all its data; ``False`` if it did not exist."""
        deleted = await self._store.delete(account_id)
        if deleted:
            await self._announce(AccountChange(account_id, "deleted"))
        return deleted

    async def set_state(
        self, account_id: str, state: AccountState, last_error: AccountError | None = None
    ) -> None:
        """Record the connection state; ``AccountNotFound`` if the account is gone."""
        await self._store.set_state(account_id, state, last_error)

    async def webhook_url(self, account_id: str) -> str | None:
        """The account's own webhook URL; ``None`` when it has none or does not exist."""
        await self.check_key()
        return await self._store.webhook_url(account_id)

    async def webhook_urls(self) -> dict[str, str]:
        """Every account with its own webhook URL, and the URL."""
        await self.check_key()
        return await self._store.webhook_urls()
