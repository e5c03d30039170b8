"""Changing messages on a live connection: flags and labels, move, delete, append.

How it works: each action runs on an ``AccountSession`` (the caller's turn on
the connection) with the source folder selected writable.  A STORE, MOVE or
EXPUNGE of a UID that does not exist succeeds and does nothing, so the caller
first finds the UIDs that exist (``existing_uids``) or match
(``matching_uids``): a NOOP, after which the server has told this connection
what other clients expunged, then one UID SEARCH.  An action then runs one
command over the whole UID set, written as ranges, and touches every folder
it changed: the account's watch syncs them once the turn ends and announces
the changes (``messageUpdated``, ``messageNew``, ``messageDeleted``) as it
does for any other client's.

* ``change_flags``: UID STORE of flags (``FlagChange``: ``set`` replaces,
  otherwise ``add`` then ``delete``), and of Gmail labels (X-GM-LABELS, only
  where the server has X-GM-EXT-1, else ``LabelsUnsupported``).
* ``move_messages``: UID MOVE (imapproto falls back to COPY + STORE + UID
  EXPUNGE); the new UIDs come from COPYUID, the target's folder number from
  the sync store.
* ``expunge_messages``: ``\\Deleted`` and UID EXPUNGE of these UIDs only.
* ``delete_message``: to the Trash folder (special use ``\\Trash``), or, in
  the Trash, without one, or when forced, expunged.
* ``append_message``: APPEND, with the new id from APPENDUID.

Rules it keeps:

* Never a plain EXPUNGE, which would also remove every other message marked
  ``\\Deleted`` (reference weakness 17): expunging needs UIDPLUS (UID
  EXPUNGE), and so does a MOVE on a server without MOVE; without it the
  action is refused (``ExpungeUnsupported``) before anything changes.
* A target folder the server does not have (``[TRYCREATE]``) is
  ``FolderNotFound``; nothing is created implicitly.
* Flags are checked before anything is sent: ``parse_flags`` and
  ``parse_flag_change`` collect every problem as ``{key: message}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from imapproto import LocalProtocolError, SequenceSet, check_flag
from imapproto import search as keys
from imapproto.client import CommandFailed, ImapClient
from trimap.engine import AccountSession
from trimap.mailbox.locate import FolderNotFound
from trimap.store.sync import SyncStore

__all__ = [
    "MAX_FLAG_LENGTH",
    "Appended",
    "ExpungeUnsupported",
    "FlagChange",
    "LabelsUnsupported",
    "Moved",
    "append_message",
    "change_flags",
    "delete_message",
    "existing_uids",
    "expunge_messages",
    "matching_uids",
    "move_messages",
    "parse_flag_change",
    "parse_flags",
    "require_labels",
    "trash_folder",
]

MAX_FLAG_LENGTH = 128
MAX_FLAGS = 100
TRASH = "\\Trash"
GMAIL = "X-GM-EXT-1"


class LabelsUnsupported(Exception):
    """Labels were asked for on a server without Gmail's extension."""


class ExpungeUnsupported(Exception):
    """The server lacks UIDPLUS, so these messages cannot be removed alone."""


@dataclass(frozen=True, slots=True)
class FlagChange:
    """Flags (or labels) to change: ``set`` replaces them all, else ``add`` and ``delete``."""

    add: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    set: tuple[str, ...] | None = None

    def answer(self) -> dict[str, bool]:
        """The answer's view: which operations were applied."""
        if self.set is not None:
            return {"set": True}
        return {name: True for name, items in (("add", self.add), ("delete", self.delete)) if items}


