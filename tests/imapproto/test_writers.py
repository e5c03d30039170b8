"""Encoding primitives: how each argument kind is written, and what is refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imapproto._errors import LocalProtocolError
from imapproto._seqset import STAR, SequenceSet
from imapproto._writers import (
    LITERAL_MINUS_MAX,
    PASSTHROUGH_MIN,
    QUOTED_MAX,
    Argument,
    Atom,
    EncodingOptions,
    LiteralData,
    Mailbox,
    ParenList,
    Raw,
    SaslStart,
    SearchCharset,
    Secret,
    String,
    atom_or_quoted,
    check_atom,
    check_flag,
    encode_arguments,
    encode_line,
    number,
    render_arguments,
    sequence_set,
)

PLAIN = EncodingOptions()
LITERAL_PLUS = EncodingOptions(literal_plus=True)
LITERAL_MINUS = EncodingOptions(literal_minus=True)
UTF8 = EncodingOptions(utf8=True)


def encoded(
    name: str, args: tuple[Argument, ...], options: EncodingOptions, sasl: SaslStart | None = None
) -> tuple[bytes, ...]:
    """The wire chunks of ``A1 name args``, each chunk's pieces joined."""
    return tuple(b"".join(chunk) for chunk in encode_arguments("A1", name, args, options, sasl))


def wire(*args: Argument, options: EncodingOptions = PLAIN) -> tuple[bytes, ...]:
    return encoded("X", args, options)


def test_options_from_capabilities() -> None:
    caps = {"IMAP4REV1", "LITERAL+", "BINARY", "SASL-IR"}
    assert EncodingOptions.from_capabilities(caps) == EncodingOptions(
        literal_plus=True, binary=True, sasl_ir=True
    )
    rev2 = EncodingOptions.from_capabilities({"IMAP4REV2"}, {"IMAP4REV2"})
    assert rev2.literal_minus and rev2.utf8
    assert EncodingOptions.from_capabilities({"UTF8=ACCEPT"}).utf8 is False
    assert EncodingOptions.from_capabilities({"UTF8=ACCEPT"}, {"UTF8=ACCEPT"}).utf8


@pytest.mark.parametrize("bad", ["", "a b", "a(", "x)", "{1}", "a%", "a*", 'a"', "a\\", "a]", "\r",
                                 "é", "a\x00", "a\x7f"])  # fmt: skip
def test_atom_refuses_specials(bad: str) -> None:
    with pytest.raises(LocalProtocolError):
        Atom(bad)
    with pytest.raises(LocalProtocolError):
        check_atom(bad)


def test_flags_are_atoms_after_one_backslash() -> None:
    assert check_flag("\\Seen") == b"\\Seen" and check_flag("$Forwarded") == b"$Forwarded"
    for bad in ("", "\\", "\\\\Seen", "a b", "Seen\r\n", "(x", "é", 7):
        with pytest.raises(LocalProtocolError):
            check_flag(bad)  # type: ignore[arg-type]


def test_atom_and_raw() -> None:
    assert wire(Atom("UTF8=ACCEPT"), Atom("[x")) == (b"A1 X UTF8=ACCEPT [x\r\n",)
    for bad in (b"", b"a\r\nb", b"a\nb", b"\x00"):
        with pytest.raises(LocalProtocolError):
            Raw(bad)


@pytest.mark.parametrize(
    ("value", "atom_ok", "expected"),
    [
        ("joe", True, b"joe"),
        ("joe", False, b'"joe"'),
        ("", True, b'""'),
        ("a]b", True, b"a]b"),  # "]" is an ASTRING-CHAR
        ("a b", True, b'"a b"'),
        ('say "hi" \\o/', True, b'"say \\"hi\\" \\\\o/"'),
        ("50%", True, b'"50%"'),
        ("NIL", True, b'"NIL"'),  # a valid astring atom, but servers may read nil
        ("nil", True, b'"nil"'),
        ("tab\there", True, b"{8}\r\n"),
        ("line\r\nbreak", True, b"{11}\r\n"),
        ("Grüße", True, b"{7}\r\n"),
        (b"\xff", True, b"{1}\r\n"),
    ],
)
def test_string_forms(value: str | bytes, atom_ok: bool, expected: bytes) -> None:
    first = wire(String(value, atom_ok))[0]
    assert first == b"A1 X " + expected + (b"" if expected.endswith(b"\r\n") else b"\r\n")


def test_long_strings_become_literals() -> None:
    at_limit = "x" * (QUOTED_MAX - 1) + " "
    assert wire(String(at_limit))[0].startswith(b'A1 X "x')
    too_long = at_limit + "y"
    assert wire(String(too_long)) == (b"A1 X {%d}\r\n" % len(too_long), too_long.encode() + b"\r\n")


