"""Encoding of command arguments into wire bytes (and into redacted log text).

Theory of operation: a command is a tag, a name and a tuple of *arguments*,
small frozen dataclasses that say what a value is (an atom, a string, a
mailbox name, a literal, a parenthesised list, a secret) rather than how it
is written.  How it is written depends on the session -- which literal forms
the server accepts, whether UTF-8 is enabled -- so the choice is made here, at
encoding time, from an ``EncodingOptions``.  The output is a tuple of chunks:
the first is sent at once, each later one only after the server's ``+``
continuation (it follows a synchronising literal ``{n}``, or is the SASL
initial response of a server without SASL-IR).  With LITERAL+ a command is a
single chunk.  Each chunk is a tuple of byte pieces to send back to back:
small pieces are joined, but a literal of ``PASSTHROUGH_MIN`` bytes or more
is its own piece, the caller's very object, so a 25 MB APPEND is never copied
into the command (as h11's ``send_with_data_passthrough``).

Rules this module keeps, so that nothing a caller passes can break out of its
argument or inject a line ending:

* ``Atom`` values are checked against ATOM-CHAR when constructed; the other
  verbatim token, ``Raw``, is only built inside imapproto from checked pieces
  and refuses CR, LF and NUL as a last line of defence.
* A ``String`` is written as an atom (only when ``atom_ok``, every byte is
  an ASTRING-CHAR and it is not ``NIL``), else as a quoted string (printable ASCII, or UTF-8 once
  UTF8=ACCEPT is enabled, at most ``QUOTED_MAX`` bytes, with ``"`` and ``\\``
  escaped), else as a literal.  CR and LF therefore always end up inside a
  literal, where they are plain data.  NUL is not allowed in any IMAP string
  (only in literal8) and raises ``LocalProtocolError``.
* A literal is non-synchronising (``{n+}``) when the server has LITERAL+, or
  LITERAL- and n <= 4096; otherwise it is synchronising and ends the chunk.
  ``LiteralData`` holding NUL is sent as literal8 (``~{n}``) when the server
  has BINARY, and refused otherwise.
* ``Secret`` arguments are encoded like what they wrap, but rendered as
  ``***`` by ``render_command``, which also elides literals longer than
  ``max_literal`` as ``{n bytes}``: its output is safe for protocol logs.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import TypeAlias

from ._errors import LocalProtocolError
from ._seqset import SequenceSet
from ._utf7 import encode_mailbox

__all__ = [
    "LITERAL_MINUS_MAX",
    "PASSTHROUGH_MIN",
    "QUOTED_MAX",
    "Argument",
    "Atom",
    "EncodingOptions",
    "LiteralData",
    "Mailbox",
    "MessageSet",
    "ParenList",
    "Raw",
    "SaslStart",
    "SearchCharset",
    "Secret",
    "String",
    "atom_or_quoted",
    "check_atom",
    "check_field_name",
    "check_flag",
    "encode_arguments",
    "encode_line",
    "number",
    "render_arguments",
    "sequence_set",
]

#: Largest number64 / mod-sequence value (RFC 9051, RFC 7162).
MAX_NUMBER64 = (1 << 63) - 1
#: Longest string sent as a quoted string; longer ones become literals.
QUOTED_MAX = 1024
#: Largest non-synchronising literal under LITERAL- (RFC 7888).
LITERAL_MINUS_MAX = 4096
#: Literals this large are passed through as their own piece instead of joined.
PASSTHROUGH_MIN = 64 * 1024

# ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * " \ ]
_ATOM = re.compile(rb"[^\x00-\x20\x7f-\xff(){%*\"\\\]]+")
# ASTRING-CHAR adds "]"; a list-mailbox also allows the wildcards "%" and "*".
_ASTRING_ATOM = re.compile(rb"[^\x00-\x20\x7f-\xff(){%*\"\\]+")
_LIST_ATOM = re.compile(rb"[^\x00-\x20\x7f-\xff(){\"\\]+")
_PRINTABLE_ASCII = re.compile(rb"[\x20-\x7e]*")
_NO_CONTROLS = re.compile(rb"[^\x00-\x1f\x7f]*")
_QUOTED_SPECIALS = re.compile(rb'(["\\])')
_LINE_BREAKERS = re.compile(rb"[\r\n\x00]")
_FIELD_NAME = re.compile(r"[\x21-\x39\x3b-\x7e]+")


def check_atom(value: str, what: str = "atom") -> bytes:
    """``value`` as atom bytes, or ``LocalProtocolError`` if it is not an IMAP atom."""
    raw = value.encode("utf-8", "surrogateescape")
    if not _ATOM.fullmatch(raw):
        raise LocalProtocolError(f"{what} {value!r} is not a valid IMAP atom")
    return raw


def check_flag(flag: str) -> bytes:
    """A flag (``\\Seen``, ``$Forwarded``) as bytes: an atom, optionally after one ``\\``."""
    if not isinstance(flag, str):
        raise LocalProtocolError(f"{flag!r} is not a flag")
    return (
        b"\\" + check_atom(flag[1:], "flag") if flag.startswith("\\") else check_atom(flag, "flag")
    )


def check_field_name(name: str) -> str:
    """An RFC 5322 header field name (printable ASCII except ``:``), or ``LocalProtocolError``."""
    if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
        raise LocalProtocolError(f"{name!r} is not a header field name")
    return name


@dataclass(frozen=True, slots=True)
class EncodingOptions:
    """What the session allows when writing commands (derived from capabilities)."""

    literal_plus: bool = False
    literal_minus: bool = False
    utf8: bool = False
    binary: bool = False
    sasl_ir: bool = False

    @classmethod
    def from_capabilities(
        cls, capabilities: Collection[str], enabled: Collection[str] = ()
    ) -> EncodingOptions:
        """Options for a server advertising ``capabilities`` (upper case) with ``enabled`` ones.

        IMAP4rev2 includes LITERAL-; UTF-8 is in use once UTF8=ACCEPT or
        IMAP4rev2 was enabled.
        """
        return cls(
            literal_plus="LITERAL+" in capabilities,
            literal_minus="LITERAL-" in capabilities or "IMAP4REV2" in capabilities,
            utf8="UTF8=ACCEPT" in enabled or "IMAP4REV2" in enabled,
            binary="BINARY" in capabilities,
            sasl_ir="SASL-IR" in capabilities,
        )


# -- arguments ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Atom:
    """An atom sent verbatim (``INBOX``, ``UTF8=ACCEPT``); checked on construction."""

    value: str

    def __post_init__(self) -> None:
        check_atom(self.value)


@dataclass(frozen=True, slots=True)
class Raw:
    """Bytes sent verbatim, assembled by imapproto itself from checked pieces.

    Not for callers: use ``Atom`` or ``String``.  Refuses CR, LF and NUL.
    """

    data: bytes

    def __post_init__(self) -> None:
        if not self.data or _LINE_BREAKERS.search(self.data):
            raise LocalProtocolError(f"invalid raw token {self.data!r}")


@dataclass(frozen=True, slots=True)
class String:
    """An IMAP string (``atom_ok``: an astring); ``str`` values are sent as UTF-8."""

    value: str | bytes
    atom_ok: bool = False

    def __post_init__(self) -> None:
        if b"\x00" in _utf8(self.value):
            raise LocalProtocolError("NUL is not allowed in an IMAP string")


@dataclass(frozen=True, slots=True)
class Mailbox:
    """A mailbox name (``pattern``: a LIST pattern where ``%`` and ``*`` are wildcards).

    A ``str`` is sent in modified UTF-7, or in UTF-8 once UTF8=ACCEPT is
    enabled; ``bytes`` are sent unchanged (a name exactly as the server sent it).
    """

    name: str | bytes
    pattern: bool = False

    def __post_init__(self) -> None:
        # Refuse NUL and lone surrogates now rather than at send time.
        if b"\x00" in _utf8(self.name):
            raise LocalProtocolError("NUL is not allowed in a mailbox name")


@dataclass(frozen=True, slots=True)
class LiteralData:
    """Bytes always sent as a literal (an APPEND message); literal8 if they hold NUL."""

    data: bytes


@dataclass(frozen=True, slots=True)
class ParenList:
    """A parenthesised, space-separated list of arguments."""

    items: tuple[Argument, ...]


@dataclass(frozen=True, slots=True)
class Secret:
    """An argument that must never be logged (a password, a token)."""

    value: Argument


@dataclass(frozen=True, slots=True)
class SearchCharset:
    """``CHARSET UTF-8``, written only while UTF8=ACCEPT is not enabled."""


#: A message set as builders accept it: a ``SequenceSet``, one number, numbers,
#: or IMAP text such as ``"1:*"`` (parsed and checked, never passed through).
MessageSet: TypeAlias = "SequenceSet | Iterable[int] | int | str"

Argument: TypeAlias = (
    "Atom | Raw | String | Mailbox | LiteralData | ParenList | Secret | SearchCharset"
)


@dataclass(frozen=True, slots=True)
class SaslStart:
    """How an AUTHENTICATE command starts (RFC 3501 6.2.2, RFC 4959 SASL-IR).

    ``initial_response`` is the client's first message (not base64), or None
    if the mechanism has none.  ``error_reply`` is the message a mechanism
    defines as the answer to a server error challenge (XOAUTH2: empty,
    OAUTHBEARER: ``\\x01``), or None when the caller must answer challenges.
    """

    mechanism: str
    initial_response: bytes | None = None
    error_reply: bytes | None = None

    def __post_init__(self) -> None:
        check_atom(self.mechanism, "SASL mechanism")


def number(value: int, what: str, minimum: int = 0, maximum: int = MAX_NUMBER64) -> Raw:
    """A number argument, checked to lie in ``minimum..maximum``."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise LocalProtocolError(
            f"{what} must be an integer in {minimum}..{maximum}, not {value!r}"
        )
    return Raw(b"%d" % value)


