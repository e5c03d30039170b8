"""ImapClient: the IMAP commands with typed results, on top of ``ImapSession``.

How it works: ``ImapClient`` is an ``ImapSession`` (same wire loop, lock,
timeouts and error rules) with one method per command.  A method builds its
``Command`` with ``imapproto.commands``, runs it with ``execute`` (or
``stream`` for FETCH) and reads its answer out of the untagged responses and
the tagged completion: ``list_mailboxes`` -> ``MailboxInfo``, ``select`` ->
``SelectedMailbox``, ``search`` -> ``SequenceSet``, ``append`` ->
``AppendUid`` ...  ``connect()`` yields one, logged in by the caller.

Rules it keeps:

* **Untagged data is never dropped.**  A method takes only the responses that
  answer it (LIST for a LIST, the FETCHes of its UIDs for a UID FETCH ...).
  Everything else -- EXISTS, EXPUNGE, VANISHED, flag changes, alerts -- goes to
  one queue, the session's pending events, in arrival order:
  ``take_unsolicited()`` hands them out, and so do ``execute``, ``stream``
  and ``idle`` (first, before their own events).  Events that were already
  queued when a method starts are set aside while it runs, so a method never
  mistakes an older event for its answer.  The queue is bounded
  (``MAX_PENDING_UNTAGGED``): a caller that never takes it gets
  ``ImapConnectionError``, never silent loss.  CAPABILITY and ENABLED data is
  absorbed into ``capabilities`` / ``enabled``.
* Message methods address messages by UID unless told ``uid=False``.
* FETCH results stream: ``fetch()`` yields each ``Fetch`` as it is read
  (with its body sections whole), ``fetch_body()`` yields one body as chunks
  and never holds it, and ``partial=(offset, length)`` pages through a huge part.
  Leaving the block early reads the rest of the answer and discards it (as
  closing a file would); unsolicited data among it is still queued.
* MOVE without the MOVE extension (or with ``use_move`` off) is UID COPY +
  UID STORE +FLAGS.SILENT (\\Deleted) + UID EXPUNGE, which needs UIDPLUS so that
  no other deleted message is expunged; without UIDPLUS it is refused.
* One task drives a client at a time (the session's lock keeps the wire in
  order, not the sorting of results between tasks).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from imapproto import _commands as commands
from imapproto import _search as search_keys
from imapproto._commands import Command, FetchSection, QresyncParams, StoreAction
from imapproto._connection import CommandCompleted
from imapproto._errors import ProtocolError
from imapproto._events import (
    Capability,
    Enabled,
    ESearch,
    Event,
    Exists,
    Fetch,
    FetchLiteralData,
    FetchLiteralEnd,
    FetchLiteralStart,
    Flags,
    Id,
    ListResponse,
    Namespace,
    Quota,
    QuotaRoot,
    Recent,
    Search,
    Status,
    UntaggedCondition,
    Vanished,
)
from imapproto._search import SearchKey
from imapproto._seqset import SequenceSet
from imapproto._types import (
    AppendUid,
    BodySection,
    CopyUid,
    ResponseCode,
    ResponseCodeValue,
    StreamedLiteral,
)
from imapproto._writers import MessageSet
from imapproto.client._errors import CommandFailed
from imapproto.client._protocollog import ProtocolLog
from imapproto.client._session import CommandStream, ImapSession, Timeouts, open_session
from imapproto.client._transport import Security, TlsOptions

__all__ = [
    "CLIENT_ID",
    "DEFAULT_ENABLE",
    "BodyStream",
    "FetchStream",
    "ImapClient",
    "MailboxInfo",
    "QuotaRoots",
    "SelectedMailbox",
    "StoreResult",
    "connect",
]

#: What ``identify()`` sends by default.
CLIENT_ID: Mapping[str, str | None] = {"name": "imapproto", "vendor": "trimap"}
#: What ``notify()`` asks for by default: every message change in the selected mailbox and
#: in every other personal mailbox, and mailboxes created, deleted or renamed.
NOTIFY_SELECTED_EVENTS = ("MessageNew", "MessageExpunge", "FlagChange")
NOTIFY_MAILBOX_EVENTS = ("MessageNew", "MessageExpunge", "FlagChange", "MailboxName")
#: What ``enable()`` turns on by default, where the server offers it.
DEFAULT_ENABLE = ("CONDSTORE", "QRESYNC", "UTF8=ACCEPT")

_EMPTY = SequenceSet.from_iterable(())
EventT = TypeVar("EventT", bound=Event)
StreamT = TypeVar("StreamT", bound="FetchStream | BodyStream")
_SELECT_CODES = frozenset(
    {"UIDVALIDITY", "UIDNEXT", "UNSEEN", "PERMANENTFLAGS", "HIGHESTMODSEQ", "NOMODSEQ", "MAILBOXID"}
)


@dataclass(frozen=True, slots=True)
class MailboxInfo:
    """One mailbox of LIST/LSUB: attributes, special use and (LIST-STATUS) its counters."""

    name: str
    raw_name: bytes
    delimiter: str | None
    flags: tuple[str, ...]
    special_use: str | None
    status: Status | None = None

    def has_flag(self, flag: str) -> bool:
        """Whether ``flag`` (e.g. ``\\Noselect``) is set; case-insensitive."""
        return flag.lower() in (f.lower() for f in self.flags)

    @property
    def selectable(self) -> bool:
        return not (self.has_flag("\\Noselect") or self.has_flag("\\NonExistent"))

    @property
    def subscribed(self) -> bool:
        """Set when LIST was asked RETURN (SUBSCRIBED), and for LSUB entries."""
        return self.has_flag("\\Subscribed")


@dataclass(frozen=True, slots=True)
class SelectedMailbox:
    """What SELECT/EXAMINE said about the mailbox.

    ``highestmodseq`` is None when the server said NOMODSEQ (``nomodseq``) or
    has no CONDSTORE.  After a QRESYNC select, ``vanished`` holds the UIDs
    expunged since the client's modseq (VANISHED (EARLIER)) and ``changed``
    the FETCHes (UID FLAGS MODSEQ) of messages changed since.
    """

    name: str | bytes
    read_only: bool
    exists: int
    recent: int | None
    uidvalidity: int | None
    uidnext: int | None
    highestmodseq: int | None
    nomodseq: bool
    flags: tuple[str, ...]
    permanent_flags: tuple[str, ...]
    first_unseen: int | None
    mailbox_id: str | None
    vanished: SequenceSet = _EMPTY
    changed: tuple[Fetch, ...] = ()


@dataclass(frozen=True, slots=True)
class StoreResult:
    """A STORE's FETCH responses, and (UNCHANGEDSINCE) the messages it did not change."""

    fetches: tuple[Fetch, ...]
    modified: SequenceSet = _EMPTY