def test_utf8_quoted_only_under_utf8_accept() -> None:
    assert wire(String("Grüße"), options=UTF8) == ('A1 X "Grüße"\r\n'.encode(),)
    assert wire(String("a\r\nü"), options=UTF8) == (b"A1 X {5}\r\n", "a\r\nü\r\n".encode())
    assert wire(String(b"\xff\xfe"), options=UTF8) == (b"A1 X {2}\r\n", b"\xff\xfe\r\n")


def test_nul_is_refused_in_strings_and_mailboxes() -> None:
    for make in (lambda: String("a\x00"), lambda: String(b"\x00"), lambda: Mailbox(b"a\x00")):
        with pytest.raises(LocalProtocolError):
            make()
    with pytest.raises(LocalProtocolError):
        String("lone \udc80 surrogate")


def test_literal_forms() -> None:
    data = b"x" * LITERAL_MINUS_MAX
    assert wire(LiteralData(data)) == (b"A1 X {4096}\r\n", data + b"\r\n")
    assert wire(LiteralData(data), options=LITERAL_PLUS) == (b"A1 X {4096+}\r\n" + data + b"\r\n",)
    assert wire(LiteralData(data), options=LITERAL_MINUS) == (b"A1 X {4096+}\r\n" + data + b"\r\n",)
    bigger = data + b"y"
    assert wire(LiteralData(bigger), options=LITERAL_MINUS) == (
        b"A1 X {4097}\r\n",
        bigger + b"\r\n",
    )
    assert wire(LiteralData(bigger), options=LITERAL_PLUS) == (
        b"A1 X {4097+}\r\n" + bigger + b"\r\n",
    )


def test_literal8_needs_binary() -> None:
    with pytest.raises(LocalProtocolError):
        wire(LiteralData(b"a\x00b"))
    assert wire(LiteralData(b"a\x00b"), options=EncodingOptions(binary=True)) == (
        b"A1 X ~{3}\r\n",
        b"a\x00b\r\n",
    )
    both = EncodingOptions(binary=True, literal_plus=True)
    assert wire(LiteralData(b"a\x00b"), options=both) == (b"A1 X ~{3+}\r\na\x00b\r\n",)


def test_several_sync_literals_give_several_chunks() -> None:
    chunks = wire(String("a\r\n"), ParenList((String("b\nc"), Atom("d"))))
    assert chunks == (b"A1 X {3}\r\n", b"a\r\n ({3}\r\n", b"b\nc d)\r\n")


def test_mailbox_encoding() -> None:
    assert wire(Mailbox("INBOX")) == (b"A1 X INBOX\r\n",)
    assert wire(Mailbox("Données")) == (b"A1 X Donn&AOk-es\r\n",)
    assert wire(Mailbox("Données"), options=UTF8) == ('A1 X "Données"\r\n'.encode(),)
    assert wire(Mailbox("My Stuff")) == (b'A1 X "My Stuff"\r\n',)
    assert wire(Mailbox("")) == (b'A1 X ""\r\n',)
    assert wire(Mailbox("a*")) == (b'A1 X "a*"\r\n',)
    assert wire(Mailbox("a*%", pattern=True)) == (b"A1 X a*%\r\n",)
    # Raw bytes as the server sent them, unchanged.
    assert wire(Mailbox(b"Donn\xc3\xa9es")) == (b"A1 X {8}\r\n", b"Donn\xc3\xa9es\r\n")
    with pytest.raises(LocalProtocolError):
        Mailbox("bad \udcff")


def test_search_charset_is_dropped_under_utf8() -> None:
    args = (Raw(b"SEARCH"), SearchCharset(), Atom("ALL"))
    assert wire(*args) == (b"A1 X SEARCH CHARSET UTF-8 ALL\r\n",)
    assert wire(*args, options=UTF8) == (b"A1 X SEARCH ALL\r\n",)


def test_numbers_and_sequence_sets() -> None:
    assert number(0, "n").data == b"0"
    for bad in (-1, 1 << 63, True, 1.5):
        with pytest.raises(LocalProtocolError):
            number(bad, "n")  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        number(0, "n", minimum=1)
    assert sequence_set(5).data == b"5"
    assert sequence_set([3, 1, 2, 7]).data == b"1:3,7"
    assert sequence_set(SequenceSet.from_ranges([(4, STAR)])).data == b"4:*"
    assert sequence_set("7,1:3,*").data == b"1:3,7,*"
    for bad_ids in ([], [0], SequenceSet(), ["x"], "", "1:3 X", "1\r\n", "0"):
        with pytest.raises(LocalProtocolError):
            sequence_set(bad_ids)  # type: ignore[arg-type]


