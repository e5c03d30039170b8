"""From a message id to a selected folder and a UID, refusing ids that no longer name it.

How it works: a message id is a folder number and a UID (``trimap.messages.ids``).
``locate_message`` decodes it, looks the number up (``SyncStore.folder_of``:
the path and the UIDVALIDITY it was given for), selects that path on the
account's connection and compares UIDVALIDITY: a folder that was reset or
re-created since has another one, and the id is then ``MessageNotFound`` -- a
stale id is a 404, never another message (reference weakness 3).
``open_folder`` selects a folder by path and gives its number, allocating one
for a folder seen the first time.

Rules it keeps: everything runs on an ``AccountSession`` (the caller's turn on
the connection); a folder the server refuses to select is ``FolderNotFound``.
"""

from __future__ import annotations

from dataclasses import dataclass

from imapproto.client import CommandFailed
from trimap.engine import AccountSession
from trimap.messages.ids import InvalidId, decode_message_id
from trimap.store.sync import SyncStore
from trimap.sync.folder import SelectedFolder

__all__ = ["FolderNotFound", "MessageNotFound", "OpenFolder", "locate_message", "open_folder"]


class FolderNotFound(LookupError):
    """The folder does not exist (or cannot be selected)."""


class MessageNotFound(LookupError):
    """The id names no message: malformed for a folder, stale, or the UID is gone."""


@dataclass(frozen=True, slots=True)
class OpenFolder:
    """A folder selected for a request: what SELECT said, and its folder number."""

    selected: SelectedFolder
    folder_id: int

    @property
    def path(self) -> str:
        return self.selected.path


async def open_folder(
    session: AccountSession, store: SyncStore, path: str, *, writable: bool = False
) -> OpenFolder:
    """Select ``path`` (read-only unless ``writable``) and give its folder number."""
    try:
        selected = await session.select(path, read_only=not writable)
    except CommandFailed as refused:
        raise FolderNotFound(path) from refused
    folder_id = await store.folder_id(session.account_id, path, selected.uidvalidity)
    return OpenFolder(selected, folder_id)


async def locate_message(
    session: AccountSession, store: SyncStore, message_id: str, *, writable: bool = False
) -> tuple[OpenFolder, int]:
    """The folder (selected) and UID ``message_id`` names; ``MessageNotFound`` if none.

    Whether the UID still exists is for the caller's command to find out.
    """
    try:
        folder_id, uid = decode_message_id(message_id)
    except InvalidId as invalid:
        raise MessageNotFound(message_id) from invalid
    found = await store.folder_of(session.account_id, folder_id)
    if found is None:
        raise MessageNotFound(message_id)
    uidvalidity, path = found
    try:
        folder = await open_folder(session, store, path, writable=writable)
    except FolderNotFound:
        raise MessageNotFound(message_id) from None
    if folder.selected.uidvalidity != uidvalidity:
        raise MessageNotFound(message_id)
    return folder, uid