def sequence_set(ids: MessageSet, what: str = "message set") -> Raw:
    """A non-empty sequence set argument.

    ``ids``: a ``SequenceSet`` (which may reach ``*``), one number, numbers,
    or the IMAP text form (``"1:5,7"``, ``"1:*"``), which is parsed and checked.
    """
    try:
        if isinstance(ids, SequenceSet):
            seqset = ids
        elif isinstance(ids, str):
            seqset = SequenceSet.parse(ids, allow_star=True)
        elif isinstance(ids, int):
            seqset = SequenceSet.from_iterable((ids,))
        else:
            seqset = SequenceSet.from_iterable(ids)
    except (TypeError, ValueError) as exc:
        raise LocalProtocolError(f"invalid {what}: {exc}") from None
    if not seqset:
        raise LocalProtocolError(f"{what} is empty")
    return Raw(seqset.to_bytes())


# -- encoding -----------------------------------------------------------------


class _Output:
    """Collects the bytes of one command; subclasses decide on literals and secrets."""

    def __init__(self, options: EncodingOptions) -> None:
        self.options = options
        self.pieces: list[bytes] = []  # of the current chunk; joined once, at its end

    def write(self, data: bytes) -> None:
        self.pieces.append(data)

    def literal(self, data: bytes, binary: bool) -> None:
        raise NotImplementedError

    def secret(self, value: Argument) -> None:
        raise NotImplementedError

    def continuation_break(self) -> None:
        """What follows waits for the server's ``+``."""
        raise NotImplementedError


