"""The response grammar: one framed response in, one typed event out.

Theory of operation: ``_parser`` hands over a ``FramedResponse``: the text of
the response with line endings removed, except that each literal announcement
``{n}`` is followed by a single ``\\n`` (the point where its bytes belong), and
the literals themselves, in order.  Reading is two-stage and never looks at a
byte twice in Python:

1. The first bytes pick the response kind: ``+`` continuation, ``*``
   untagged (then an optional number and a name), anything else a tag.
   Status responses split off their ``[CODE ...]`` with one regex and keep the
   rest as text (no tokenizing of human text).
2. Everything else after the name is tokenized by ``tokenize``: the rest of
   the response is decoded once (UTF-8) and one compiled master regex cuts it
   into tokens with a single ``findall`` (a C loop); a short Python loop
   dispatches on each token's first character to build generic nested
   values (lists, ``str`` atoms and strings, ``int`` numbers, ``bytes``
   literals, ``None`` for NIL).  A literal marker pulls the next literal
   without looking at its bytes.  Typed readers then walk those small lists
   to build events, with fast paths for the shapes real servers send
   (strings already ``str``) and slow paths for the odd ones.

Rules kept here:

* Tolerance where a real server is known to deviate (missing or extra spaces,
  lower-case keywords, NIL where a string belongs, unquoted mailbox names with
  spaces, brackets in flag atoms, invalid response codes read as text) and
  ``Malformed`` (turned into ``ProtocolError`` by the parser) for anything that
  cannot be given a meaning.
* Unknown untagged responses, response codes and FETCH items are kept in
  generic form, never rejected.
* No recursion deeper than ``MAX_NESTING`` parenthesised levels, so no input
  can exhaust the stack.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote_to_bytes

from ._events import (
    Acl,
    Capability,
    ContinuationRequest,
    Enabled,
    ESearch,
    Event,
    Exists,
    Expunge,
    Fetch,
    Flags,
    Id,
    ListResponse,
    ListRights,
    Metadata,
    MyRights,
    Namespace,
    Quota,
    QuotaRoot,
    Recent,
    Search,
    Sort,
    Status,
    TaggedResponse,
    Thread,
    UnknownUntagged,
    UntaggedCondition,
    Vanished,
)
from ._seqset import SequenceSet
from ._types import (
    EMPTY_PARAMS,
    Address,
    AddressGroup,
    AppendUid,
    BodySection,
    BodyStructure,
    CopyUid,
    Envelope,
    ListEntry,
    NamespaceEntry,
    ParamMap,
    QuotaResource,
    ResponseCode,
    ResponseCodeValue,
    StreamedLiteral,
    ThreadTree,
    Value,
)
from ._utf7 import decode_mailbox

__all__ = ["MAX_NESTING", "FramedResponse", "Malformed", "read_response", "streamed_item"]

MAX_NESTING = 100

# A generic value before it is made public: lists instead of tuples, and
# StreamedLiteral placeholders where a body literal was streamed.
Generic = Any


class Malformed(Exception):
    """The response cannot be read; ``position`` indexes ``FramedResponse.text``."""

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class FramedResponse:
    """One complete response as framed by the parser (see the module docstring)."""

    __slots__ = ("literal_ends", "literals", "next_literal", "text")

    def __init__(
        self,
        text: bytes,
        literals: list[bytes | StreamedLiteral],
        literal_ends: list[int],
    ) -> None:
        self.text = text
        self.literals = literals
        self.literal_ends = literal_ends  # text position right after each "{n}\n"
        self.next_literal = 0

    def raw(self) -> bytes:
        """The response with its literals put back (line endings normalised to LF)."""
        if not self.literals:
            return self.text
        pieces: list[bytes] = []
        position = 0
        for end, literal in zip(self.literal_ends, self.literals, strict=True):
            pieces.append(self.text[position:end])
            pieces.append(literal if isinstance(literal, bytes) else b"")
            position = end
        pieces.append(self.text[position:])
        return b"".join(pieces)


# -- tokens ---------------------------------------------------------------

# One token per match; ``findall`` skips what matches nothing (spaces, tabs
# and stray control characters).  Unterminated quotes and a "{" that is not
# a literal marker come out as one-character tokens and are errors.
_TOKEN = re.compile(
    "|".join(
        (
            r"[()]",
            r'"[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*"',  # a quoted string
            r"~?\{\d+\+?\}\n",  # a literal marker
            # a FETCH item with a section, whose brackets may hold spaces
            r"(?:[Bb][Oo][Dd][Yy]|[Bb][Ii][Nn][Aa][Rr][Yy](?:\.[Ss][Ii][Zz][Ee])?)"
            r"(?:\.[Pp][Ee][Ee][Kk])?\[[^\]\n]*\](?:<[0-9.]+>)?",
            r'[^\x00-\x20()"{\x7f]+',  # an atom (brackets allowed: "[Gmail]/Sent")
            r'["{]',  # an error
        )
    )
)
_ESCAPED = re.compile(r'\\(["\\])')  # other backslashes are kept, as imapclient does
_NONZERO_DIGITS = frozenset("123456789")


def text_of(raw: bytes) -> str:
    """Server bytes as text: UTF-8, or Latin-1 when that fails (see ``_types``)."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def tokenize(response: FramedResponse, position: int) -> list[Generic]:
    """Everything from ``position`` to the end as a list of generic values.

    Atoms and quoted strings become ``str``; the response is decoded once, as
    UTF-8.  If it is not valid UTF-8, each token is decoded on its own and a
    token that still is not valid UTF-8 stays ``bytes``, so that ``_raw``
    always gives back the exact wire bytes.  Literals stay ``bytes``.
    """
    raw = response.text[position:]
    try:
        text = raw.decode()
        exact = True
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        exact = False
    top: list[Generic] = []
    current = top
    stack: list[list[Generic]] = []
    literals = response.literals
    for token in _TOKEN.findall(text):
        first = token[0]
        if first == '"':
            if token == '"':
                raise _located("unterminated quoted string", text, exact, position)
            string = token[1:-1]
            if "\\" in string:
                string = _ESCAPED.sub(r"\1", string)
            current.append(string if exact else _recover(string))
        elif first == "(":
            if len(stack) >= MAX_NESTING:
                raise _located("lists nested too deeply", text, exact, position)
            inner: list[Generic] = []
            current.append(inner)
            stack.append(current)
            current = inner
        elif first == ")":
            if not stack:
                raise _located("unbalanced ')'", text, exact, position)
            current = stack.pop()
        elif token == "NIL" or (first in "Nn" and token.upper() == "NIL"):
            current.append(None)
        elif (first in _NONZERO_DIGITS or token == "0") and token.isdigit() and token.isascii():
            current.append(int(token))  # "0123" stays an atom: its zero would be lost
        elif token[-1] == "\n":
            index = response.next_literal
            if index >= len(literals):
                raise Malformed("literal marker without literal", position)
            response.next_literal = index + 1
            current.append(literals[index])
        elif first == "{":
            raise _located("'{' that is not a literal", text, exact, position)
        else:
            current.append(token if exact else _recover(token))
    if stack:
        raise _located("unclosed '('", text, exact, position)
    return top


