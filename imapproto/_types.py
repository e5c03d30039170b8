"""Typed values that IMAP responses carry: addresses, envelopes, body structures ...

Theory of operation: everything here is data, never behaviour that touches the
wire.  The rules:

* Every type is a frozen, slotted dataclass (or a hashable tuple-backed
  mapping), so results are immutable, hashable and cheap to build.
  Sequences are tuples, never lists.
* ``NIL`` is ``None``; numbers are ``int`` (MODSEQ values are 63-bit).
* Server strings are decoded as UTF-8; a string that is not valid UTF-8 is
  decoded as Latin-1 instead (the same rule as ``_utf7.decode_mailbox``), so
  every result can be written to JSON, logs and Redis, and no byte is lost:
  ``s.encode("latin-1")`` gives back such a string's wire bytes.  Nothing is
  MIME-decoded here: an RFC 2047 encoded-word stays exactly as sent.
* Keywords that IMAP treats case-insensitively (media types, parameter names,
  response-code names, status item names) are normalised (lower case for MIME
  names, upper case for IMAP keywords); flags and mailbox names are kept as
  sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from ._seqset import SequenceSet

__all__ = [
    "Address",
    "AddressGroup",
    "AppendUid",
    "BodySection",
    "BodyStructure",
    "CopyUid",
    "Envelope",
    "ListEntry",
    "NamespaceEntry",
    "ParamMap",
    "QuotaResource",
    "ResponseCode",
    "ResponseCodeValue",
    "StreamedLiteral",
    "ThreadTree",
    "Value",
]

#: A generic IMAP value as found in an unknown response or extension data:
#: atoms and quoted strings are ``str`` (``bytes`` in the rare case that they
#: are not valid UTF-8), number atoms are ``int`` (except with a leading zero,
#: ``"0123"``), literals are ``bytes``, ``NIL`` is ``None`` and parenthesised
#: lists are tuples.
Value: TypeAlias = "int | str | bytes | tuple[Value, ...] | None"

#: A THREAD result (RFC 5256): a thread is a tuple whose members are message
#: numbers or nested tuples (sub-threads), e.g. ``(3, 6, (4, 23), (44, 7, 96))``.
ThreadTree: TypeAlias = "tuple[int | ThreadTree, ...]"


class ParamMap(Mapping[str, str]):
    """Immutable, hashable mapping of MIME parameters (names lower-cased).

    Lookup is case-insensitive.  A parameter whose value is NIL maps to ``""``.
    """

    __slots__ = ("_items",)

    def __init__(self, items: tuple[tuple[str, str], ...] = ()) -> None:
        self._items = items

    def __getitem__(self, key: str) -> str:
        key = key.lower()
        for name, value in self._items:
            if name == key:
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ParamMap):
            return self._items == other._items
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"ParamMap({dict(self._items)!r})"


EMPTY_PARAMS = ParamMap()


@dataclass(frozen=True, slots=True)
class Address:
    """One address of an ENVELOPE (RFC 3501 ``address``); fields raw, not MIME-decoded."""

    name: str | None
    route: str | None
    mailbox: str | None
    host: str | None

    @property
    def email(self) -> str:
        """``mailbox@host``, or whichever of the two is present."""
        if self.mailbox and self.host:
            return f"{self.mailbox}@{self.host}"
        return self.mailbox or self.host or ""


@dataclass(frozen=True, slots=True)
class AddressGroup:
    """An RFC 5322 group (``undisclosed-recipients:;``) with its member addresses."""

    name: str
    members: tuple[Address, ...]


@dataclass(frozen=True, slots=True)
class Envelope:
    """A FETCH ENVELOPE.  Strings are raw header values (RFC 2047 words kept)."""

    date: str | None
    subject: str | None
    from_: tuple[Address | AddressGroup, ...]
    sender: tuple[Address | AddressGroup, ...]
    reply_to: tuple[Address | AddressGroup, ...]
    to: tuple[Address | AddressGroup, ...]
    cc: tuple[Address | AddressGroup, ...]
    bcc: tuple[Address | AddressGroup, ...]
    in_reply_to: str | None
    message_id: str | None


@dataclass(frozen=True, slots=True)
class BodyStructure:
    """One node of a BODYSTRUCTURE (or BODY) tree.

    ``part`` is the IMAP part number used in ``BODY[<part>]``: a single-part
    message's body is ``"1"``; the children of a multipart are ``"1"``, ``"2"``
    ... below the top level and ``"<parent>.1"`` ... deeper.  A multipart node
    has no number of its own: its ``part`` is the number of the message it is
    the body of (``""`` at the top level, ``"3"`` for the body of a
    message/rfc822 part ``3``).  The body of a message/rfc822 part ``N``
    continues the numbering below ``N`` (``N.1``, ``N.2`` ...); that message's
    header and text are ``N.HEADER`` / ``N.TEXT`` (see ``header_section``).

    ``type``/``subtype`` are lower case.  ``params`` has RFC 2231 continuations
    joined and ``charset'lang'%XX`` values decoded.  Fields a server omitted
    are ``None``; extension data beyond what RFC 9051 defines is kept raw in
    ``extension``.
    """

    part: str
    type: str
    subtype: str
    params: ParamMap = EMPTY_PARAMS
    id: str | None = None
    description: str | None = None
    encoding: str | None = None
    size: int | None = None
    lines: int | None = None
    md5: str | None = None
    disposition: str | None = None
    disposition_params: ParamMap = EMPTY_PARAMS
    language: tuple[str, ...] | None = None
    location: str | None = None
    children: tuple[BodyStructure, ...] = ()
    envelope: Envelope | None = None
    message_body: BodyStructure | None = None
    extension: tuple[Value, ...] = ()

    @property
    def is_multipart(self) -> bool:
        return self.type == "multipart"

    @property
    def mime_type(self) -> str:
        return f"{self.type}/{self.subtype}"

    @property
    def header_section(self) -> str:
        """Section of this part's MIME header (``N.MIME``), or of the message header."""
        if self.message_body is not None:
            return f"{self.part}.HEADER"
        if not self.part:
            return "HEADER"
        return f"{self.part}.MIME"

    def walk(self) -> Iterator[BodyStructure]:
        """This node and all nodes below it, depth first, in part order."""
        yield self
        for child in self.children:
            yield from child.walk()
        if self.message_body is not None:
            yield from self.message_body.walk()