class _WireOutput(_Output):
    def __init__(self, options: EncodingOptions) -> None:
        super().__init__(options)
        self.chunk: list[bytes] = []  # sealed pieces of the current chunk
        self.chunks: list[tuple[bytes, ...]] = []

    def literal(self, data: bytes, binary: bool) -> None:
        options = self.options
        non_sync = options.literal_plus or (
            options.literal_minus and len(data) <= LITERAL_MINUS_MAX
        )
        prefix = b"~" if binary else b""
        if non_sync:
            self.write(b"%s{%d+}\r\n" % (prefix, len(data)))
        else:
            self.write(b"%s{%d}\r\n" % (prefix, len(data)))
            self.continuation_break()
        if len(data) >= PASSTHROUGH_MIN:
            self._seal()
            self.chunk.append(data)
        else:
            self.write(data)

    def secret(self, value: Argument) -> None:
        _write(self, value)

    def _seal(self) -> None:
        """Join the small pieces written so far into one piece of the chunk."""
        if self.pieces:
            self.chunk.append(b"".join(self.pieces))
            self.pieces.clear()

    def continuation_break(self) -> None:
        self._seal()
        self.chunks.append(tuple(self.chunk))
        self.chunk.clear()


class _LogOutput(_Output):
    def __init__(self, options: EncodingOptions, max_literal: int) -> None:
        super().__init__(options)
        self.max_literal = max_literal

    def literal(self, data: bytes, binary: bool) -> None:
        if len(data) > self.max_literal:
            self.write(b"{%d bytes}" % len(data))
        else:
            self.write(b"%s{%d}\r\n%s" % (b"~" if binary else b"", len(data), data))

    def secret(self, value: Argument) -> None:
        self.write(b"***")

    def continuation_break(self) -> None:
        pass


def _write_sequence(out: _Output, args: tuple[Argument, ...]) -> None:
    first = True
    for arg in args:
        if isinstance(arg, SearchCharset) and out.options.utf8:
            continue
        if not first:
            out.write(b" ")
        first = False
        _write(out, arg)


