"""Bring one selected folder's checkpoint up to date and say what changed.

How it works: ``sync_folder`` runs on a connection that has just selected
the folder (``SelectedFolder`` holds what SELECT said, kept current by the
runner from EXISTS/EXPUNGE/VANISHED).  It compares the server with the
folder's ``FolderCheckpoint`` and returns a ``FolderSync``: the changes
(deleted UIDs, flag updates, new UIDs) and the checkpoint that holds once
they are announced.  The strategy depends on the server, strongest first:

* QRESYNC: ``UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE m VANISHED)`` answers
  everything at once: what changed, what is new and what was expunged.
* CONDSTORE: the same without VANISHED; expunges are counted (the checkpoint's
  message count plus the new messages minus EXISTS) and, when some are
  missing, found by diffing ``UID SEARCH ALL`` with the checkpoint's UID set.
* Neither: ``UID FETCH 1:* (UID FLAGS)``, diffed against the checkpoint's
  UID set and flag sets.

With CONDSTORE an unchanged HIGHESTMODSEQ (and UIDNEXT and count) ends the
sync after SELECT.  A changed UIDVALIDITY is a reset: the folder gets a new
number (so new message ids) and is synced as if new.  A folder synced for the
first time becomes its baseline, and only its messages that arrived at or
after the account's ``notifyFrom`` are new (their INTERNALDATE is checked
when their summaries are fetched, by the announcer).

Rules it keeps: it never writes anything (the announcer appends the events,
then saves the checkpoint); flags are compared without ``\\Recent``; the
messages of a sync are identified by UID only, never by sequence number.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from imapproto import Fetch, SequenceSet, Vanished, search
from imapproto.client import ImapClient
from trimap.sync.checkpoint import (
    EMPTY,
    LABEL_PREFIX,
    FlagSets,
    FolderCheckpoint,
    apply_flags,
    flags_of,
)

__all__ = ["FlagUpdate", "FolderSync", "SelectedFolder", "message_flags", "sync_folder"]

ALL_UIDS = SequenceSet.parse("1:*", allow_star=True)

AllocateFolderId = Callable[[str, int], Awaitable[int]]


@dataclass(slots=True)
class SelectedFolder:
    """The selected folder as the server describes it, kept current from unsolicited data."""

    path: str
    uidvalidity: int
    uidnext: int
    exists: int
    highestmodseq: int | None  # None without CONDSTORE or with NOMODSEQ
    special_use: str | None = None
    read_only: bool = False
    fresh: bool = True  # as SELECT said, nothing pushed since: the counts can be trusted


@dataclass(frozen=True, slots=True)
class FlagUpdate:
    """Message ``uid`` now has ``flags``; ``previous`` is None when not known."""

    uid: int
    flags: frozenset[str]
    previous: frozenset[str] | None
    modseq: int | None


@dataclass(slots=True)
class FolderSync:
    """What one sync found: the changes, and the checkpoint once they are announced."""

    checkpoint: FolderCheckpoint
    previous: FolderCheckpoint | None
    reset_from: int | None = None  # the old UIDVALIDITY, when the folder was reset
    created: bool = False  # first sync ever of this folder
    deleted: SequenceSet = EMPTY
    updates: list[FlagUpdate] = field(default_factory=list)
    new: list[int] = field(default_factory=list)  # ascending

    @property
    def changed(self) -> bool:
        return bool(
            self.reset_from is not None
            or self.created
            or self.deleted
            or self.updates
            or self.new
            or self.checkpoint != self.previous
        )

    def progress(self, announced_up_to: int) -> FolderCheckpoint:
        """The checkpoint to keep once the new messages up to UID ``announced_up_to`` are
        announced: the final one minus the later new messages, whose UIDs are then at or
        above its UIDNEXT, so a crash before the end makes the next sync find them again
        (the sync always fetches everything from UIDNEXT on)."""
        pending = SequenceSet.from_iterable(uid for uid in self.new if uid > announced_up_to)
        if not pending:
            return self.checkpoint
        final = self.checkpoint
        messages = max(0, final.messages - len(pending))
        flags = apply_flags(final.flags, (), removed=pending)
        return replace(
            final,
            uidnext=pending.min(),
            messages=messages,
            unseen=unseen_count(messages, flags),
            uids=None if final.uids is None else final.uids.difference(pending),
            flags=flags,
        )


def unseen_count(messages: int, flags: FlagSets | None) -> int | None:
    """How many of ``messages`` lack ``\\Seen``, when the flag sets are known."""
    if flags is None:
        return None
    seen = flags.get("\\Seen")
    return max(0, messages - (len(seen) if seen else 0))


def message_flags(fetch: Fetch) -> frozenset[str]:
    """A message's flags and Gmail labels (``label:`` entries), ``\\Recent`` left out."""
    flags = {flag for flag in fetch.flags or () if flag.lower() != "\\recent"}
    flags.update(LABEL_PREFIX + label for label in fetch.gm_labels or ())
    return frozenset(flags)


