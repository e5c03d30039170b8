"""An account's folders, live from the server: listed with counters, created, renamed,
(un)subscribed and deleted.

How it works: ``list_folders`` sends one LIST asking for subscriptions and
special uses (LIST-EXTENDED, SPECIAL-USE) and, where the server has
LIST-STATUS, the counters (MESSAGES UIDNEXT UNSEEN) in the same command;
otherwise one STATUS per folder, and one LSUB for the subscriptions when
LIST-EXTENDED is missing.  A NOOP goes first, so that the counters of the
selected folder are the server's current ones, not the session's last view.
Folders that cannot be selected (``\\Noselect``, ``\\NonExistent``) are left
out; INBOX comes first, then the others by path.

``folder_path`` turns the API's path into the server's: a string is a whole
path, as listed; a list of segments is joined with the hierarchy delimiter
and put under the personal namespace's prefix (``["Work", "2024"]`` is
``Work/2024`` on Dovecot, ``INBOX.Work.2024`` on a server whose namespace is
``INBOX.``).

``create_folder``, ``update_folder`` and ``delete_folder`` change folders on
an ``AccountSession``.  A refusal is sorted out: the folder is missing
(``FolderNotFound``), the new name is taken (``FolderExists``), or anything
else, the server's ``CommandFailed`` with its text.  The response codes
NONEXISTENT and ALREADYEXISTS decide where the server sends them, a LIST of
that one name where it does not.

Rules it keeps:

* Paths are the decoded names the server lists (imapproto does modified
  UTF-7), the same names events carry.
* A folder is never renamed or deleted while it is selected (Dovecot drops
  the connection when the selected folder is deleted): INBOX is examined
  first, and INBOX itself can be neither deleted nor left.
* Every change touches the folders it concerns, so the account's watch lists
  again once the request's turn ends and announces ``mailboxNew`` and
  ``mailboxDeleted`` -- only for what the server really did (a refused DELETE
  announces nothing: reference weakness 17).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imapproto.client import CommandFailed, ImapClient, MailboxInfo
from trimap.engine import AccountSession
from trimap.mailbox.locate import FolderNotFound
from trimap.sync.folderlist import FolderInfo

__all__ = [
    "FolderEntry",
    "FolderExists",
    "InvalidFolderPath",
    "create_folder",
    "delete_folder",
    "folder_exists",
    "folder_path",
    "list_folders",
    "update_folder",
]

STATUS_ITEMS = ("MESSAGES", "UIDNEXT", "UNSEEN")
INBOX = "INBOX"


class FolderExists(LookupError):
    """The name a folder was to be given is taken."""


class InvalidFolderPath(ValueError):
    """Path segments that cannot name a folder on this server (a segment holds the delimiter)."""


@dataclass(frozen=True, slots=True)
class FolderEntry:
    """One selectable folder as ``GET /mailboxes`` shows it."""

    folder: FolderInfo
    subscribed: bool
    messages: int | None
    unseen: int | None
    uidnext: int | None

    @property
    def path(self) -> str:
        return self.folder.path

    @property
    def parent_path(self) -> str | None:
        delimiter = self.folder.delimiter
        if delimiter and delimiter in self.path:
            return self.path.rsplit(delimiter, 1)[0]
        return None

    def to_json(self) -> dict[str, Any]:
        folder = self.folder
        entry: dict[str, Any] = {
            "path": folder.path,
            "name": folder.name,
            "delimiter": folder.delimiter,
        }
        if self.parent_path is not None:
            entry["parentPath"] = self.parent_path
        if folder.special_use is not None:
            entry["specialUse"] = folder.special_use
        entry["listed"] = True
        entry["subscribed"] = self.subscribed
        for key, value in (
            ("messages", self.messages),
            ("unseen", self.unseen),
            ("uidNext", self.uidnext),
        ):
            if value is not None:
                entry[key] = value
        return entry


def _is_inbox(path: str) -> bool:
    return path.upper() == INBOX


async def list_folders(client: ImapClient) -> list[FolderEntry]:
    """Every selectable folder with its counters, INBOX first, then by path."""
    await client.noop()  # the selected folder's counters as they are now, not as last synced
    listed = [
        mailbox
        for mailbox in await client.list_mailboxes(status_items=STATUS_ITEMS)
        if mailbox.selectable
    ]
    subscribed = (
        None if client.has("LIST-EXTENDED") else {mailbox.name for mailbox in await client.lsub()}
    )
    entries = []
    for mailbox in listed:
        status = mailbox.status
        if status is None:
            status = await client.status(mailbox.name, STATUS_ITEMS)
        entries.append(
            FolderEntry(
                folder=FolderInfo(
                    mailbox.name,
                    mailbox.delimiter,
                    mailbox.special_use or ("\\Inbox" if _is_inbox(mailbox.name) else None),
                ),
                subscribed=mailbox.subscribed if subscribed is None else mailbox.name in subscribed,
                messages=status.messages,
                unseen=status.unseen,
                uidnext=status.uidnext,
            )
        )
    entries.sort(key=lambda entry: (not _is_inbox(entry.path), entry.path))
    return entries


async def folder_path(client: ImapClient, path: str | Sequence[str]) -> str:
    """The server's path for the API's ``path`` (see the module comment)."""
    if isinstance(path, str):
        return path
    prefix, delimiter = await _personal_namespace(client)
    if len(path) > 1 and delimiter is None:
        raise InvalidFolderPath("the server has no folder hierarchy: give one segment")
    if delimiter is not None and any(delimiter in segment for segment in path):
        raise InvalidFolderPath(f"a segment may not contain the delimiter {delimiter!r}")
    joined = (delimiter or "").join(path)
    if prefix and not _is_inbox(path[0]) and not joined.startswith(prefix):
        joined = prefix + joined
    return joined


async def _personal_namespace(client: ImapClient) -> tuple[str, str | None]:
    """(prefix, delimiter) of the personal namespace; without NAMESPACE, LIST "" "" tells
    the delimiter."""
    if client.has("NAMESPACE"):
        personal = (await client.namespace()).personal
        if personal:
            return personal[0].prefix, personal[0].delimiter
    root = await client.list_mailboxes("", "")
    return "", root[0].delimiter if root else None


async def folder_exists(client: ImapClient, path: str) -> bool:
    """Whether ``path`` exists (selectable or not)."""
    return any(_is_listed_as(mailbox, path) for mailbox in await client.list_mailboxes("", path))


def _is_listed_as(mailbox: MailboxInfo, path: str) -> bool:
    return mailbox.name == path and not mailbox.has_flag("\\NonExistent")


async def _leave(session: AccountSession, path: str) -> None:
    """Make sure ``path`` is not the selected folder (INBOX is examined instead)."""
    if not _is_inbox(path):
        await session.select(INBOX, read_only=True)


async def create_folder(session: AccountSession, path: str) -> bool:
    """Create ``path``; False if it existed already."""
    client = session.client
    try:
        await client.create(path)
    except CommandFailed as refused:
        if refused.code == "ALREADYEXISTS" or await folder_exists(client, path):
            return False
        raise
    session.touch(path)
    return True


async def update_folder(
    session: AccountSession, path: str, *, new_path: str | None, subscribed: bool | None
) -> None:
    """Rename ``path`` to ``new_path`` (if given), then (un)subscribe it (if asked)."""
    client = session.client
    if not await folder_exists(client, path):
        raise FolderNotFound(path)
    current = path
    if new_path is not None and new_path != path:
        await _leave(session, path)
        try:
            await client.rename(path, new_path)
        except CommandFailed as refused:
            if refused.code == "ALREADYEXISTS" or await folder_exists(client, new_path):
                raise FolderExists(new_path) from None
            raise
        session.touch(path)
        session.touch(new_path)
        current = new_path
    if subscribed is not None:
        await (client.subscribe(current) if subscribed else client.unsubscribe(current))


async def delete_folder(session: AccountSession, path: str) -> None:
    """Delete ``path``: ``FolderNotFound`` if there is none, ``CommandFailed`` if refused."""
    client = session.client
    await _leave(session, path)
    try:
        await client.delete(path)
    except CommandFailed as refused:
        if refused.code == "NONEXISTENT" or not await folder_exists(client, path):
            raise FolderNotFound(path) from None
        raise
    session.touch(path)