@dataclass(frozen=True, slots=True)
class QuotaRoots:
    """GETQUOTAROOT: the mailbox's quota roots and each root's resources."""

    mailbox: str
    roots: tuple[str, ...]
    quotas: tuple[Quota, ...]


def _code(code: ResponseCode | None, name: str) -> ResponseCode | None:
    return code if code is not None and code.name == name else None


def _the(answer: list[Event], kind: type[EventT], command: str) -> EventT:
    """The one response of ``kind`` a command must bring, or ``ProtocolError``."""
    found = [event for event in answer if isinstance(event, kind)]
    if len(found) != 1:
        raise ProtocolError(f"{command}: expected one {kind.__name__} response, got {len(found)}")
    return found[0]


def _same_mailbox(wanted: str | bytes, name: str, raw_name: bytes) -> bool:
    return wanted == (raw_name if isinstance(wanted, bytes) else name)


class ImapClient(ImapSession):
    """An IMAP session with typed commands; see the module comment."""

    #: Use MOVE when the server has it (off: always COPY + STORE + UID EXPUNGE).
    use_move = True
    #: Use ESEARCH ``RETURN (ALL)`` when the server has it (off: plain SEARCH).
    use_esearch = True

    # -- the unsolicited queue ------------------------------------------------------

    def take_unsolicited(self) -> list[Event]:
        """Every untagged event no method consumed, oldest first (and forget them)."""
        return self._take_pending()

    def _unsolicited(self, event: Event) -> None:
        if not isinstance(event, Capability | Enabled):  # already in capabilities/enabled
            self._keep(event)

    @contextmanager
    def _set_aside_unsolicited(self) -> Iterator[None]:
        """Keep queued events out of the next result; they stay ahead of new ones."""
        earlier = self._take_pending()
        try:
            yield
        finally:
            self._pending.extendleft(reversed(earlier))

    async def _run_sorted(
        self, command: Command, answers: Callable[[Event], bool] = lambda event: False
    ) -> tuple[CommandCompleted, list[Event]]:
        """Run ``command``; the untagged events ``answers`` accepts, the rest queued."""
        with self._set_aside_unsolicited():
            result = await self.execute(command)
            mine = []
            for event in result.untagged:
                if answers(event):
                    mine.append(event)
                else:
                    self._unsolicited(event)
        return result.completed, mine

    # -- connection -----------------------------------------------------------------

    async def capability(self) -> frozenset[str]:
        """CAPABILITY, always sent (``refresh_capabilities`` only when unknown)."""
        await self._run_sorted(commands.capability())
        return self.capabilities

    async def identify(
        self, params: Mapping[str, str | None] | None = CLIENT_ID
    ) -> dict[str, str | None] | None:
        """ID (RFC 2971): send ``params``, return the server's (None for NIL)."""
        _, answer = await self._run_sorted(commands.id_(params), lambda e: isinstance(e, Id))
        server = _the(answer, Id, "ID").params
        return dict(server) if server is not None else None

    async def enable(self, *capabilities: str) -> frozenset[str]:
        """ENABLE ``capabilities`` (default: those of ``DEFAULT_ENABLE`` offered); all enabled."""
        wanted = capabilities or tuple(name for name in DEFAULT_ENABLE if self.has(name))
        missing = [name for name in wanted if name.upper() not in self.enabled]
        if missing:
            await self._run_sorted(commands.enable(*missing))
        return self.enabled

    async def noop(self) -> None:
        """NOOP: what the server had to say is in ``take_unsolicited()``."""
        await self._run_sorted(commands.noop())

    async def notify(
        self,
        selected_events: Sequence[str] = NOTIFY_SELECTED_EVENTS,
        mailbox_events: Sequence[str] = NOTIFY_MAILBOX_EVENTS,
        *,
        mailboxes: str = "personal",
        status: bool = True,
    ) -> None:
        """NOTIFY SET (RFC 5465); with ``status``, the STATUS of every watched mailbox, and
        later the pushed STATUS / LIST / FETCH ..., arrive as unsolicited events."""
        await self._run_sorted(
            commands.notify_set(selected_events, mailbox_events, mailboxes=mailboxes, status=status)
        )

    # -- mailboxes ------------------------------------------------------------------

    async def namespace(self) -> Namespace:
        """NAMESPACE (RFC 2342)."""
        _, answer = await self._run_sorted(commands.namespace(), lambda e: isinstance(e, Namespace))
        return _the(answer, Namespace, "NAMESPACE")

    async def list_mailboxes(
        self,
        reference: str | bytes = "",
        pattern: str | bytes = "*",
        *,
        status_items: Sequence[str] = (),
    ) -> list[MailboxInfo]:
        """LIST with special use and subscription (LIST-EXTENDED) and, with LIST-STATUS,
        ``status_items`` (e.g. ``("MESSAGES", "UIDNEXT")``) in ``MailboxInfo.status``."""
        return_: list[str] = []
        if self.has("LIST-EXTENDED"):
            return_.append("SUBSCRIBED")
            if self.has("SPECIAL-USE"):
                return_.append("SPECIAL-USE")
        with_status = bool(status_items) and self.has("LIST-STATUS")
        command = commands.list_(
            reference, pattern, return_=return_, status_items=status_items if with_status else ()
        )
        return await self._list(command, "LIST")

    async def lsub(
        self, reference: str | bytes = "", pattern: str | bytes = "*"
    ) -> list[MailboxInfo]:
        """LSUB: the subscribed mailboxes."""
        return await self._list(commands.lsub(reference, pattern), "LSUB")

    async def _list(self, command: Command, name: str) -> list[MailboxInfo]:
        def answers(event: Event) -> bool:
            return (isinstance(event, ListResponse) and event.command == name) or isinstance(
                event, Status
            )

        _, answer = await self._run_sorted(command, answers)
        statuses = {event.raw_mailbox: event for event in answer if isinstance(event, Status)}
        flags_added = ("\\Subscribed",) if name == "LSUB" else ()
        return [
            MailboxInfo(
                name=event.entry.name,
                raw_name=event.entry.raw_name,
                delimiter=event.entry.delimiter,
                flags=event.entry.flags + flags_added,
                special_use=event.entry.special_use,
                status=statuses.get(event.entry.raw_name),
            )
            for event in answer
            if isinstance(event, ListResponse)
        ]

    async def status(self, mailbox: str | bytes, items: Sequence[str] = ()) -> Status:
        """STATUS; default items MESSAGES UIDNEXT UIDVALIDITY UNSEEN (+ HIGHESTMODSEQ)."""
        if not items:
            items = ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN")
            if self.has("CONDSTORE"):
                items += ("HIGHESTMODSEQ",)

        def answers(event: Event) -> bool:
            return isinstance(event, Status) and _same_mailbox(
                mailbox, event.mailbox, event.raw_mailbox
            )

        _, answer = await self._run_sorted(commands.status(mailbox, items), answers)
        return _the(answer, Status, "STATUS")

    async def select(
        self,
        mailbox: str | bytes,
        *,
        read_only: bool = False,
        condstore: bool = False,
        qresync: QresyncParams | None = None,
    ) -> SelectedMailbox:
        """SELECT (EXAMINE when ``read_only``), optionally with CONDSTORE or QRESYNC."""
        build = commands.examine if read_only else commands.select
        with self._set_aside_unsolicited():
            result = await self.execute(build(mailbox, condstore=condstore, qresync=qresync))
            events = list(result.untagged)
            # With QRESYNC, [CLOSED] ends the previous mailbox's responses.
            for index, event in enumerate(events):
                if isinstance(event, UntaggedCondition) and _code(event.code, "CLOSED"):
                    for earlier in events[: index + 1]:
                        self._unsolicited(earlier)
                    events = events[index + 1 :]
                    break
            return self._selected(mailbox, result.completed, events, qresync is not None)

    def _selected(
        self, mailbox: str | bytes, completed: CommandCompleted, events: list[Event], qresync: bool
    ) -> SelectedMailbox:
        flags: tuple[str, ...] = ()
        exists = 0
        recent: int | None = None
        codes: dict[str, ResponseCodeValue] = {}
        vanished = _EMPTY
        changed: list[Fetch] = []
        for event in events:
            if isinstance(event, Flags):
                flags = event.flags
            elif isinstance(event, Exists):
                exists = event.count
            elif isinstance(event, Recent):
                recent = event.count
            elif (
                isinstance(event, UntaggedCondition)
                and event.code is not None
                and (event.code.name in _SELECT_CODES)
            ):
                codes[event.code.name] = event.code.value
            elif isinstance(event, Vanished) and event.earlier and qresync:
                vanished = vanished.union(event.uids)
            elif isinstance(event, Fetch) and qresync:
                changed.append(event)
            else:
                self._unsolicited(event)

        def number(name: str) -> int | None:
            value = codes.get(name)
            return value if isinstance(value, int) else None

        permanent_flags = codes.get("PERMANENTFLAGS")
        mailbox_id = codes.get("MAILBOXID")
        return SelectedMailbox(
            name=mailbox,
            read_only=_code(completed.code, "READ-ONLY") is not None,
            exists=exists,
            recent=recent,
            uidvalidity=number("UIDVALIDITY"),
            uidnext=number("UIDNEXT"),
            highestmodseq=number("HIGHESTMODSEQ"),
            nomodseq="NOMODSEQ" in codes,
            flags=flags,
            permanent_flags=permanent_flags if isinstance(permanent_flags, tuple) else (),
            first_unseen=number("UNSEEN"),
            mailbox_id=mailbox_id if isinstance(mailbox_id, str) else None,
            vanished=vanished,
            changed=tuple(changed),
        )

    async def create(self, mailbox: str | bytes, special_use: str | None = None) -> None:
        """CREATE (with ``USE (special_use)`` when given, RFC 6154)."""
        await self._run_sorted(commands.create(mailbox, special_use))

    async def delete(self, mailbox: str | bytes) -> None:
        """DELETE."""
        await self._run_sorted(commands.delete(mailbox))

    async def rename(self, old: str | bytes, new: str | bytes) -> None:
        """RENAME."""
        await self._run_sorted(commands.rename(old, new))

    async def subscribe(self, mailbox: str | bytes) -> None:
        """SUBSCRIBE."""
        await self._run_sorted(commands.subscribe(mailbox))

    async def unsubscribe(self, mailbox: str | bytes) -> None:
        """UNSUBSCRIBE."""
        await self._run_sorted(commands.unsubscribe(mailbox))

    async def getquotaroot(self, mailbox: str | bytes) -> QuotaRoots:
        """GETQUOTAROOT (RFC 9208): the roots and their QUOTA resources."""
        _, answer = await self._run_sorted(
            commands.getquotaroot(mailbox), lambda e: isinstance(e, QuotaRoot | Quota)
        )
        roots = [event for event in answer if isinstance(event, QuotaRoot)]
        return QuotaRoots(
            mailbox=roots[0].mailbox if roots else str(mailbox),
            roots=tuple(root for event in roots for root in event.roots),
            quotas=tuple(event for event in answer if isinstance(event, Quota)),
        )

    async def append(
        self,
        mailbox: str | bytes,
        message: bytes,
        flags: Iterable[str] = (),
        internal_date: datetime | None = None,
    ) -> AppendUid | None:
        """APPEND (LITERAL+ when offered; the message is sent, never copied); APPENDUID if any."""
        completed, _ = await self._run_sorted(
            commands.append(mailbox, message, flags, internal_date)
        )
        code = _code(completed.code, "APPENDUID")
        return code.value if code is not None and isinstance(code.value, AppendUid) else None

    # -- the selected mailbox -------------------------------------------------------

    async def close(self) -> None:
        """CLOSE: expunge silently and leave the mailbox."""
        await self._run_sorted(commands.close())

    async def unselect(self) -> None:
        """UNSELECT (RFC 3691): leave the mailbox without expunging."""
        await self._run_sorted(commands.unselect())

    async def expunge(self, uids: MessageSet | None = None) -> None:
        """EXPUNGE, or UID EXPUNGE ``uids``; the EXPUNGE/VANISHED responses are queued."""
        await self._run_sorted(commands.expunge(uids))

    async def search(self, criteria: SearchKey, *, uid: bool = True) -> SequenceSet:
        """[UID] SEARCH: ESEARCH ``RETURN (ALL)`` when offered, plain SEARCH otherwise."""
        esearch = self.use_esearch and self.has("ESEARCH")
        command = commands.search(criteria, uid=uid, return_=("ALL",) if esearch else None)
        completed, answer = await self._run_sorted(
            command, lambda e: isinstance(e, Search | ESearch)
        )
        found = _EMPTY
        for event in answer:
            if isinstance(event, Search):
                found = found.union(SequenceSet.from_iterable(event.ids))
            elif isinstance(event, ESearch) and event.tag in (None, completed.tag) and event.all:
                found = found.union(event.all)
        return found

    async def store(
        self,
        ids: MessageSet,
        action: StoreAction,
        flags: Iterable[str],
        *,
        uid: bool = True,
        silent: bool = True,
        unchangedsince: int | None = None,
        gmail_labels: bool = False,
    ) -> StoreResult:
        """[UID] STORE; with ``unchangedsince`` the messages left alone are in ``modified``.

        With ``gmail_labels`` (servers with X-GM-EXT-1) ``flags`` are Gmail labels.
        """
        command = commands.store(
            ids,
            action,
            flags,
            uid=uid,
            silent=silent,
            unchangedsince=unchangedsince,
            gmail_labels=gmail_labels,
        )
        completed, answer = await self._run_sorted(command, lambda e: isinstance(e, Fetch))
        code = _code(completed.code, "MODIFIED")
        modified = code.value if code is not None else None
        return StoreResult(
            fetches=tuple(event for event in answer if isinstance(event, Fetch)),
            modified=modified if isinstance(modified, SequenceSet) else _EMPTY,
        )

    async def copy(
        self, ids: MessageSet, mailbox: str | bytes, *, uid: bool = True
    ) -> CopyUid | None:
        """[UID] COPY; COPYUID when the server has UIDPLUS."""
        completed, _ = await self._run_sorted(commands.copy(ids, mailbox, uid=uid))
        return _copyuid(completed.code)

    async def move(
        self, ids: MessageSet, mailbox: str | bytes, *, uid: bool = True
    ) -> CopyUid | None:
        """[UID] MOVE, or COPY + STORE \\Deleted + UID EXPUNGE without it; COPYUID if any."""
        if self.use_move and self.has("MOVE"):
            copyuid: list[CopyUid] = []

            def answers(event: Event) -> bool:
                found = isinstance(event, UntaggedCondition) and _copyuid(event.code)
                if found:
                    copyuid.append(found)
                return bool(found)

            completed, _ = await self._run_sorted(commands.move(ids, mailbox, uid=uid), answers)
            return _copyuid(completed.code) or (copyuid[0] if copyuid else None)
        if not self.has("UIDPLUS"):
            raise CommandFailed("MOVE", "NO", None, "the server has neither MOVE nor UIDPLUS")
        uids = ids if uid else await self.search(search_keys.messages(ids), uid=True)
        copied = await self.copy(uids, mailbox)
        await self.store(uids, "add", ["\\Deleted"])
        await self.expunge(uids)
        return copied

    def fetch(
        self,
        ids: MessageSet,
        items: Sequence[str | FetchSection] | str | FetchSection,
        *,
        uid: bool = True,
        changedsince: int | None = None,
        vanished: bool = False,
    ) -> AbstractAsyncContextManager[FetchStream]:
        """[UID] FETCH as a context: iterate it for each ``Fetch`` (and, with ``vanished``,
        ``Vanished`` (EARLIER)) as it arrives::

            async with client.fetch("1:*", ["UID", "FLAGS", "ENVELOPE"]) as messages:
                async for message in messages:
                    ...
        """
        command = commands.fetch(ids, items, uid=uid, changedsince=changedsince, vanished=vanished)
        wanted = _as_set(ids) if uid else None
        return self._fetch_stream(
            command, lambda events: FetchStream(self, events, wanted, vanished, uid)
        )

    def fetch_body(
        self,
        uid: int,
        part: str = "",
        *,
        partial: tuple[int, int] | None = None,
        binary: bool = False,
    ) -> AbstractAsyncContextManager[BodyStream]:
        """UID FETCH of one body part (``""``: the whole message) as a stream of byte chunks.

        ``partial=(offset, length)`` fetches that window only (``BODY[part]<offset.length>``),
        to page through a huge part; ``binary`` asks for the decoded content (RFC 3516).
        Nothing is yielded when the message does not exist.
        """
        section = FetchSection(part=part, partial=partial, binary=binary)
        command = commands.fetch(uid, [section], uid=True)
        return self._fetch_stream(command, lambda events: BodyStream(self, events, uid, section))

    @asynccontextmanager
    async def _fetch_stream(
        self, command: Command, wrap: Callable[[CommandStream], StreamT]
    ) -> AsyncIterator[StreamT]:
        """Run a FETCH; what the caller left unread is read and discarded, not kept."""
        with self._set_aside_unsolicited():
            async with self.stream(command) as events:
                results = wrap(events)
                yield results
                async for _ in results:
                    pass


