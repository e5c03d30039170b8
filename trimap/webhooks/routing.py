"""``AccountRouting``: which accounts have their own webhook URL, and what global leaves out.

How it works: an account with its own URL has its events delivered by its
own destination, ``account:<id>`` (reading the log with the ``account``
filter); the global destination skips them (``global_skips``) and moves its
cursor over them as over kinds its filter leaves out.  ``urls`` maps each
such account to its URL.  The switch in either direction happens at a
position, so that an event goes to one of the two URLs, never to neither
(only the event in flight at the switch may reach both, as a retry would):

* ``take``: the account's destination starts at the global destination's
  position at that moment, and from then on global skips the account's
  events: whatever of the account global had not delivered yet goes to the
  account's URL.
* ``hand_back`` (the URL cleared, or the account deleted): the stopped
  destination's last position ``p`` is recorded, and global skips the
  account's events up to ``p`` (they belonged to the account's URL) and
  delivers the later ones.  Events up to ``p`` that the account's URL never
  acknowledged are not sent anywhere.  The hand-back is kept in Redis
  (``WebhookStore``), so a restart honours it, until global's cursor passes
  ``p`` (``prune``).

Rules it keeps: ``global_skips`` is a plain lookup (no I/O) called for each
event global reads; the in-memory state changes before the awaited writes,
so global stops delivering an account's events at once; callers serialize
``take``, ``hand_back`` and ``prune`` (the supervisor's lock).
"""

from __future__ import annotations

from trimap.events import Event
from trimap.store import WebhookStore
from trimap.store.webhooks import position_order

__all__ = ["ACCOUNT_KEY_PREFIX", "AccountRouting", "account_key"]

ACCOUNT_KEY_PREFIX = "account:"


def account_key(account: str) -> str:
    """The destination key of ``account``'s own URL."""
    return ACCOUNT_KEY_PREFIX + account


class AccountRouting:
    """Accounts with their own URL, and hand-backs (see the module comment)."""

    def __init__(self, store: WebhookStore) -> None:
        self._store = store
        self.urls: dict[str, str] = {}  # account id → its own URL (may carry credentials)
        self._handbacks: dict[str, str] = {}  # account id → position

    def __repr__(self) -> str:  # the URLs may carry credentials
        return f"AccountRouting({len(self.urls)} accounts, {len(self._handbacks)} hand-backs)"

    async def load(self, urls: dict[str, str]) -> None:
        """Start from ``urls`` (every account's own URL) and the stored hand-backs."""
        self.urls = dict(urls)
        self._handbacks = await self._store.handbacks()

    def global_skips(self, event: Event) -> bool:
        """Whether the global destination leaves this logged event out."""
        if event.account in self.urls:
            return True
        until = self._handbacks.get(event.account)
        return (
            until is not None
            and event.position is not None
            and position_order(event.position) <= position_order(until)
        )

    async def take(self, account: str, url: str, start: str) -> None:
        """``account``'s events after ``start`` go to ``url`` (its destination's cursor)."""
        self.urls[account] = url
        self._handbacks.pop(account, None)
        await self._store.set_cursor(account_key(account), start)
        await self._store.drop_handbacks([account])

    async def hand_back(self, account: str, stopped_at: str | None, global_at: str | None) -> None:
        """``account``'s events after ``stopped_at`` go to global again.

        ``global_at`` is where global stands (``None``: it has no cursor, so it will start
        after all of this); nothing is recorded when global is past ``stopped_at``.
        """
        self.urls.pop(account, None)
        if stopped_at is None or global_at is None:
            return
        if position_order(stopped_at) > position_order(global_at):
            self._handbacks[account] = stopped_at
            await self._store.set_handback(account, stopped_at)

    async def prune(self, global_at: str | None) -> None:
        """Forget the hand-backs global's cursor ``global_at`` has passed."""
        if global_at is None:
            return
        here = position_order(global_at)
        passed = [a for a, until in self._handbacks.items() if position_order(until) <= here]
        for account in passed:
            del self._handbacks[account]
        await self._store.drop_handbacks(passed)