@dataclass(frozen=True, slots=True)
class Moved:
    """Where messages went; ``uids`` maps old UIDs to new ones where the server said."""

    path: str
    count: int
    folder_id: int | None = None
    uids: Mapping[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Appended:
    """An appended message; the numbers are known where the server has UIDPLUS."""

    path: str
    uidvalidity: int | None = None
    uid: int | None = None
    folder_id: int | None = None


# -- checking input -------------------------------------------------------------------


def parse_flags(
    value: Any, key: str, problems: dict[str, str], *, labels: bool = False
) -> tuple[str, ...] | None:
    """``value`` as a list of flags (labels: any printable text), or None and a problem
    under ``key`` or ``key.<index>``."""
    if not isinstance(value, list) or len(value) > MAX_FLAGS:
        problems[key] = f'"{key}" must be an array of at most {MAX_FLAGS} strings'
        return None
    what = "a label" if labels else "an IMAP flag (an atom, optionally after one \\)"
    bad = {
        f"{key}.{index}": f'"{key}.{index}" must be {what} of 1 to {MAX_FLAG_LENGTH} characters'
        for index, item in enumerate(value)
        if not _valid_flag(item, labels=labels)
    }
    problems.update(bad)
    return None if bad else tuple(value)


def _valid_flag(item: Any, *, labels: bool) -> bool:
    if not isinstance(item, str) or not 0 < len(item) <= MAX_FLAG_LENGTH:
        return False
    if labels and not item.startswith("\\"):
        return item.isprintable()
    try:
        check_flag(item)
    except LocalProtocolError:
        return False
    return True


def parse_flag_change(
    value: Any, key: str, problems: dict[str, str], *, labels: bool = False
) -> FlagChange | None:
    """``{"add"?, "delete"?, "set"?}`` as a ``FlagChange`` (None if absent or invalid)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems[key] = f'"{key}" must be an object with add, delete or set'
        return None
    mine: dict[str, str] = {
        f"{key}.{name}": f'"{key}.{name}" is not allowed'
        for name in value
        if name not in ("add", "delete", "set")
    }
    found = {
        name: parse_flags(value[name], f"{key}.{name}", mine, labels=labels)
        for name in ("add", "delete", "set")
        if name in value
    }
    problems.update(mine)
    if mine:
        return None
    if "set" in found:
        return FlagChange(set=found["set"])
    return FlagChange(add=found.get("add") or (), delete=found.get("delete") or ())


# -- actions --------------------------------------------------------------------------


async def matching_uids(client: ImapClient, criteria: keys.SearchKey) -> SequenceSet:
    """The UIDs of the selected folder's messages that match ``criteria`` as the folder is
    now: a NOOP first (the server then tells this connection what other clients expunged),
    then UID SEARCH."""
    await client.noop()
    return await client.search(criteria)


async def existing_uids(client: ImapClient, uids: SequenceSet) -> SequenceSet:
    """The UIDs of ``uids`` that exist in the selected folder."""
    return await matching_uids(client, keys.uid(uids)) if uids else uids


def require_labels(client: ImapClient) -> None:
    """``LabelsUnsupported`` unless the server has Gmail's labels."""
    if not client.has(GMAIL):
        raise LabelsUnsupported()


async def change_flags(
    session: AccountSession,
    path: str,
    uids: SequenceSet,
    flags: FlagChange | None,
    labels: FlagChange | None = None,
) -> None:
    """Apply ``flags`` and ``labels`` to ``uids`` of the selected (writable) ``path``."""
    client = session.client
    if labels is not None:
        require_labels(client)
    if not uids:
        return
    for change, gmail in ((flags, False), (labels, True)):
        if change is None:
            continue
        if change.set is not None:
            await client.store(uids, "replace", change.set, gmail_labels=gmail)
            continue
        if change.add:
            await client.store(uids, "add", change.add, gmail_labels=gmail)
        if change.delete:
            await client.store(uids, "remove", change.delete, gmail_labels=gmail)
    session.touch(path)


def _require_uid_expunge(client: ImapClient) -> None:
    if not client.has("UIDPLUS"):
        raise ExpungeUnsupported()


async def move_messages(
    session: AccountSession, store: SyncStore, path: str, uids: SequenceSet, target: str
) -> Moved:
    """Move ``uids`` of the selected (writable) ``path`` to ``target``."""
    client = session.client
    if not client.has("MOVE"):
        _require_uid_expunge(client)
    if not uids:
        return Moved(target, 0)
    with _into(target):
        copied = await client.move(uids, target)
    session.touch(path)
    session.touch(target)
    if copied is None:
        return Moved(target, len(uids))
    folder_id = await store.folder_id(session.account_id, target, copied.uidvalidity)
    return Moved(target, len(copied.source), folder_id, dict(copied.uid_map()))


@contextmanager
def _into(target: str) -> Iterator[None]:
    """Turn the server's ``[TRYCREATE]`` (no such target folder) into ``FolderNotFound``."""
    try:
        yield
    except CommandFailed as refused:
        if refused.code == "TRYCREATE":
            raise FolderNotFound(target) from refused
        raise


async def expunge_messages(session: AccountSession, path: str, uids: SequenceSet) -> None:
    """Mark ``uids`` of the selected (writable) ``path`` ``\\Deleted`` and expunge only them."""
    client = session.client
    _require_uid_expunge(client)
    if not uids:
        return
    await client.store(uids, "add", ["\\Deleted"])
    await client.expunge(uids)
    session.touch(path)


def trash_folder(session: AccountSession) -> str | None:
    """The path of the account's Trash (special use ``\\Trash``), if it has one."""
    return next((path for path, use in session.special_use.items() if use == TRASH), None)


async def delete_message(
    session: AccountSession, store: SyncStore, path: str, uid: int, *, force: bool
) -> Moved | None:
    """Move ``uid`` of the selected ``path`` to Trash (the answer), or expunge it (None)
    when it is in Trash already, there is no Trash, or ``force``."""
    trash = trash_folder(session)
    uids = SequenceSet.from_iterable([uid])
    if force or trash is None or trash == path:
        await expunge_messages(session, path, uids)
        return None
    return await move_messages(session, store, path, uids, trash)


async def append_message(
    session: AccountSession,
    store: SyncStore,
    path: str,
    message: bytes,
    flags: Iterable[str] = (),
    internal_date: datetime | None = None,
) -> Appended:
    """APPEND ``message`` to ``path``; the new message's numbers where the server tells."""
    with _into(path):
        appended = await session.client.append(path, message, flags, internal_date)
    session.touch(path)
    if appended is None or len(appended.uids) != 1:
        return Appended(path)
    folder_id = await store.folder_id(session.account_id, path, appended.uidvalidity)
    return Appended(path, appended.uidvalidity, appended.uids.min(), folder_id)