@dataclass(frozen=True, slots=True)
class StreamedLiteral:
    """Placeholder for a body literal that was delivered as FetchLiteralData events."""

    size: int


@dataclass(frozen=True, slots=True)
class BodySection:
    """One ``BODY[section]<origin>``, ``BINARY[section]`` or ``RFC822*`` FETCH item.

    ``name`` is ``BODY``, ``BINARY``, ``RFC822``, ``RFC822.HEADER`` or
    ``RFC822.TEXT`` (upper case); ``section`` is the text between the brackets
    as sent (``""`` for ``BODY[]`` and the RFC822 items); ``origin`` is the
    ``<n>`` of a partial fetch.  ``data`` is ``None`` for NIL, or a
    ``StreamedLiteral`` when the bytes were streamed.
    """

    name: str
    section: str
    origin: int | None
    data: bytes | StreamedLiteral | None


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One LIST/LSUB/XLIST mailbox.

    ``name`` is decoded from modified UTF-7 (unless the parser was told
    UTF8=ACCEPT is enabled); ``raw_name`` is the wire bytes.  ``special_use``
    is the first special-use attribute among ``flags`` in canonical spelling
    (``\\Sent``, ``\\Trash`` ...) or ``None``.  ``extended`` holds LIST-EXTENDED
    items (``CHILDINFO``, ``OLDNAME`` ...) with upper-case names;
    ``child_info`` and ``old_name`` are the decoded common ones.
    """

    flags: tuple[str, ...]
    delimiter: str | None
    name: str
    raw_name: bytes
    special_use: str | None = None
    child_info: tuple[str, ...] = ()
    old_name: str | None = None
    extended: tuple[tuple[str, Value], ...] = ()

    def has_flag(self, flag: str) -> bool:
        """Whether ``flag`` (e.g. ``\\Noselect``) is set; case-insensitive."""
        flag = flag.lower()
        return any(f.lower() == flag for f in self.flags)


@dataclass(frozen=True, slots=True)
class NamespaceEntry:
    """One namespace of a NAMESPACE response, with its extension items (RFC 2342/9051)."""

    prefix: str
    delimiter: str | None
    extensions: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class QuotaResource:
    """One resource of a QUOTA response (RFC 9208): ``STORAGE`` is in KiB."""

    name: str
    usage: int
    limit: int


@dataclass(frozen=True, slots=True)
class AppendUid:
    """``[APPENDUID uidvalidity uids]`` (RFC 4315)."""

    uidvalidity: int
    uids: SequenceSet


@dataclass(frozen=True, slots=True)
class CopyUid:
    """``[COPYUID uidvalidity source-uids destination-uids]`` (RFC 4315).

    ``source`` and ``destination`` are sets (sorted); the pairing is in the
    order the server wrote them, kept in ``source_order``/``destination_order``
    as ranges (``5,3`` is ``((5, 5), (3, 3))``), and walked by ``uid_map``.
    """

    uidvalidity: int
    source: SequenceSet
    destination: SequenceSet
    source_order: tuple[tuple[int, int], ...] = ()
    destination_order: tuple[tuple[int, int], ...] = ()

    def uid_map(self) -> Iterator[tuple[int, int]]:
        """(source UID, destination UID) pairs, in the server's order."""
        return zip(_walk(self.source_order), _walk(self.destination_order), strict=False)


def _walk(ranges: tuple[tuple[int, int], ...]) -> Iterator[int]:
    for start, end in ranges:
        yield from range(start, end + 1) if start <= end else range(start, end - 1, -1)


#: ``ResponseCode.value`` by code: None for flag-like codes (ALERT, READ-ONLY,
#: TRYCREATE, the RFC 5530 codes ...), int for UIDNEXT/UIDVALIDITY/UNSEEN/
#: HIGHESTMODSEQ, a tuple of str for CAPABILITY/PERMANENTFLAGS/BADCHARSET,
#: SequenceSet for MODIFIED, AppendUid/CopyUid, str for MAILBOXID and for the
#: raw argument text of a code this library does not know.
ResponseCodeValue: TypeAlias = (
    "int | str | tuple[str, ...] | SequenceSet | AppendUid | CopyUid | None"
)


@dataclass(frozen=True, slots=True)
class ResponseCode:
    """A ``[CODE value]`` of a status response; ``name`` is upper case."""

    name: str
    value: ResponseCodeValue = None