def _as_set(ids: MessageSet) -> SequenceSet:
    if isinstance(ids, SequenceSet):
        return ids
    if isinstance(ids, int):
        return SequenceSet.from_iterable([ids])
    if isinstance(ids, str | bytes):
        return SequenceSet.parse(ids, allow_star=True)
    return SequenceSet.from_iterable(ids)


def _copyuid(code: ResponseCode | None) -> CopyUid | None:
    found = _code(code, "COPYUID")
    return found.value if found is not None and isinstance(found.value, CopyUid) else None


class FetchStream:
    """The FETCH responses of one command as they arrive; see ``ImapClient.fetch``.

    A body literal the parser streamed is joined back into its ``Fetch``
    (use ``fetch_body`` to stream it instead).  FETCHes that do not answer
    the command (in a UID FETCH: no UID, or a UID not asked for, such as a flag
    change of another message) go to the unsolicited queue.  A pushed flag
    change of a message asked for may still come as a separate ``Fetch`` of
    that UID: callers wanting one answer per message merge by UID.
    """

    def __init__(
        self,
        client: ImapClient,
        events: CommandStream,
        wanted: SequenceSet | None,
        vanished: bool,
        uid: bool = True,
    ) -> None:
        self._client = client
        self._events = events
        self._wanted = wanted  # the UIDs asked for (UID FETCH), None for FETCH by number
        self._uid = uid
        self._vanished = vanished
        self._literal: list[bytes] = []
        self._literals: list[bytes] = []  # streamed literals of the FETCH being read

    def __aiter__(self) -> FetchStream:
        return self

    async def __anext__(self) -> Fetch | Vanished:
        async for event in self._events:
            if isinstance(event, FetchLiteralStart):
                self._literal = []
            elif isinstance(event, FetchLiteralData):
                self._literal.append(event.data)
            elif isinstance(event, FetchLiteralEnd):
                self._literals.append(b"".join(self._literal))
                self._literal = []
            elif isinstance(event, Fetch) and self._answers(event):
                return self._with_literals(event)
            elif isinstance(event, Vanished) and event.earlier and self._vanished:
                return event
            else:
                self._client._unsolicited(event)
        raise StopAsyncIteration

    def _answers(self, event: Fetch) -> bool:
        """A UID FETCH is answered by FETCHes of the UIDs it asked for; anything else
        (a flag change of another message pushed meanwhile) is unsolicited."""
        if not self._uid:
            return True
        if event.uid is None or self._wanted is None:
            return False
        # "n:*" also names the highest UID when it is below n (RFC 3501 6.4.8).
        return self._wanted.has_star or event.uid in self._wanted

    def _with_literals(self, event: Fetch) -> Fetch:
        if not self._literals:
            return event
        literals = iter(self._literals)
        self._literals = []
        sections = tuple(
            dataclasses.replace(section, data=next(literals))
            if isinstance(section.data, StreamedLiteral)
            else section
            for section in event.sections
        )
        return dataclasses.replace(event, sections=sections)