def _located(message: str, text: str, exact: bool, position: int) -> Malformed:
    """``Malformed`` at the first token that breaks the list structure (error path only)."""
    opened: list[int] = []
    where = len(text)
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token == '"' or token == "{":
            where = match.start()
            break
        if token == "(":
            opened.append(match.start())
            if len(opened) > MAX_NESTING:
                where = match.start()
                break
        elif token == ")":
            if not opened:
                where = match.start()
                break
            opened.pop()
    else:
        if opened:
            where = opened[-1]
    offset = len(text[:where].encode()) if exact else where
    return Malformed(message, position + offset)


def _recover(token: str) -> str | bytes:
    """A token of a response that is not UTF-8: its own UTF-8 text, or its bytes."""
    raw = token.encode("latin-1")
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw


def public(value: Generic) -> Value:
    """A generic value as the public ``Value`` (lists become tuples)."""
    if type(value) is list:
        return tuple(public(item) for item in value)
    if isinstance(value, StreamedLiteral):
        return None
    result: Value = value
    return result


# -- scalar conversions -----------------------------------------------------


def _text(value: Generic) -> str:
    if type(value) is bytes:
        return text_of(value)
    if type(value) is str:
        return value
    if type(value) is int:
        return str(value)
    raise Malformed(f"expected a string, got {type(value).__name__}")


def _ntext(value: Generic) -> str | None:
    if value is None:
        return None
    return _text(value)


def _raw(value: Generic) -> bytes:
    if type(value) is bytes:
        return value
    if type(value) is str:
        return value.encode()
    if type(value) is int:
        return str(value).encode()
    raise Malformed(f"expected a string, got {type(value).__name__}")


def _number(value: Generic) -> int:
    if type(value) is int:
        return value
    if type(value) in (str, bytes) and value.isdigit() and value.isascii():
        return int(value)
    raise Malformed(f"expected a number, got {value!r:.40}")


def _list(value: Generic) -> list[Generic]:
    if type(value) is list:
        return value
    raise Malformed(f"expected a list, got {value!r:.40}")


def _sequence_set(value: Generic) -> SequenceSet:
    try:
        return SequenceSet.parse(_raw(value))
    except ValueError as error:
        raise Malformed(f"bad sequence set: {error}") from None


def _strings(value: Generic) -> tuple[str, ...]:
    if value is None:  # "FLAGS NIL" from a sloppy server: no flags
        return ()
    return tuple(item if type(item) is str else _text(item) for item in _list(value))


def _mailbox_name(raw: bytes, utf8_accept: bool) -> str:
    return text_of(raw) if utf8_accept else decode_mailbox(raw)


def _mailbox(values: list[Generic], utf8_accept: bool) -> tuple[str, bytes]:
    """A mailbox from one value, or from several atoms (a server forgot to quote spaces)."""
    if len(values) == 1:
        raw = _raw(values[0])
    elif values and all(type(value) in (str, int) for value in values):
        raw = b" ".join(_raw(value) for value in values)
    else:
        raise Malformed("expected a mailbox name")
    return _mailbox_name(raw, utf8_accept), raw


# -- dates --------------------------------------------------------------------

_DATE_TIME = re.compile(
    rb"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{1,2}):(\d\d):(\d\d) ?([+-])(\d\d)(\d\d)\s*\Z"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        b"jan feb mar apr may jun jul aug sep oct nov dec".split(),
        start=1,
    )
}
_ZONES: dict[int, timezone] = {}