def test_atom_or_quoted() -> None:
    assert atom_or_quoted("From") == b"From"
    assert atom_or_quoted("X(y)") == b'"X(y)"'
    assert atom_or_quoted('a"b') == b'"a\\"b"'
    for bad in ("é", "a\r\n", "x" * (QUOTED_MAX + 1)):
        with pytest.raises(LocalProtocolError):
            atom_or_quoted(bad)


def test_sasl_initial_response() -> None:
    plain = SaslStart("PLAIN", b"\x00u\x00p")
    assert encoded("AUTHENTICATE", (), PLAIN, plain) == (
        b"A1 AUTHENTICATE PLAIN\r\n",
        b"AHUAcA==\r\n",
    )
    sasl_ir = EncodingOptions(sasl_ir=True)
    assert encoded("AUTHENTICATE", (), sasl_ir, plain) == (b"A1 AUTHENTICATE PLAIN AHUAcA==\r\n",)
    empty = SaslStart("EXTERNAL", b"")
    assert encoded("AUTHENTICATE", (), sasl_ir, empty) == (b"A1 AUTHENTICATE EXTERNAL =\r\n",)
    assert encoded("AUTHENTICATE", (), PLAIN, empty) == (
        b"A1 AUTHENTICATE EXTERNAL\r\n",
        b"\r\n",
    )
    none = SaslStart("GSSAPI")
    assert encoded("AUTHENTICATE", (), sasl_ir, none) == (b"A1 AUTHENTICATE GSSAPI\r\n",)
    assert render_arguments("A1", "AUTHENTICATE", (), sasl_ir, plain) == "A1 AUTHENTICATE PLAIN ***"
    with pytest.raises(LocalProtocolError):
        SaslStart("PLAIN X")
    assert encode_line(b"") == b"\r\n"
    assert encode_line(b"\x01") == b"AQ==\r\n"


def test_render_redacts_secrets_and_long_literals() -> None:
    args = (String("joe", True), Secret(String("pa ss\r\nword", True)), LiteralData(b"x" * 100))
    assert render_arguments("A1", "X", args, PLAIN) == "A1 X joe *** {100 bytes}"
    short = (LiteralData(b"hi\r\n"),)
    assert render_arguments("A1", "X", short, LITERAL_PLUS) == "A1 X {4}\\r\\nhi\\r\\n"
    assert render_arguments("A1", "X", args, PLAIN, max_literal=100).endswith("x" * 100)


@settings(max_examples=300)
@given(st.text(), st.booleans(), st.booleans())
def test_no_string_escapes_its_argument(value: str, atom_ok: bool, utf8: bool) -> None:
    """Outside literal bodies, the only line ending is a literal header's or the last one."""
    options = EncodingOptions(utf8=utf8, literal_plus=True)
    try:
        arg = String(value, atom_ok)
    except LocalProtocolError:
        assert "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value)
        return
    (line,) = wire(Atom("a"), arg, Atom("z"), options=options)
    assert line.startswith(b"A1 X a ") and line.endswith(b" z\r\n")
    body = line[len(b"A1 X a ") : -len(b" z\r\n")]
    encoded = value.encode()
    if body.startswith(b"{"):
        header, _, data = body.partition(b"\r\n")
        assert header == b"{%d+}" % len(encoded) and data == encoded
    elif body.startswith(b'"'):
        assert body.endswith(b'"') and b"\r" not in body and b"\n" not in body
    else:
        assert atom_ok and body == encoded and b" " not in body


@pytest.mark.parametrize("literal_plus", [True, False])
def test_large_literal_is_passed_through_uncopied(literal_plus: bool) -> None:
    message = b"x" * PASSTHROUGH_MIN
    chunks = encode_arguments(
        "A1", "APPEND", (Raw(b"INBOX"), LiteralData(message)), EncodingOptions(literal_plus)
    )
    pieces = [piece for chunk in chunks for piece in chunk]
    assert any(piece is message for piece in pieces)
    assert b"".join(pieces) == b"A1 APPEND INBOX {%d%s}\r\n%s\r\n" % (
        len(message),
        b"+" if literal_plus else b"",
        message,
    )
    assert len(chunks) == (1 if literal_plus else 2)


def test_small_pieces_are_joined() -> None:
    chunks = encode_arguments("A1", "X", (LiteralData(b"abc"),), EncodingOptions(literal_plus=True))
    assert chunks == ((b"A1 X {3+}\r\nabc\r\n",),)
