"""The connected life of one account: sync every watched folder, then wait in IDLE.

How it works: ``AccountWatch`` owns a logged-in ``ImapClient`` for as long
as it stays connected.  ``start()`` loads the account's checkpoints, lists
the folders (with LIST-STATUS where offered, so unchanged folders cost
nothing), syncs what changed, selects the main folder and, where the server
has NOTIFY, asks to be told about every other folder too.  ``serve()`` then
loops: settle (sync whatever is marked dirty), IDLE until something
happens, repeat.

What marks work, and where it comes from:

* EXISTS, EXPUNGE, VANISHED, FETCH (pushed in IDLE, or left over from any
  command): the selected folder is dirty;
* STATUS of another folder (NOTIFY, or the periodic sweep) that differs from
  its checkpoint: that folder is dirty;
* LIST (NOTIFY's MailboxName), or the sweep falling due every ``resyncDelay``
  seconds: the folder list is refreshed, which finds new and deleted folders;
* an API caller waiting at the ``Gate``, or a stop/reconnect request: IDLE
  ends, and the caller gets the connection between two settles.

``settle()`` always finishes the selected folder first (so news that arrives
while another folder is examined is not lost), then the folder list, then
the other dirty folders one by one (EXAMINE, sync), and finally returns to the
main folder (SELECT, sync) -- unless a request selected another folder less
than ``LINGER`` seconds ago: then it idles there a little longer (the
reference waited 5 s too), and with NOTIFY the main folder is still watched.
Each sync goes through ``trimap.sync``: the events are appended, then the
checkpoint saved.

Rules it keeps: one command at a time (everything here runs holding the
gate's lock); untagged data is never ignored (``take_unsolicited`` after
every step); a folder that vanished between LIST and SELECT only marks the
list dirty.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import trio

from imapproto import Event, Exists, Expunge, Fetch, ListResponse, Status, Vanished
from imapproto.client import CommandFailed, ImapClient, MailboxInfo
from trimap.events import EventSink
from trimap.store.sync import SyncStore
from trimap.supervise import open_unwrapping_nursery
from trimap.sync.announce import Announcer, folder_event
from trimap.sync.checkpoint import EMPTY, FolderCheckpoint
from trimap.sync.folder import SelectedFolder, sync_folder
from trimap.sync.folderlist import FolderInfo, WatchPlan, status_changed, watch_plan

__all__ = ["AccountWatch", "Gate"]

LIST_STATUS_ITEMS = ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN")
LINGER = 5.0  # seconds spent in a folder a request selected before returning to the main one


class Gate:
    """Who drives an account's connection: the watch between idles, API callers on request.

    ``lock`` (fair, FIFO) is held by whoever sends commands; ``wake()`` ends
    the current IDLE so that a waiting caller gets the lock next.
    """

    def __init__(self) -> None:
        self.lock = trio.Lock()
        self.waiting = 0
        self._wake = trio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def woken(self) -> None:
        await self._wake.wait()

    def rearm(self) -> None:
        """Forget a served wake-up (only when nobody is waiting any more)."""
        if self._wake.is_set() and self.waiting == 0:
            self._wake = trio.Event()


class AccountWatch:
    """One connected account: its folders, checkpoints and the selected folder."""

    def __init__(
        self,
        account_id: str,
        client: ImapClient,
        *,
        store: SyncStore,
        sink: EventSink,
        announcer: Announcer,
        notify_from: datetime,
        resync_delay: float,
        gate: Gate,
    ) -> None:
        self.account_id = account_id
        self.client = client
        self._store = store
        self._sink = sink
        self._announcer = announcer
        self._notify_from = notify_from
        self._resync_delay = resync_delay
        self.gate = gate
        self.checkpoints: dict[str, FolderCheckpoint] = {}
        self.plan = WatchPlan({}, None, False)
        self.selected: SelectedFolder | None = None
        self._dirty_selected = False
        self._dirty_folders: set[str] = set()
        self._dirty_list = True
        self._next_sweep = trio.current_time() + resync_delay
        self._linger_until = 0.0  # stay in a folder a request selected until then

    # -- life -----------------------------------------------------------------------

    async def start(self) -> None:
        """The first full pass: folders listed, everything synced, main folder selected."""
        async with self.gate.lock:
            self.checkpoints = await self._store.load(self.account_id)
            await self.settle()
            if self.client.has("NOTIFY"):
                await self.client.notify()
                await self.settle()

    async def serve(self, stopping: Callable[[], bool]) -> None:
        """Settle, IDLE, repeat, until ``stopping()``; an API caller may cut in between."""
        while not stopping():
            async with self.gate.lock:
                self.gate.rearm()
                await self.settle()
                if stopping() or self.gate.waiting:
                    continue
                await self._idle()

    async def _idle(self) -> None:
        async with self.client.idle() as idle, open_unwrapping_nursery() as nursery:

            async def end_when_woken() -> None:
                with trio.move_on_at(self._wake_at()):
                    await self.gate.woken()
                await idle.done()

            nursery.start_soon(end_when_woken)
            async for event in idle:
                if self.note(event):
                    await idle.done()
            nursery.cancel_scope.cancel()

    # -- what needs doing -------------------------------------------------------------

    def note(self, event: Event) -> bool:
        """Record what ``event`` makes dirty; whether it calls for leaving IDLE."""
        selected = self.selected
        if isinstance(event, Exists):
            if selected is not None:
                selected.exists = event.count
            self._dirty_selected = True
        elif isinstance(event, Expunge):
            if selected is not None:
                selected.exists = max(0, selected.exists - 1)
            self._dirty_selected = True
        elif isinstance(event, Vanished):
            if selected is not None and not event.earlier:
                selected.exists = max(0, selected.exists - len(event.uids))
            self._dirty_selected = True
        elif isinstance(event, Fetch):
            self._dirty_selected = True
        elif isinstance(event, Status):
            path = event.mailbox
            if selected is not None and path == selected.path:
                return False
            if path in self.plan.folders and status_changed(event, self.checkpoints.get(path)):
                self._dirty_folders.add(path)
            else:
                return False
        elif isinstance(event, ListResponse):
            self._dirty_list = True
        else:
            return False
        return True

    def touch(self, path: str) -> None:
        """Mark ``path`` as possibly changed (by an API call)."""
        if self.selected is not None and self.selected.path == path:
            self._dirty_selected = True
        elif path in self.plan.folders:
            self._dirty_folders.add(path)
        else:
            self._dirty_list = True

    async def settle(self) -> None:
        """Sync everything marked dirty; return with the main folder selected and clean."""
        while True:
            for event in self.client.take_unsolicited():
                self.note(event)
            if self._dirty_selected and self.selected is not None:
                self._dirty_selected = False
                await self._sync_selected()
            elif self._dirty_list or trio.current_time() >= self._next_sweep:
                await self._refresh_folders()
            elif self._dirty_folders:
                path = self._dirty_folders.pop()
                if path != self.plan.main:
                    await self._select_listed(path, read_only=True)
            elif self._away_from_main() and trio.current_time() >= self._linger_until:
                assert self.plan.main is not None
                await self._select_listed(self.plan.main, read_only=False)
            else:
                return

    # -- folders ------------------------------------------------------------------------

    async def _refresh_folders(self) -> None:
        self._dirty_list = False
        self._next_sweep = trio.current_time() + self._resync_delay
        client = self.client
        with_status = client.has("LIST-STATUS")
        items = LIST_STATUS_ITEMS + (("HIGHESTMODSEQ",) if client.has("CONDSTORE") else ())
        mailboxes = await client.list_mailboxes(status_items=items if with_status else ())
        previous, self.plan = self.plan, watch_plan(mailboxes, client.capabilities)
        await self._forget_deleted(previous)
        selected = self.selected.path if self.selected is not None else None
        empty_new: list[tuple[str, Status]] = []
        for path in self.plan.folders:
            if path == selected:
                continue
            status = _status_of(mailboxes, path)
            if status is None:
                status = await client.status(path, items) if path != self.plan.main else None
            if status is None or status_changed(status, self.checkpoints.get(path)):
                if path not in self.checkpoints and status is not None and status.messages == 0:
                    empty_new.append((path, status))
                else:
                    self._dirty_folders.add(path)
        await self._adopt_empty_folders(empty_new)

    async def _forget_deleted(self, previous: WatchPlan) -> None:
        gone = [path for path in self.checkpoints if path not in self.plan.folders]
        if not gone:
            return
        events = []
        for path in gone:
            checkpoint = self.checkpoints[path]
            info = previous.folders.get(path) or FolderInfo(path, None, checkpoint.special_use)
            events.append(
                folder_event(self.account_id, "mailboxDeleted", info, checkpoint.uidvalidity)
            )
        await self._sink.append(events)
        await self._store.save(self.account_id, [], removed=gone)
        for path in gone:
            del self.checkpoints[path]
            self._dirty_folders.discard(path)
        if self.selected is not None and self.selected.path in gone:
            self.selected = None

    async def _adopt_empty_folders(self, folders: list[tuple[str, Status]]) -> None:
        """New, empty folders need no SELECT: their checkpoints come from STATUS, and all
        of them cost one Redis call for their numbers, one for the events, one to save."""
        if not folders:
            return
        numbers = await self._store.folder_ids(
            self.account_id, [(path, status.uidvalidity or 0) for path, status in folders]
        )
        checkpoints = []
        events = []
        for (path, status), folder_id in zip(folders, numbers, strict=True):
            info = self.plan.folders[path]
            checkpoint = FolderCheckpoint(
                path=path,
                folder_id=folder_id,
                uidvalidity=status.uidvalidity or 0,
                uidnext=status.uidnext or 1,
                messages=0,
                highestmodseq=status.highestmodseq,
                unseen=0,
                uids=None if "QRESYNC" in self.client.enabled else EMPTY,
                flags={},
                special_use=info.special_use,
            )
            checkpoints.append(checkpoint)
            events.append(folder_event(self.account_id, "mailboxNew", info, checkpoint.uidvalidity))
        await self._sink.append(events)
        await self._store.save(self.account_id, checkpoints)
        self.checkpoints.update((checkpoint.path, checkpoint) for checkpoint in checkpoints)

    def _away_from_main(self) -> bool:
        selected = self.selected
        return self.plan.main is not None and (
            selected is None or selected.path != self.plan.main or selected.read_only
        )

    def _wake_at(self) -> float:
        """When IDLE must end on its own: the next sweep, or the end of a linger."""
        if self._away_from_main():
            return min(self._next_sweep, self._linger_until)
        return self._next_sweep

    async def select_for_api(self, path: str, *, read_only: bool) -> None:
        """Select ``path`` for a request handler, unless it already is (writable if asked).

        The watch then stays in that folder for ``LINGER`` seconds before going
        back to the main one, so a client paging through a folder does not pay
        for two SELECTs per request.
        """
        selected = self.selected
        if selected is None or selected.path != path or (selected.read_only and not read_only):
            await self._select(path, read_only=read_only)
        self._linger_until = trio.current_time() + LINGER

    async def _select_listed(self, path: str, *, read_only: bool) -> None:
        try:
            await self._select(path, read_only=read_only)
        except CommandFailed:
            self._dirty_list = True  # gone since it was listed, most likely

    async def _select(self, path: str, *, read_only: bool) -> None:
        client = self.client
        self.selected = None
        answer = await client.select(path, read_only=read_only, condstore=client.has("CONDSTORE"))
        info = self.plan.folders.get(path) or FolderInfo(path, None, None)
        self.selected = SelectedFolder(
            path=path,
            uidvalidity=answer.uidvalidity or 0,
            uidnext=answer.uidnext or 1,
            exists=answer.exists,
            highestmodseq=None if answer.nomodseq else answer.highestmodseq,
            special_use=info.special_use,
            read_only=answer.read_only,
        )
        self._dirty_selected = True

    async def _sync_selected(self) -> None:
        folder = self.selected
        assert folder is not None
        info = self.plan.folders.get(folder.path) or FolderInfo(folder.path, None, None)

        async def allocate(path: str, uidvalidity: int) -> int:
            return await self._store.folder_id(self.account_id, path, uidvalidity)

        sync = await sync_folder(
            self.client, folder, self.checkpoints.get(folder.path), allocate, self._notify_from
        )
        await self._announcer.announce(self.client, sync, info)
        self.checkpoints[folder.path] = sync.checkpoint
        folder.fresh = False


def _status_of(mailboxes: list[MailboxInfo], path: str) -> Status | None:
    for mailbox in mailboxes:
        if mailbox.name == path:
            return mailbox.status
    return None