def parse_internaldate(raw: bytes) -> datetime | None:
    """An IMAP date-time (``17-Jul-1996 02:44:25 -0700``) as an aware datetime, or None."""
    match = _DATE_TIME.match(raw)
    if match is None:
        return None
    day, month_name, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    month = _MONTHS.get(month_name.lower())
    if month is None:
        return None
    offset = int(zone_hours) * 60 + int(zone_minutes)
    if sign == b"-":
        offset = -offset
    zone = _ZONES.get(offset)
    if zone is None:
        if not -1440 < offset < 1440:
            return None
        zone = _ZONES[offset] = timezone(timedelta(minutes=offset))
    try:
        return datetime(
            int(year), month, int(day), int(hour), int(minute), int(second), tzinfo=zone
        )
    except ValueError:
        return None


# -- envelope -----------------------------------------------------------------


def _nt(value: Generic) -> str | None:
    """An nstring field that is not already ``str`` or None (the rare case)."""
    if type(value) is list:
        return None
    return _text(value)


def _addresses(value: Generic) -> tuple[Address | AddressGroup, ...]:
    if type(value) is not list:
        return ()
    result: list[Address | AddressGroup] = []
    group_name: str | None = None
    members: list[Address] = []
    for item in value:
        if type(item) is not list:
            continue
        if len(item) != 4:
            item = (item + [None] * 4)[:4]
        name, route, mailbox, host = item
        if host is None:
            if mailbox is not None and name is None:
                # group start: (NIL NIL "group name" NIL)
                if group_name is not None:
                    result.append(AddressGroup(group_name, tuple(members)))
                group_name = _text(mailbox)
                members = []
                continue
            if mailbox is None and group_name is not None:  # group end
                result.append(AddressGroup(group_name, tuple(members)))
                group_name = None
                continue
        address = Address(
            name if name is None or type(name) is str else _nt(name),
            route if route is None or type(route) is str else _nt(route),
            mailbox if mailbox is None or type(mailbox) is str else _nt(mailbox),
            host if host is None or type(host) is str else _nt(host),
        )
        if group_name is None:
            result.append(address)
        else:
            members.append(address)
    if group_name is not None:
        result.append(AddressGroup(group_name, tuple(members)))
    return tuple(result)


def read_envelope(value: Generic) -> Envelope:
    fields = _list(value)
    if len(fields) != 10:
        fields = (fields + [None] * 10)[:10]
    date, subject, from_, sender, reply_to, to, cc, bcc, in_reply_to, message_id = fields
    from_addresses = _addresses(from_)
    # Sender and Reply-To are most often copies of From: reuse the tuple.
    sender_addresses = from_addresses if sender == from_ else _addresses(sender)
    return Envelope(
        date if date is None or type(date) is str else _nt(date),
        subject if subject is None or type(subject) is str else _nt(subject),
        from_addresses,
        sender_addresses,
        from_addresses if reply_to == from_ else _addresses(reply_to),
        _addresses(to),
        _addresses(cc),
        _addresses(bcc),
        in_reply_to if in_reply_to is None or type(in_reply_to) is str else _nt(in_reply_to),
        message_id if message_id is None or type(message_id) is str else _nt(message_id),
    )


# -- body structure -------------------------------------------------------------

_RFC2231_NAME = re.compile(r"([^*]+)\*(?:(\d+)(\*)?)?")


