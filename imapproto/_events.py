"""Events: what the response parser turns server bytes into.

Theory of operation (the contract other modules rely on):

* ``ResponseParser.next_event()`` returns exactly one of the classes below, or
  the ``NEED_DATA`` sentinel when it needs more bytes.  After the end of the
  stream was fed (``feed(b"")``) and every response was returned, it returns
  ``ConnectionClosed`` once, and ``NEED_DATA`` after that.  Every server response
  (one line plus its literals) becomes exactly one event, except that a large
  body literal inside a FETCH is announced *before* its FETCH event by
  ``FetchLiteralStart``, one or more ``FetchLiteralData`` and one
  ``FetchLiteralEnd``; the FETCH event that follows carries a
  ``StreamedLiteral(size)`` placeholder for that item.
* Every event is a frozen, slotted dataclass; sequences are tuples; NIL is
  None.  Untagged responses that this module has no class for become
  ``UnknownUntagged`` (name, generic values, raw bytes): never an error.
* Events never hold a reference to the parser's buffer.
* Field names and types are a stable API: add fields only with defaults.

Status responses: a tagged ``OK``/``NO``/``BAD`` completes a command
(``TaggedResponse``); untagged ``OK``/``NO``/``BAD``/``PREAUTH``/``BYE`` are
``UntaggedCondition``; ``+`` is ``ContinuationRequest``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from ._types import (
    BodySection,
    BodyStructure,
    Envelope,
    ListEntry,
    NamespaceEntry,
    QuotaResource,
    ResponseCode,
    ThreadTree,
    Value,
)

if TYPE_CHECKING:
    from ._seqset import SequenceSet

__all__ = [
    "NEED_DATA",
    "Acl",
    "Capability",
    "ConnectionClosed",
    "ContinuationRequest",
    "ESearch",
    "Enabled",
    "Event",
    "Exists",
    "Expunge",
    "Fetch",
    "FetchLiteralData",
    "FetchLiteralEnd",
    "FetchLiteralStart",
    "Flags",
    "Id",
    "ListResponse",
    "ListRights",
    "Metadata",
    "MyRights",
    "Namespace",
    "NeedData",
    "Quota",
    "QuotaRoot",
    "Recent",
    "Search",
    "Sort",
    "Status",
    "TaggedResponse",
    "Thread",
    "UnknownUntagged",
    "UntaggedCondition",
    "Vanished",
]


class NeedData(enum.Enum):
    """Type of the ``NEED_DATA`` sentinel (an enum so ``is`` and typing both work)."""

    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return "NEED_DATA"


#: Returned by ``ResponseParser.next_event()`` until enough bytes were fed.
NEED_DATA: Final = NeedData.NEED_DATA


@dataclass(frozen=True, slots=True)
class Event:
    """Base class of all parser events."""


@dataclass(frozen=True, slots=True)
class ConnectionClosed(Event):
    """The stream ended (``feed(b"")``) cleanly between two responses."""


@dataclass(frozen=True, slots=True)
class ContinuationRequest(Event):
    """``+ text`` (or ``+ base64`` during AUTHENTICATE): ``raw`` is everything after ``+ ``."""

    text: str
    raw: bytes
    code: ResponseCode | None = None


@dataclass(frozen=True, slots=True)
class TaggedResponse(Event):
    """The completion of a command: ``tag OK|NO|BAD [code] text`` (status upper case)."""

    tag: str
    status: str
    code: ResponseCode | None
    text: str


@dataclass(frozen=True, slots=True)
class UntaggedCondition(Event):
    """``* OK|NO|BAD|PREAUTH|BYE [code] text`` (status upper case, text may be empty)."""

    status: str
    code: ResponseCode | None
    text: str


@dataclass(frozen=True, slots=True)
class Capability(Event):
    """``* CAPABILITY ...``; names upper-cased (``IMAP4REV1``, ``AUTH=PLAIN``)."""

    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Enabled(Event):
    """``* ENABLED ...`` (RFC 5161); names upper-cased."""

    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Flags(Event):
    """``* FLAGS (...)``: the flags defined in the selected mailbox, as sent."""

    flags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Exists(Event):
    """``* n EXISTS``."""

    count: int


@dataclass(frozen=True, slots=True)
class Recent(Event):
    """``* n RECENT``."""

    count: int


@dataclass(frozen=True, slots=True)
class Expunge(Event):
    """``* n EXPUNGE``: message sequence number ``seq`` is gone."""

    seq: int


@dataclass(frozen=True, slots=True)
class Fetch(Event):
    """``* seq FETCH (...)``: only the items the server sent are set (others None/empty).

    A ``* uid UIDFETCH (...)`` response (RFC 9586 UIDONLY) is a Fetch with
    ``seq`` 0 and ``uid`` set from its number.

    ``size`` is RFC822.SIZE.  ``internaldate`` is an aware datetime (None if
    absent or unparseable; an unparseable value is kept in ``extra``).
    ``bodystructure`` holds BODY or BODYSTRUCTURE.  ``sections`` are the
    BODY[...]/BINARY[...]/RFC822* items in wire order; ``binary_sizes`` the
    BINARY.SIZE[section] items.  Items this class has no field for are in
    ``extra`` as (upper-case name, value).
    """

    seq: int
    uid: int | None = None
    flags: tuple[str, ...] | None = None
    internaldate: datetime | None = None
    size: int | None = None
    envelope: Envelope | None = None
    bodystructure: BodyStructure | None = None
    modseq: int | None = None
    email_id: str | None = None
    thread_id: str | None = None
    gm_msgid: int | None = None
    gm_thrid: int | None = None
    gm_labels: tuple[str, ...] | None = None
    preview: str | None = None
    sections: tuple[BodySection, ...] = ()
    binary_sizes: tuple[tuple[str, int], ...] = ()
    extra: tuple[tuple[str, Value], ...] = ()

    def section(self, name: str = "BODY", section: str = "") -> BodySection | None:
        """The first ``name[section]`` item, or None.

        Matching ignores case and quotes (``HEADER.FIELDS ("From")`` is
        ``HEADER.FIELDS (FROM)``).
        """
        name = name.upper()
        section = section.upper().replace('"', "")
        for item in self.sections:
            if item.name == name and item.section.upper().replace('"', "") == section:
                return item
        return None


@dataclass(frozen=True, slots=True)
class FetchLiteralStart(Event):
    """A large body literal begins: ``size`` bytes of FETCH ``seq`` item ``name[section]<origin>``.

    ``name``/``section``/``origin`` are as in ``BodySection``.
    """

    seq: int
    name: str
    section: str
    origin: int | None
    size: int


@dataclass(frozen=True, slots=True)
class FetchLiteralData(Event):
    """The next non-empty chunk of the literal announced by ``FetchLiteralStart``."""

    data: bytes


@dataclass(frozen=True, slots=True)
class FetchLiteralEnd(Event):
    """The streamed literal is complete; the rest of its FETCH response follows."""


@dataclass(frozen=True, slots=True)
class ListResponse(Event):
    """``* LIST|LSUB|XLIST (flags) delimiter name [extended]``; ``command`` upper case."""

    command: str
    entry: ListEntry


@dataclass(frozen=True, slots=True)
class Status(Event):
    """``* STATUS mailbox (...)``: typed fields for the well-known items.

    ``items`` holds every item as sent (upper-case name, int or generic value)
    in wire order, including the ones with a typed field.
    """

    mailbox: str
    raw_mailbox: bytes
    messages: int | None = None
    recent: int | None = None
    uidnext: int | None = None
    uidvalidity: int | None = None
    unseen: int | None = None
    highestmodseq: int | None = None
    size: int | None = None
    deleted: int | None = None
    mailbox_id: str | None = None
    items: tuple[tuple[str, Value], ...] = ()


@dataclass(frozen=True, slots=True)
class Search(Event):
    """``* SEARCH n ...`` (``(MODSEQ n)`` of RFC 7162 in ``modseq``)."""

    ids: tuple[int, ...]
    modseq: int | None = None


@dataclass(frozen=True, slots=True)
class ESearch(Event):
    """``* ESEARCH [(TAG "t")] [UID] items`` (RFC 4731/9051, PARTIAL of RFC 9394).

    ``partial`` is (range as sent, SequenceSet of results or None for NIL).
    Unknown return items are in ``extra``.
    """

    tag: str | None
    uid: bool
    min: int | None = None
    max: int | None = None
    count: int | None = None
    all: SequenceSet | None = None
    modseq: int | None = None
    partial: tuple[str, SequenceSet | None] | None = None
    extra: tuple[tuple[str, Value], ...] = ()


@dataclass(frozen=True, slots=True)
class Sort(Event):
    """``* SORT n ...`` (RFC 5256)."""

    ids: tuple[int, ...]
    modseq: int | None = None


@dataclass(frozen=True, slots=True)
class Thread(Event):
    """``* THREAD (..)(..)`` (RFC 5256): one ``ThreadTree`` per thread."""

    threads: tuple[ThreadTree, ...]


@dataclass(frozen=True, slots=True)
class Vanished(Event):
    """``* VANISHED [(EARLIER)] uids`` (RFC 7162)."""

    uids: SequenceSet
    earlier: bool


@dataclass(frozen=True, slots=True)
class Id(Event):
    """``* ID (...)`` (RFC 2971): field/value pairs as sent, or None for ``ID NIL``."""

    params: tuple[tuple[str, str | None], ...] | None


@dataclass(frozen=True, slots=True)
class Namespace(Event):
    """``* NAMESPACE personal other shared`` (RFC 2342); NIL is an empty tuple."""

    personal: tuple[NamespaceEntry, ...]
    other: tuple[NamespaceEntry, ...]
    shared: tuple[NamespaceEntry, ...]


@dataclass(frozen=True, slots=True)
class Quota(Event):
    """``* QUOTA root (resource usage limit ...)`` (RFC 9208)."""

    root: str
    resources: tuple[QuotaResource, ...]


@dataclass(frozen=True, slots=True)
class QuotaRoot(Event):
    """``* QUOTAROOT mailbox root ...`` (RFC 9208)."""

    mailbox: str
    roots: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Metadata(Event):
    """``* METADATA mailbox (entry value ...)`` or the unsolicited ``entry ...`` form (RFC 5464).

    In the unsolicited form every value is None and ``values_present`` is False.
    """

    mailbox: str
    entries: tuple[tuple[str, bytes | None], ...]
    values_present: bool = True


@dataclass(frozen=True, slots=True)
class Acl(Event):
    """``* ACL mailbox identifier rights ...`` (RFC 4314)."""

    mailbox: str
    rights: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ListRights(Event):
    """``* LISTRIGHTS mailbox identifier required optional...`` (RFC 4314)."""

    mailbox: str
    identifier: str
    required: str
    optional: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MyRights(Event):
    """``* MYRIGHTS mailbox rights`` (RFC 4314)."""

    mailbox: str
    rights: str


@dataclass(frozen=True, slots=True)
class UnknownUntagged(Event):
    """Any other untagged response: ``* [number] NAME values``.

    ``name`` is upper case; ``values`` is the rest parsed generically (see
    ``Value``) or ``()`` if it could not be tokenized; ``raw`` is the response
    as received, literals included, without the final line ending (the line
    ending after each literal announcement ``{n}`` is written as LF).
    """

    name: str
    number: int | None
    values: tuple[Value, ...]
    raw: bytes