def _write(out: _Output, arg: Argument) -> None:
    if isinstance(arg, Raw):
        out.write(arg.data)
    elif isinstance(arg, Atom):
        out.write(arg.value.encode("ascii"))
    elif isinstance(arg, String):
        _write_string(out, _utf8(arg.value), _ASTRING_ATOM if arg.atom_ok else None)
    elif isinstance(arg, Mailbox):
        _write_string(
            out, _mailbox_bytes(arg.name, out.options), _LIST_ATOM if arg.pattern else _ASTRING_ATOM
        )
    elif isinstance(arg, LiteralData):
        binary = b"\x00" in arg.data
        if binary and not out.options.binary:
            raise LocalProtocolError("data holds NUL and the server lacks BINARY (literal8)")
        out.literal(arg.data, binary)
    elif isinstance(arg, ParenList):
        out.write(b"(")
        _write_sequence(out, arg.items)
        out.write(b")")
    elif isinstance(arg, Secret):
        out.secret(arg.value)
    else:  # SearchCharset, when UTF-8 is not enabled
        out.write(b"CHARSET UTF-8")


def _mailbox_bytes(name: str | bytes, options: EncodingOptions) -> bytes:
    if isinstance(name, bytes):
        return name
    if options.utf8:
        return name.encode("utf-8")
    return encode_mailbox(name)


def _write_string(out: _Output, value: bytes, atom: re.Pattern[bytes] | None) -> None:
    # NIL is a valid astring atom, but some servers (Dovecot) read it as nil.
    if atom is not None and atom.fullmatch(value) and value.upper() != b"NIL":
        out.write(value)
    elif len(value) <= QUOTED_MAX and _quotable(value, out.options.utf8):
        out.write(_quote(value))
    else:
        out.literal(value, binary=False)


def _quote(value: bytes) -> bytes:
    return b'"' + _QUOTED_SPECIALS.sub(rb"\\\1", value) + b'"'


def atom_or_quoted(value: str) -> bytes:
    """A printable-ASCII value as an atom if it is one, else quoted (never a literal)."""
    raw = value.encode("ascii", "replace")
    if not value.isascii() or not _PRINTABLE_ASCII.fullmatch(raw) or len(raw) > QUOTED_MAX:
        raise LocalProtocolError(f"{value!r} is not printable ASCII of at most {QUOTED_MAX} bytes")
    return raw if _ATOM.fullmatch(raw) else _quote(raw)


def _quotable(value: bytes, utf8: bool) -> bool:
    """Printable ASCII, or (under UTF8=ACCEPT) UTF-8 without control characters."""
    if _PRINTABLE_ASCII.fullmatch(value):
        return True
    if not utf8 or not _NO_CONTROLS.fullmatch(value):
        return False
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _utf8(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise LocalProtocolError(f"{value!r} holds a lone surrogate") from None


def _write_command(
    out: _Output,
    tag: str,
    name: str,
    args: tuple[Argument, ...],
    sasl: SaslStart | None,
) -> None:
    out.write(tag.encode("ascii") + b" " + name.encode("ascii"))
    if args:
        out.write(b" ")
        _write_sequence(out, args)
    if sasl is not None:
        out.write(b" " + sasl.mechanism.encode("ascii"))
        response = sasl.initial_response
        if response is not None:
            encoded = base64.b64encode(response)
            if out.options.sasl_ir:
                out.write(b" ")
                out.secret(Raw(encoded or b"="))
            else:
                out.write(b"\r\n")
                out.continuation_break()
                if encoded:
                    out.secret(Raw(encoded))


def encode_arguments(
    tag: str,
    name: str,
    args: tuple[Argument, ...],
    options: EncodingOptions,
    sasl: SaslStart | None = None,
) -> tuple[tuple[bytes, ...], ...]:
    """The wire chunks of ``tag name args`` (as pieces); each after the first waits for ``+``."""
    out = _WireOutput(options)
    _write_command(out, tag, name, args, sasl)
    out.write(b"\r\n")
    out.continuation_break()
    return tuple(out.chunks)


def render_arguments(
    tag: str,
    name: str,
    args: tuple[Argument, ...],
    options: EncodingOptions,
    sasl: SaslStart | None = None,
    max_literal: int = 64,
) -> str:
    """The command as it goes on the wire, secrets as ``***``, long literals elided.

    Line breaks (after a literal header) are shown as ``\\r\\n``.
    """
    out = _LogOutput(options, max_literal)
    _write_command(out, tag, name, args, sasl)
    text = b"".join(out.pieces).decode("utf-8", "backslashreplace")
    return text.replace("\r", "\\r").replace("\n", "\\n")


def encode_line(data: bytes) -> bytes:
    """A continuation response line (SASL): base64 of ``data`` and CRLF."""
    return base64.b64encode(data) + b"\r\n"