def _flag_items(client: ImapClient) -> list[str]:
    items = ["UID", "FLAGS"]
    if client.has("X-GM-EXT-1"):
        items.append("X-GM-LABELS")
    return items


async def _fetch_flags(
    client: ImapClient,
    uids: SequenceSet = ALL_UIDS,
    *,
    changedsince: int | None = None,
    vanished: bool = False,
) -> tuple[dict[int, Fetch], SequenceSet]:
    items = _flag_items(client)
    if changedsince is not None:
        items.append("MODSEQ")
    found: dict[int, Fetch] = {}
    gone = EMPTY
    async with client.fetch(uids, items, changedsince=changedsince, vanished=vanished) as answers:
        async for answer in answers:
            if isinstance(answer, Vanished):
                gone = gone.union(answer.uids)
            elif answer.uid is not None:
                found[answer.uid] = answer
    return found, gone


async def sync_folder(
    client: ImapClient,
    folder: SelectedFolder,
    checkpoint: FolderCheckpoint | None,
    allocate_folder_id: AllocateFolderId,
    notify_from: datetime,
) -> FolderSync:
    """Compare the selected ``folder`` with ``checkpoint``; see the module comment.

    On a first sync, only messages with an INTERNALDATE on or after the day
    before ``notify_from`` (a server-side search) are candidates for ``new``.
    """
    reset_from = None
    if checkpoint is not None and checkpoint.uidvalidity != folder.uidvalidity:
        reset_from = checkpoint.uidvalidity
        checkpoint = None
    if checkpoint is None:
        folder_id = await allocate_folder_id(folder.path, folder.uidvalidity)
        return await _first_sync(client, folder, folder_id, reset_from, notify_from)
    return await _resync(client, folder, checkpoint)


async def _first_sync(
    client: ImapClient,
    folder: SelectedFolder,
    folder_id: int,
    reset_from: int | None,
    notify_from: datetime,
) -> FolderSync:
    found: dict[int, Fetch] = {}
    recent = EMPTY
    if folder.exists:
        found, _ = await _fetch_flags(client)
        recent = await client.search(search.since((notify_from - timedelta(days=1)).date()))
    present = SequenceSet.from_iterable(found)
    qresync = folder.highestmodseq is not None and "QRESYNC" in client.enabled
    flags = apply_flags({}, ((uid, message_flags(f)) for uid, f in found.items()))
    checkpoint = FolderCheckpoint(
        path=folder.path,
        folder_id=folder_id,
        uidvalidity=folder.uidvalidity,
        uidnext=max(folder.uidnext, present.max() + 1 if present else 1),
        messages=len(found),
        highestmodseq=folder.highestmodseq,
        unseen=unseen_count(len(found), flags),
        uids=None if qresync else present,
        flags=flags,
        special_use=folder.special_use,
    )
    return FolderSync(
        checkpoint,
        previous=None,
        reset_from=reset_from,
        created=reset_from is None,
        new=sorted(uid for uid in found if uid in recent),
    )