def _decode_charset(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return text_of(data)


def _join_rfc2231(pairs: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Join ``name*0*``/``name*1`` continuations and decode ``charset'lang'%XX`` values."""
    values: dict[str, str] = {}
    pieces: dict[str, list[tuple[int, bool, str]]] = {}
    for name, value in pairs:
        match = _RFC2231_NAME.fullmatch(name)
        if match is None:
            values.setdefault(name, value)
            continue
        base, index, star = match.groups()
        extended = index is None or star is not None
        pieces.setdefault(base, []).append((int(index or 0), extended, value))
        values.setdefault(base, "")
    for base, parts in pieces.items():
        parts.sort(key=lambda part: part[0])
        charset = ""
        data = bytearray()
        for number, (_, extended, value) in enumerate(parts):
            if extended:
                if number == 0 and value.count("'") >= 2:
                    charset, _, value = value.split("'", 2)
                data += unquote_to_bytes(value)
            else:
                data += value.encode()
        values[base] = _decode_charset(bytes(data), charset)
    return tuple(values.items())


def _params(value: Generic) -> ParamMap:
    if type(value) is not list or not value:
        return EMPTY_PARAMS
    pairs = [
        (
            name.lower() if type(name) is str else _text(name).lower(),
            text if type(text) is str else (_nt(text) or "") if text is not None else "",
        )
        for name, text in zip(value[::2], value[1::2], strict=False)
    ]
    for name, _ in pairs:
        if "*" in name:
            return ParamMap(_join_rfc2231(pairs))
    return ParamMap(tuple(pairs))


def _disposition(value: Generic) -> tuple[str | None, ParamMap]:
    if value is None:
        return None, EMPTY_PARAMS
    if type(value) is not list:  # some servers send a bare string
        return _text(value).lower(), EMPTY_PARAMS
    if not value or value[0] is None:
        return None, EMPTY_PARAMS
    return _text(value[0]).lower(), _params(value[1] if len(value) > 1 else None)


def _language(value: Generic) -> tuple[str, ...] | None:
    if value is None:
        return None
    if type(value) is list:
        return tuple(_text(item) for item in value if item is not None)
    return (_text(value),)


def _lower(value: Generic, default: str) -> str:
    if type(value) is str:
        return value.lower()
    if value is None or type(value) is list:
        return default
    return _text(value).lower()


def _optional_number(value: Generic) -> int | None:
    if type(value) is int:
        return value
    if type(value) in (str, bytes) and value.isdigit() and value.isascii():
        return int(value)
    return None


_NO_EXTENSION: tuple[str | None, ParamMap, tuple[str, ...] | None, str | None, tuple[Value, ...]]
_NO_EXTENSION = (None, EMPTY_PARAMS, None, None, ())


def _extension(
    fields: list[Generic], start: int
) -> tuple[str | None, ParamMap, tuple[str, ...] | None, str | None, tuple[Value, ...]]:
    """disposition, its params, language, location and the rest, from ``fields[start:]``."""
    count = len(fields)
    if count <= start:
        return _NO_EXTENSION
    disposition_field = fields[start]
    language_field = fields[start + 1] if count > start + 1 else None
    location_field = fields[start + 2] if count > start + 2 else None
    if (
        disposition_field is None
        and language_field is None
        and location_field is None
        and count <= start + 3
    ):
        return _NO_EXTENSION
    disposition, disposition_params = _disposition(disposition_field)
    return (
        disposition,
        disposition_params,
        _language(language_field),
        None if type(location_field) is list else _ntext(location_field),
        tuple(public(item) for item in fields[start + 3 :]),
    )


def read_body(value: Generic, part: str) -> BodyStructure:
    """A BODY/BODYSTRUCTURE value as a tree; ``part`` is this node's number (see BodyStructure)."""
    fields = _list(value)
    if _is_multipart(fields):  # also ("MIXED" ("BOUNDARY" "x")): a multipart without parts
        return _read_multipart(fields, part)
    return _read_single(fields, part or "1")


def _is_multipart(fields: list[Generic]) -> bool:
    return bool(fields) and (type(fields[0]) is list or len(fields) < 2 or type(fields[1]) is list)


def _read_multipart(fields: list[Generic], part: str) -> BodyStructure:
    children: list[BodyStructure] = []
    count = len(fields)
    index = 0
    prefix = part + "." if part else ""
    while index < count and type(fields[index]) is list:
        index += 1
        children.append(read_body(fields[index - 1], prefix + str(index)))
    subtype = _lower(fields[index], "mixed") if index < count else "mixed"
    params = _params(fields[index + 1]) if index + 1 < count else EMPTY_PARAMS
    disposition, disposition_params, language, location, rest = _extension(fields, index + 2)
    return BodyStructure(
        part,
        "multipart",
        subtype,
        params,
        None,
        None,
        None,
        None,
        None,
        None,
        disposition,
        disposition_params,
        language,
        location,
        tuple(children),
        None,
        None,
        rest,
    )


def _read_single(fields: list[Generic], part: str) -> BodyStructure:
    count = len(fields)
    if count < 7:
        fields = fields + [None] * (7 - count)
        count = 7
    media_type = _lower(fields[0], "application")
    subtype = _lower(fields[1], "octet-stream" if fields[0] is None else "")
    envelope: Envelope | None = None
    message_body: BodyStructure | None = None
    lines: int | None = None
    extension_start = 7
    if media_type == "text":
        if count > 7 and type(fields[7]) is not list:
            lines = _optional_number(fields[7])
            extension_start = 8
    elif (
        media_type == "message"
        and subtype in ("rfc822", "global")
        and count > 8
        and type(fields[7]) is list
        and type(fields[8]) is list
    ):
        envelope = read_envelope(fields[7])
        inner = fields[8]
        inner_part = part if _is_multipart(inner) else part + ".1"
        message_body = read_body(inner, inner_part)
        lines = _optional_number(fields[9]) if count > 9 else None
        extension_start = 10
    md5 = fields[extension_start] if count > extension_start else None
    if md5 is not None and type(md5) is not str:
        md5 = _nt(md5)
    disposition, disposition_params, language, location, rest = _extension(
        fields, extension_start + 1
    )
    body_id, description, encoding = fields[3], fields[4], fields[5]
    size = fields[6]
    return BodyStructure(
        part,
        media_type,
        subtype,
        _params(fields[2]),
        body_id if body_id is None or type(body_id) is str else _nt(body_id),
        description if description is None or type(description) is str else _nt(description),
        None if encoding is None or type(encoding) is list else _text(encoding).lower(),
        size if type(size) is int else _optional_number(size),
        lines,
        md5,
        disposition,
        disposition_params,
        language,
        location,
        (),
        envelope,
        message_body,
        rest,
    )


# -- FETCH ------------------------------------------------------------------------

_SECTION_ITEM = re.compile(
    r"(BODY|BINARY\.SIZE|BINARY|RFC822)(?:\.PEEK)?\[([^\]]*)\](?:<(\d+)(?:\.\d+)?>)?",
    re.IGNORECASE,
)
_STREAMABLE_TAIL = re.compile(
    rb"(?<![A-Za-z0-9.\-])((?i:BODY|BINARY|RFC822(?:\.HEADER|\.TEXT)?))"
    rb"(?:\[([^\]]*)\](?:<(\d+)(?:\.\d+)?>)?)? ?~?\{\d+\+?\}\Z"
)
_FETCH_START = re.compile(rb"\*[ ]*(\d+)[ ]+[Ff][Ee][Tt][Cc][Hh][ (]")


def streamed_item(first_line: bytes, line: bytes) -> tuple[int, str, str, int | None] | None:
    """(seq, name, section, origin) if ``line`` ends announcing a FETCH body literal.

    ``first_line`` is the first line of the response (maybe ``line`` itself).
    """
    start = _FETCH_START.match(first_line)
    if start is None:
        return None
    match = _STREAMABLE_TAIL.search(line, max(0, len(line) - 4096))
    if match is None:
        return None
    name, section, origin = match.groups()
    name_text = name.decode("ascii").upper()
    if section is None and name_text in ("BODY", "BINARY"):
        return None
    return (
        int(start.group(1)),
        name_text,
        text_of(section or b""),
        None if origin is None else int(origin),
    )


def _section_data(value: Generic) -> bytes | StreamedLiteral | None:
    if value is None or type(value) is bytes or isinstance(value, StreamedLiteral):
        result: bytes | StreamedLiteral | None = value
        return result
    return _raw(value)


def _object_id(value: Generic) -> str | None:
    if type(value) is list:
        return _text(value[0]) if value and value[0] is not None else None
    return _ntext(value)


def read_fetch(response: FramedResponse, seq: int, position: int, utf8_accept: bool) -> Fetch:
    values = tokenize(response, position)
    if len(values) != 1 or type(values[0]) is not list:
        raise Malformed("FETCH data must be one parenthesised list", position)
    items = values[0]
    count = len(items)
    if count % 2:
        raise Malformed("FETCH item without a value", position)
    uid = flags = internaldate = size = envelope = body = modseq = None
    email_id = thread_id = gm_msgid = gm_thrid = gm_labels = preview = None
    sections: list[BodySection] = []
    binary_sizes: list[tuple[str, int]] = []
    extra: list[tuple[str, Value]] = []
    for index in range(0, count, 2):
        name = items[index]
        value = items[index + 1]
        if type(name) is not str:
            raise Malformed(f"expected a FETCH item name, got {name!r:.40}", position)
        key = name.upper()
        if key == "UID":
            uid = _number(value)
        elif key == "FLAGS":
            flags = _strings(value)
        elif key == "INTERNALDATE":
            internaldate = None if value is None else parse_internaldate(_raw(value))
            if internaldate is None:
                extra.append((key, public(value)))
        elif key == "RFC822.SIZE":
            size = None if value is None else _number(value)
        elif key == "ENVELOPE":
            envelope = read_envelope(value)
        elif key == "BODYSTRUCTURE" or key == "BODY":
            body = read_body(value, "")
        elif key == "MODSEQ":
            modseq = _number(_list(value)[0]) if type(value) is list else _number(value)
        elif "[" in key:
            match = _SECTION_ITEM.fullmatch(name)
            if match is None:
                extra.append((key, public(value)))
                continue
            item, section, origin = match.groups()
            item = item.upper()
            if item == "BINARY.SIZE":
                binary_sizes.append((section, _number(value)))
            else:
                sections.append(
                    BodySection(
                        item,
                        section,
                        None if origin is None else int(origin),
                        _section_data(value),
                    )
                )
        elif key in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
            sections.append(BodySection(key, "", None, _section_data(value)))
        elif key == "EMAILID":
            email_id = _object_id(value)
        elif key == "THREADID":
            thread_id = _object_id(value)
        elif key == "X-GM-MSGID":
            gm_msgid = _number(value)
        elif key == "X-GM-THRID":
            gm_thrid = _number(value)
        elif key == "X-GM-LABELS":
            gm_labels = tuple(_mailbox_name(_raw(label), utf8_accept) for label in _list(value))
        elif key == "PREVIEW" or key == "SNIPPET":
            if type(value) is list:  # draft forms: (FUZZY "text") / (FUZZY) "text"
                value = value[-1] if value else None
            preview = _ntext(value)
        else:
            extra.append((key, public(value)))
    return Fetch(
        seq,
        uid,
        flags,
        internaldate,
        size,
        envelope,
        body,
        modseq,
        email_id,
        thread_id,
        gm_msgid,
        gm_thrid,
        gm_labels,
        preview,
        tuple(sections),
        tuple(binary_sizes),
        tuple(extra),
    )


# -- response codes and status responses ------------------------------------------

# "[NAME]" or "[NAME argument]", then a space or the end ("[Gmail]/Sent" is text).
_CODE = re.compile(
    rb'\[([^\x00-\x20()"{\x7f\]]+)'
    rb'(?:\]|[ ]((?:"(?:[^"\\\r\n]|\\.)*"|\([^)\n]*\)|[^\]"(\n])*)\])(?=[ ]|\Z)'
)
_NUMBER_CODES = frozenset({"UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ"})
_LIST_CODES = frozenset({"PERMANENTFLAGS", "BADCHARSET"})


def _code_value(name: str, argument: bytes) -> ResponseCodeValue:
    if name == "CAPABILITY":
        return tuple(text_of(word).upper() for word in argument.split())
    words = argument.split()
    if name in _NUMBER_CODES and len(words) == 1:
        return _number(words[0])
    if name in _LIST_CODES:
        values = tokenize(FramedResponse(argument, [], []), 0)
        if len(values) == 1 and type(values[0]) is list:
            return _strings(values[0])
        return tuple(_text(value) for value in values)
    if name == "MODIFIED" and len(words) == 1:
        return _sequence_set(words[0])
    if name == "APPENDUID" and len(words) == 2:
        return AppendUid(_number(words[0]), _sequence_set(words[1]))
    if name == "COPYUID" and len(words) >= 3:
        return CopyUid(
            _number(words[0]),
            _sequence_set(words[1]),
            _sequence_set(words[2]),
            _ranges_in_order(words[1]),
            _ranges_in_order(words[2]),
        )
    if name == "MAILBOXID" and argument.startswith(b"(") and argument.endswith(b")"):
        return text_of(argument[1:-1].strip())
    raise Malformed("unexpected response code argument")


def _ranges_in_order(raw: bytes) -> tuple[tuple[int, int], ...]:
    """``5,3,7:9`` as ``((5, 5), (3, 3), (7, 9))``: the order a SequenceSet forgets."""
    ranges = []
    for item in raw.split(b","):
        start, _, end = item.partition(b":")
        ranges.append((_number(start), _number(end or start)))
    return tuple(ranges)


def _response_code(name: str, argument: bytes | None) -> ResponseCode:
    if argument is None or not argument.strip():
        return ResponseCode(name)
    try:
        return ResponseCode(name, _code_value(name, argument))
    except Malformed:
        return ResponseCode(name, text_of(argument.strip()))


def read_resp_text(text: bytes, position: int) -> tuple[ResponseCode | None, str]:
    """``[CODE ...] text`` from ``position``; an unreadable code is kept as text."""
    if text.startswith(b"[", position):
        match = _CODE.match(text, position)
        if match is not None:
            code = _response_code(text_of(match.group(1)).upper(), match.group(2))
            return code, text_of(text[match.end() :].strip())
    return None, text_of(text[position:].strip())


# -- untagged responses by name ----------------------------------------------

UntaggedReader = Callable[[FramedResponse, int, bool], Event]


def _read_condition(status: str) -> UntaggedReader:
    def read(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
        code, text = read_resp_text(response.text, position)
        return UntaggedCondition(status, code, text)

    return read


def _words(response: FramedResponse, position: int) -> tuple[str, ...]:
    return tuple(text_of(word).upper() for word in response.text[position:].split())


def _read_capability(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    return Capability(_words(response, position))


def _read_enabled(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    return Enabled(_words(response, position))


def _read_flags(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    values = tokenize(response, position)
    if len(values) != 1:
        raise Malformed("FLAGS needs one list", position)
    return Flags(_strings(values[0]))


_SPECIAL_USE = {
    flag.lower(): flag
    for flag in (
        "\\All",
        "\\Archive",
        "\\Drafts",
        "\\Flagged",
        "\\Important",
        "\\Junk",
        "\\Sent",
        "\\Trash",
    )
}
# XLIST (Gmail's pre-RFC 6154 spelling) and other common aliases.
_SPECIAL_USE |= {"\\allmail": "\\All", "\\spam": "\\Junk", "\\starred": "\\Flagged"}


def _read_list(command: str) -> UntaggedReader:
    def read(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
        values = tokenize(response, position)
        if len(values) < 3:
            raise Malformed(f"{command} needs flags, delimiter and name", position)
        flags = _strings(values[0])
        delimiter = _ntext(values[1])
        extended_items: list[Generic] = []
        names = values[2:]
        if len(names) > 1 and type(names[-1]) is list:
            extended_items = names[-1]
            names = names[:-1]
        name, raw_name = _mailbox(names, utf8_accept)
        special_use = None
        for flag in flags:
            special_use = _SPECIAL_USE.get(flag.lower())
            if special_use is not None:
                break
        extended: list[tuple[str, Value]] = []
        child_info: tuple[str, ...] = ()
        old_name: str | None = None
        for index in range(0, len(extended_items) - 1, 2):
            item = _text(extended_items[index]).upper()
            item_value = extended_items[index + 1]
            extended.append((item, public(item_value)))
            if item == "CHILDINFO" and type(item_value) is list:
                child_info = tuple(_text(info).upper() for info in item_value)
            elif item == "OLDNAME":
                old_raw = item_value[0] if type(item_value) is list and item_value else item_value
                old_name = _mailbox_name(_raw(old_raw), utf8_accept)
        entry = ListEntry(
            flags,
            delimiter,
            name,
            raw_name,
            special_use,
            child_info,
            old_name,
            tuple(extended),
        )
        return ListResponse(command, entry)

    return read


_STATUS_FIELDS = {
    "MESSAGES": "messages",
    "RECENT": "recent",
    "UIDNEXT": "uidnext",
    "UIDVALIDITY": "uidvalidity",
    "UNSEEN": "unseen",
    "HIGHESTMODSEQ": "highestmodseq",
    "SIZE": "size",
    "DELETED": "deleted",
}


def _read_status(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    values = tokenize(response, position)
    if len(values) < 2 or type(values[-1]) is not list:
        raise Malformed("STATUS needs a mailbox and a list", position)
    mailbox, raw_mailbox = _mailbox(values[:-1], utf8_accept)
    attributes = values[-1]
    fields: dict[str, Any] = {}
    items: list[tuple[str, Value]] = []
    for index in range(0, len(attributes) - 1, 2):
        name = _text(attributes[index]).upper()
        value = attributes[index + 1]
        items.append((name, public(value)))
        field = _STATUS_FIELDS.get(name)
        if field is not None:
            fields[field] = _number(value)
        elif name == "MAILBOXID":
            fields["mailbox_id"] = _object_id(value)
    return Status(mailbox, raw_mailbox, items=tuple(items), **fields)


def _numbers_and_modseq(
    response: FramedResponse, position: int
) -> tuple[tuple[int, ...], int | None]:
    numbers: list[int] = []
    modseq = None
    for value in tokenize(response, position):
        if type(value) is list:
            if len(value) == 2 and _text(value[0]).upper() == "MODSEQ":
                modseq = _number(value[1])
            else:
                raise Malformed("unexpected list in SEARCH/SORT", position)
        else:
            numbers.append(_number(value))
    return tuple(numbers), modseq


def _read_search(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    return Search(*_numbers_and_modseq(response, position))


def _read_sort(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    return Sort(*_numbers_and_modseq(response, position))


def _read_esearch(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    values = tokenize(response, position)
    index = 0
    tag = None
    if values and type(values[0]) is list:
        correlator = values[0]
        if len(correlator) >= 2 and _text(correlator[0]).upper() == "TAG":
            tag = _text(correlator[1])
        index = 1
    uid = False
    if index < len(values) and type(values[index]) is str and values[index].upper() == "UID":
        uid = True
        index += 1
    fields: dict[str, Any] = {}
    extra: list[tuple[str, Value]] = []
    if (len(values) - index) % 2:
        raise Malformed("ESEARCH return item without a value", position)
    for item_index in range(index, len(values), 2):
        name = _text(values[item_index]).upper()
        value = values[item_index + 1]
        if name in ("MIN", "MAX", "COUNT", "MODSEQ"):
            fields[name.lower()] = _number(value)
        elif name == "ALL":
            fields["all"] = _sequence_set(value)
        elif name == "PARTIAL" and type(value) is list and len(value) == 2:
            results = None if value[1] is None else _sequence_set(value[1])
            fields["partial"] = (_text(value[0]), results)
        else:
            extra.append((name, public(value)))
    return ESearch(tag, uid, extra=tuple(extra), **fields)


def _thread_tree(value: Generic) -> ThreadTree:
    members: list[int | ThreadTree] = []
    for item in _list(value):
        members.append(_thread_tree(item) if type(item) is list else _number(item))
    return tuple(members)


def _read_thread(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    return Thread(tuple(_thread_tree(value) for value in tokenize(response, position)))


def _read_vanished(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    values = tokenize(response, position)
    earlier = False
    if values and type(values[0]) is list:
        earlier = any(_text(item).upper() == "EARLIER" for item in values[0])
        values = values[1:]
    if len(values) != 1:
        raise Malformed("VANISHED needs one UID set", position)
    return Vanished(_sequence_set(values[0]), earlier)


def _read_id(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    values = tokenize(response, position)
    if not values or values[0] is None:
        return Id(None)
    pairs = _list(values[0])
    return Id(tuple((_text(pairs[i]), _ntext(pairs[i + 1])) for i in range(0, len(pairs) - 1, 2)))


def _namespaces(value: Generic, utf8_accept: bool) -> tuple[NamespaceEntry, ...]:
    if value is None:
        return ()
    entries: list[NamespaceEntry] = []
    for item in _list(value):
        fields = _list(item)
        if len(fields) < 2:
            raise Malformed("namespace needs a prefix and a delimiter")
        extensions: list[tuple[str, tuple[str, ...]]] = []
        for index in range(2, len(fields) - 1, 2):
            extensions.append((_text(fields[index]), _strings(fields[index + 1])))
        prefix = _mailbox_name(_raw(fields[0]), utf8_accept)
        entries.append(NamespaceEntry(prefix, _ntext(fields[1]), tuple(extensions)))
    return tuple(entries)


def _read_namespace(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    values = tokenize(response, position)
    if len(values) != 3:
        raise Malformed("NAMESPACE needs three namespace lists", position)
    return Namespace(
        _namespaces(values[0], utf8_accept),
        _namespaces(values[1], utf8_accept),
        _namespaces(values[2], utf8_accept),
    )


def _read_quota(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    values = tokenize(response, position)
    if len(values) != 2:
        raise Malformed("QUOTA needs a root and a list", position)
    triples = _list(values[1])
    resources = tuple(
        QuotaResource(_text(triples[i]).upper(), _number(triples[i + 1]), _number(triples[i + 2]))
        for i in range(0, len(triples) - 2, 3)
    )
    return Quota(_text(values[0]), resources)


def _read_quotaroot(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    values = tokenize(response, position)
    if not values:
        raise Malformed("QUOTAROOT needs a mailbox", position)
    mailbox = _mailbox_name(_raw(values[0]), utf8_accept)
    return QuotaRoot(mailbox, tuple(_text(value) for value in values[1:]))


def _read_metadata(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    values = tokenize(response, position)
    if len(values) < 2:
        raise Malformed("METADATA needs a mailbox and entries", position)
    mailbox = _mailbox_name(_raw(values[0]), utf8_accept)
    if len(values) == 2 and type(values[1]) is list:
        pairs = values[1]
        entries = tuple(
            (_text(pairs[i]), None if pairs[i + 1] is None else _raw(pairs[i + 1]))
            for i in range(0, len(pairs) - 1, 2)
        )
        return Metadata(mailbox, entries)
    return Metadata(mailbox, tuple((_text(value), None) for value in values[1:]), False)


def _read_acl(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    values = tokenize(response, position)
    if not values:
        raise Malformed("ACL needs a mailbox", position)
    mailbox = _mailbox_name(_raw(values[0]), utf8_accept)
    rest = values[1:]
    rights = tuple((_text(rest[i]), _text(rest[i + 1])) for i in range(0, len(rest) - 1, 2))
    return Acl(mailbox, rights)


def _read_listrights(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    values = tokenize(response, position)
    if len(values) < 3:
        raise Malformed("LISTRIGHTS needs a mailbox, an identifier and rights", position)
    mailbox = _mailbox_name(_raw(values[0]), utf8_accept)
    return ListRights(
        mailbox,
        _text(values[1]),
        _text(values[2]),
        tuple(_text(value) for value in values[3:]),
    )


def _read_myrights(response: FramedResponse, position: int, utf8_accept: bool) -> Event:
    values = tokenize(response, position)
    if len(values) != 2:
        raise Malformed("MYRIGHTS needs a mailbox and rights", position)
    return MyRights(_mailbox_name(_raw(values[0]), utf8_accept), _text(values[1]))


_UNTAGGED_READERS: dict[str, UntaggedReader] = {
    "OK": _read_condition("OK"),
    "NO": _read_condition("NO"),
    "BAD": _read_condition("BAD"),
    "PREAUTH": _read_condition("PREAUTH"),
    "BYE": _read_condition("BYE"),
    "CAPABILITY": _read_capability,
    "ENABLED": _read_enabled,
    "FLAGS": _read_flags,
    "LIST": _read_list("LIST"),
    "LSUB": _read_list("LSUB"),
    "XLIST": _read_list("XLIST"),
    "STATUS": _read_status,
    "SEARCH": _read_search,
    "SORT": _read_sort,
    "ESEARCH": _read_esearch,
    "THREAD": _read_thread,
    "VANISHED": _read_vanished,
    "ID": _read_id,
    "NAMESPACE": _read_namespace,
    "QUOTA": _read_quota,
    "QUOTAROOT": _read_quotaroot,
    "METADATA": _read_metadata,
    "ACL": _read_acl,
    "LISTRIGHTS": _read_listrights,
    "MYRIGHTS": _read_myrights,
}


# -- dispatch -------------------------------------------------------------------

_UNTAGGED = re.compile(rb"\*[ ]*(?:(\d+)[ ]+)?([^\x00-\x20()\[\]\"{]+)[ ]*")
_TAGGED = re.compile(rb"([^\x00-\x20]+)[ ]+([A-Za-z]+)(?![^\x00-\x20\[])[ ]*")
_TAGGED_STATUS = frozenset({"OK", "NO", "BAD"})


def read_response(response: FramedResponse, utf8_accept: bool) -> Event:
    """The event for one framed response; raises ``Malformed``."""
    text = response.text
    first = text[:1]
    if first == b"*":
        return _read_untagged(response, utf8_accept)
    if first == b"+":
        position = 2 if text.startswith(b"+ ") else 1
        code, message = read_resp_text(text, position)
        return ContinuationRequest(message, text[position:], code)
    match = _TAGGED.match(text)
    if match is None:
        raise Malformed("expected '*', '+' or a tag")
    status = match.group(2).decode("ascii").upper()
    if status not in _TAGGED_STATUS:
        raise Malformed("tagged response must be OK, NO or BAD", match.start(2))
    code, message = read_resp_text(text, match.end())
    return TaggedResponse(text_of(match.group(1)), status, code, message)


def _read_untagged(response: FramedResponse, utf8_accept: bool) -> Event:
    text = response.text
    match = _UNTAGGED.match(text)
    if match is None:
        raise Malformed("untagged response without a name", 1)
    number_text, name_bytes = match.groups()
    name = text_of(name_bytes).upper()
    position = match.end()
    if number_text is not None:
        number = int(number_text)
        if name == "FETCH":
            return read_fetch(response, number, position, utf8_accept)
        if name == "UIDFETCH":  # RFC 9586 UIDONLY: the number is the UID
            fetch = read_fetch(response, 0, position, utf8_accept)
            return replace(fetch, uid=number) if fetch.uid is None else fetch
        if name == "EXISTS":
            return Exists(number)
        if name == "EXPUNGE":
            return Expunge(number)
        if name == "RECENT":
            return Recent(number)
        return _unknown(response, name, number, position)
    reader = _UNTAGGED_READERS.get(name)
    if reader is None:
        if name in ("FETCH", "EXISTS", "EXPUNGE", "RECENT"):
            raise Malformed(f"{name} needs a number", position)
        return _unknown(response, name, None, position)
    return reader(response, position, utf8_accept)


def _unknown(response: FramedResponse, name: str, number: int | None, position: int) -> Event:
    try:
        values = tuple(public(value) for value in tokenize(response, position))
    except Malformed:
        values = ()
    return UnknownUntagged(name, number, values, response.raw())
