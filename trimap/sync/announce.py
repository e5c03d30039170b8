"""Turn what a folder sync found into events, make them durable, then move the checkpoint.

How it works: ``Announcer.announce(client, sync, folder)`` builds the events
of a ``FolderSync`` in this order: ``mailboxReset`` or ``mailboxNew``, then
``messageDeleted`` and ``messageUpdated``, appended to the sink in one call;
then the new messages in chunks of ``NEW_CHUNK``: their summaries are
fetched (``trimap.messages``), those that arrived before the account's
``notifyFrom`` (by INTERNALDATE) are skipped, the rest become ``messageNew``
events, appended, and the checkpoint advances past the chunk.  The final
checkpoint is saved last.  ``mailboxDeleted`` and the folder events of the
folder list come from ``folder_event``.

Rules it keeps:

* Durable before remembered: a checkpoint is saved only after the events it
  implies are in the sink, so a crash at any point makes the next sync find
  the same changes again, and they get the same ids (``stable_event_id``):
  duplicates are possible, losses are not.
* A huge batch never sits in memory: at most ``NEW_CHUNK`` summaries at a time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from imapproto import Fetch, FetchSection, SequenceSet
from imapproto.client import ImapClient
from trimap.events import Event, EventSink, stable_event_id
from trimap.mailbox.text import fetch_message_text
from trimap.messages.ids import encode_message_id
from trimap.messages.summary import message_summary, summary_fetch_items
from trimap.sync.checkpoint import LABEL_PREFIX, FolderCheckpoint
from trimap.sync.folder import FlagUpdate, FolderSync
from trimap.sync.folderlist import FolderInfo

__all__ = ["NEW_CHUNK", "Announcer", "NotifyOptions", "flag_changes", "folder_event"]

NEW_CHUNK = 250
DELETED_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class NotifyOptions:
    """The settings that shape ``messageNew``: text (size 0 = no limit) and headers."""

    text: bool = False
    text_size: int = 0
    headers: frozenset[str] | None = None  # lower-case names; "*" for all


SaveCheckpoint = Callable[[FolderCheckpoint], Awaitable[None]]


def folder_event(
    account: str, kind: str, folder: FolderInfo, uidvalidity: int, **extra: Any
) -> Event:
    """A ``mailboxNew`` / ``mailboxDeleted`` / ``mailboxReset`` event."""
    data: dict[str, Any] = {
        "path": folder.path,
        "name": folder.name,
        "specialUse": folder.special_use or False,
    }
    facts: list[str | int | None] = [folder.path]
    if kind == "mailboxReset":
        previous = extra["prev_uidvalidity"]
        data["uidValidity"] = str(uidvalidity)
        data["prevUidValidity"] = str(previous)
        facts += [previous, uidvalidity]
    else:
        if kind == "mailboxNew":
            data["uidValidity"] = str(uidvalidity)
        facts.append(uidvalidity)
    return Event(
        id=stable_event_id(account, kind, *facts),
        account=account,
        kind=kind,
        date=datetime.now(UTC),
        data=data,
        path=folder.path,
        special_use=folder.special_use,
    )


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def flag_changes(update: FlagUpdate) -> dict[str, Any]:
    """``changes`` of a ``messageUpdated``: flags and labels added, deleted, and the value."""
    changes: dict[str, Any] = {}
    for key, wanted in (("flags", False), ("labels", True)):

        def pick(names: frozenset[str], labels: bool = wanted) -> frozenset[str]:
            if labels:
                return frozenset(
                    n[len(LABEL_PREFIX) :] for n in names if n.startswith(LABEL_PREFIX)
                )
            return frozenset(n for n in names if not n.startswith(LABEL_PREFIX))

        now = pick(update.flags)
        if update.previous is None:
            if key == "flags" or now:
                changes[key] = {"value": sorted(now)}
            continue
        before = pick(update.previous)
        if now == before:
            continue
        entry: dict[str, Any] = {}
        if now - before:
            entry["added"] = sorted(now - before)
        if before - now:
            entry["deleted"] = sorted(before - now)
        entry["value"] = sorted(now)
        changes[key] = entry
    return changes


class Announcer:
    """Makes one account's folder syncs durable (see the module comment)."""

    def __init__(
        self,
        account: str,
        sink: EventSink,
        save: SaveCheckpoint,
        notify_options: Callable[[], Awaitable[NotifyOptions]],
        notify_from: datetime,
    ) -> None:
        self._account = account
        self._sink = sink
        self._save = save
        self._notify_options = notify_options
        # INTERNALDATE has whole seconds: compare at that precision.
        self._notify_from = notify_from.replace(microsecond=0)

    def _event(self, kind: str, folder: FolderInfo, data: dict[str, Any], *facts: Any) -> Event:
        return Event(
            id=stable_event_id(self._account, kind, folder.path, *facts),
            account=self._account,
            kind=kind,
            date=datetime.now(UTC),
            data=data,
            path=folder.path,
            special_use=folder.special_use,
        )

    async def announce(self, client: ImapClient, sync: FolderSync, folder: FolderInfo) -> None:
        """Append the events of ``sync`` and save its checkpoints, in that order."""
        checkpoint = sync.checkpoint
        head: list[Event] = []
        if sync.reset_from is not None:
            head.append(
                folder_event(
                    self._account,
                    "mailboxReset",
                    folder,
                    checkpoint.uidvalidity,
                    prev_uidvalidity=sync.reset_from,
                )
            )
        elif sync.created:
            head.append(folder_event(self._account, "mailboxNew", folder, checkpoint.uidvalidity))
        head += self._updates(sync, folder)
        deleted = list(sync.deleted) if sync.deleted else []
        for chunk in _chunks(deleted, DELETED_CHUNK):
            head += [self._deleted(folder, checkpoint, uid) for uid in chunk]
            await self._sink.append(head)
            head = []
        if head:
            await self._sink.append(head)
        if sync.new:
            options = await self._notify_options()
            for chunk in _chunks(sync.new, NEW_CHUNK):
                events = await self._new_messages(client, folder, checkpoint, chunk, options)
                if events:
                    await self._sink.append(events)
                if chunk[-1] != sync.new[-1]:
                    await self._save(sync.progress(chunk[-1]))
        if sync.changed:
            await self._save(checkpoint)

    def _deleted(self, folder: FolderInfo, checkpoint: FolderCheckpoint, uid: int) -> Event:
        data = {"id": encode_message_id(checkpoint.folder_id, uid), "uid": uid}
        return self._event("messageDeleted", folder, data, checkpoint.uidvalidity, uid)

    def _updates(self, sync: FolderSync, folder: FolderInfo) -> list[Event]:
        checkpoint = sync.checkpoint
        events = []
        for update in sync.updates:
            changes = flag_changes(update)
            if not changes:
                continue
            data = {
                "id": encode_message_id(checkpoint.folder_id, update.uid),
                "uid": update.uid,
                "changes": changes,
            }
            # With CONDSTORE the change's MODSEQ names it; without, the flag state and the
            # folder's change counter do (a state that comes back is a new change).
            facts: tuple[Any, ...] = (
                (update.modseq,)
                if update.modseq is not None
                else (update.flags, checkpoint.changes)
            )
            events.append(
                self._event(
                    "messageUpdated", folder, data, checkpoint.uidvalidity, update.uid, *facts
                )
            )
        return events

    async def _new_messages(
        self,
        client: ImapClient,
        folder: FolderInfo,
        checkpoint: FolderCheckpoint,
        uids: Sequence[int],
        options: NotifyOptions,
    ) -> list[Event]:
        items: list[str | FetchSection] = list(summary_fetch_items(client.capabilities))
        if options.headers is not None:
            names = () if "*" in options.headers else tuple(sorted(options.headers))
            if names:
                items.append(FetchSection(text="HEADER.FIELDS", fields=names))
            else:
                items.append(FetchSection(text="HEADER"))
        # One answer per message: a flag change pushed for a message being fetched can
        # come as a second, flags-only FETCH of the same UID; the full one is kept.
        fetched: dict[int, Fetch] = {}
        async with client.fetch(SequenceSet.from_iterable(uids), items) as answers:
            async for answer in answers:
                if not isinstance(answer, Fetch) or answer.uid is None:
                    continue
                if answer.envelope is not None or answer.uid not in fetched:
                    fetched[answer.uid] = answer
        events = []
        for uid in sorted(fetched):
            message = fetched[uid]
            if message.envelope is None:
                continue  # expunged before it could be read: its messageDeleted follows
            if message.internaldate is not None and message.internaldate < self._notify_from:
                continue
            header_section = message.section("BODY", _header_section(options))
            summary = message_summary(
                message,
                checkpoint.folder_id,
                extended=True,
                headers=header_section.data
                if header_section is not None and isinstance(header_section.data, bytes)
                else None,
            )
            if options.text and message.bodystructure is not None and message.uid is not None:
                text = await fetch_message_text(
                    client, message.uid, message.bodystructure, options.text_size
                )
                summary.setdefault("text", {}).update(text)
            events.append(
                self._event("messageNew", folder, summary, checkpoint.uidvalidity, message.uid)
            )
        return events


def _header_section(options: NotifyOptions) -> str:
    if options.headers is None or "*" in options.headers:
        return "HEADER"
    return "HEADER.FIELDS (" + " ".join(sorted(h.upper() for h in options.headers)) + ")"