async def _resync(
    client: ImapClient, folder: SelectedFolder, checkpoint: FolderCheckpoint
) -> FolderSync:
    condstore = folder.highestmodseq is not None and checkpoint.highestmodseq is not None
    qresync = condstore and "QRESYNC" in client.enabled
    if (
        condstore
        and folder.fresh
        and checkpoint.highestmodseq == folder.highestmodseq
        and checkpoint.uidnext == folder.uidnext
        and checkpoint.messages == folder.exists
    ):
        final = replace(checkpoint, special_use=folder.special_use)
        return FolderSync(final, previous=checkpoint)
    # The known UIDs: what changed (all of them without CONDSTORE) and, with QRESYNC,
    # what vanished.  Then, separately, everything from the checkpoint's UIDNEXT on.
    found: dict[int, Fetch] = {}
    vanished = EMPTY
    if checkpoint.uidnext > 1:
        found, vanished = await _fetch_flags(
            client,
            SequenceSet.from_ranges([(1, checkpoint.uidnext - 1)]),
            changedsince=checkpoint.highestmodseq if condstore else None,
            vanished=qresync,
        )
    arrived, _ = await _fetch_flags(
        client, SequenceSet.parse(f"{checkpoint.uidnext}:*", allow_star=True)
    )
    new = sorted(uid for uid in arrived if uid >= checkpoint.uidnext)
    if qresync:
        deleted = vanished
    elif condstore:
        deleted = await _missing_by_count(client, folder, checkpoint, len(new))
    else:
        deleted = (checkpoint.uids or EMPTY).difference(SequenceSet.from_iterable(found))
    updates = _flag_updates(found, checkpoint, deleted)
    found.update((uid, arrived[uid]) for uid in new)
    new_set = SequenceSet.from_iterable(new)
    uids = None
    if checkpoint.uids is not None and not qresync:
        uids = checkpoint.uids.difference(deleted).union(new_set)
    max_modseq = max((f.modseq or 0 for f in found.values()), default=0)
    messages = len(uids) if uids is not None else folder.exists
    flags = apply_flags(
        checkpoint.flags,
        [(u.uid, u.flags) for u in updates] + [(uid, message_flags(found[uid])) for uid in new],
        removed=deleted,
    )
    final = FolderCheckpoint(
        path=folder.path,
        folder_id=checkpoint.folder_id,
        uidvalidity=folder.uidvalidity,
        uidnext=max(folder.uidnext, new[-1] + 1 if new else 1, checkpoint.uidnext),
        messages=messages,
        highestmodseq=max(folder.highestmodseq or 0, checkpoint.highestmodseq or 0, max_modseq)
        or None,
        unseen=unseen_count(messages, flags),
        uids=uids,
        flags=flags,
        changes=checkpoint.changes + (1 if updates and not condstore else 0),
        special_use=folder.special_use,
    )
    return FolderSync(final, previous=checkpoint, deleted=deleted, updates=updates, new=new)


async def _missing_by_count(
    client: ImapClient, folder: SelectedFolder, checkpoint: FolderCheckpoint, new: int
) -> SequenceSet:
    """CONDSTORE without QRESYNC: the known UIDs that are gone, searched for only when
    the count says some are."""
    if checkpoint.messages + new == folder.exists or checkpoint.uids is None:
        return EMPTY
    present = await client.search(search.ALL)
    return checkpoint.uids.difference(present)


def _flag_updates(
    found: dict[int, Fetch], checkpoint: FolderCheckpoint, deleted: SequenceSet
) -> list[FlagUpdate]:
    updates = []
    for uid in sorted(found):
        if uid >= checkpoint.uidnext or uid in deleted:
            continue
        if checkpoint.uids is not None and uid not in checkpoint.uids:
            continue  # came and went between two syncs: never announced, so never updated
        flags = message_flags(found[uid])
        previous = None if checkpoint.flags is None else flags_of(checkpoint.flags, uid)
        if previous is not None and previous == flags:
            continue
        updates.append(FlagUpdate(uid, flags, previous, found[uid].modseq))
    return updates
