"""Which folders an account watches, which one IDLEs, and what a folder listing changed.

How it works: ``watch_plan(folders, capabilities)`` takes the server's folder
list (LIST with SPECIAL-USE and subscription where offered) and returns a
``WatchPlan``: the folders that are synced, keyed by path, and the main folder
that stays selected in IDLE: INBOX, or on Gmail (``X-GM-EXT-1`` with an
``\\All`` folder) All Mail, and then only All Mail, Junk and Trash are synced
(every Gmail message is in All Mail; labels are folders there).
``status_changed`` tells from a STATUS answer whether a folder needs a sync.

Rules it keeps: ``\\Noselect`` and ``\\NonExistent`` folders are never
watched; paths are the decoded names the server lists (the same names the API
and events use); nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from imapproto import Status
from imapproto.client import MailboxInfo
from trimap.sync.checkpoint import FolderCheckpoint

__all__ = ["FolderInfo", "WatchPlan", "status_changed", "watch_plan"]

GMAIL_WATCHED = ("\\All", "\\Junk", "\\Trash")


@dataclass(frozen=True, slots=True)
class FolderInfo:
    """What events say about a folder."""

    path: str
    delimiter: str | None
    special_use: str | None

    @property
    def name(self) -> str:
        if self.delimiter and self.delimiter in self.path:
            return self.path.rsplit(self.delimiter, 1)[1]
        return self.path


@dataclass(frozen=True, slots=True)
class WatchPlan:
    """The folders to sync (by path) and the one to IDLE in."""

    folders: Mapping[str, FolderInfo]
    main: str | None
    gmail: bool


def _info(mailbox: MailboxInfo) -> FolderInfo:
    special_use = mailbox.special_use
    if special_use is None and mailbox.name.upper() == "INBOX":
        special_use = "\\Inbox"
    return FolderInfo(mailbox.name, mailbox.delimiter, special_use)


def watch_plan(mailboxes: Iterable[MailboxInfo], capabilities: frozenset[str]) -> WatchPlan:
    """What to watch given the server's folder list (see the module comment)."""
    selectable = [mailbox for mailbox in mailboxes if mailbox.selectable]
    infos = [_info(mailbox) for mailbox in selectable]
    all_mail = next((info for info in infos if info.special_use == "\\All"), None)
    gmail = "X-GM-EXT-1" in capabilities and all_mail is not None
    if gmail:
        infos = [info for info in infos if info.special_use in GMAIL_WATCHED]
        main = all_mail.path if all_mail is not None else None
    else:
        inbox = next((info for info in infos if info.path.upper() == "INBOX"), None)
        main = inbox.path if inbox is not None else None
    return WatchPlan({info.path: info for info in infos}, main, gmail)


def status_changed(status: Status, checkpoint: FolderCheckpoint | None) -> bool:
    """Whether a folder whose STATUS is ``status`` differs from its checkpoint.

    Without HIGHESTMODSEQ a flag change shows only in UNSEEN, so that is
    compared too; a change to another flag then waits for the next SELECT.
    """
    if checkpoint is None:
        return True
    if status.uidvalidity is not None and status.uidvalidity != checkpoint.uidvalidity:
        return True
    if status.uidnext is not None and status.uidnext != checkpoint.uidnext:
        return True
    if status.messages is not None and status.messages != checkpoint.messages:
        return True
    if status.highestmodseq is not None and checkpoint.highestmodseq is not None:
        return status.highestmodseq != checkpoint.highestmodseq
    return (
        status.unseen is not None
        and checkpoint.unseen is not None
        and status.unseen != checkpoint.unseen
    )