class BodyStream:
    """One body part as byte chunks; see ``ImapClient.fetch_body``."""

    def __init__(
        self, client: ImapClient, events: CommandStream, uid: int, section: FetchSection
    ) -> None:
        self._client = client
        self._events = events
        self._uid = uid
        self._section = section
        #: The part's size in bytes once known (the literal's size).
        self.size: int | None = None

    def __aiter__(self) -> BodyStream:
        return self

    async def __anext__(self) -> bytes:
        async for event in self._events:
            if isinstance(event, FetchLiteralStart):
                self.size = event.size
            elif isinstance(event, FetchLiteralData):
                return event.data
            elif isinstance(event, FetchLiteralEnd):
                continue
            elif isinstance(event, Fetch) and event.uid == self._uid and event.sections:
                data = self._small_body(
                    event.section(self._section.response_name, self._section.section)
                )
                if data:
                    return data
            else:
                self._client._unsolicited(event)
        raise StopAsyncIteration

    def _small_body(self, section: BodySection | None) -> bytes | None:
        """The body when it came inside the FETCH (below the streaming threshold)."""
        if section is None or not isinstance(section.data, bytes):
            return None
        self.size = len(section.data)
        return section.data


def connect(
    host: str,
    port: int,
    security: Security = Security.TLS,
    *,
    tls: TlsOptions | None = None,
    timeouts: Timeouts | None = None,
    protocol_log: ProtocolLog | None = None,
    allow_plaintext: bool = False,
) -> AbstractAsyncContextManager[ImapClient]:
    """An ``ImapClient``, connected: greeting read, STARTTLS done if asked; LOGOUT on exit."""
    return open_session(
        ImapClient,
        host,
        port,
        security,
        tls=tls,
        timeouts=timeouts,
        protocol_log=protocol_log,
        allow_plaintext=allow_plaintext,
    )
