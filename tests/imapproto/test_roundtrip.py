"""Encoder then parser: what the command side writes, the response side reads back.

The arguments are written into a line shaped like a server response
(``* XTEST <args>``, ``* LIST () "/" <mailbox>``, ``* ID (...)``), joined over
their continuation chunks, and parsed by ``ResponseParser``: the value that
comes out must be the value that went in, whatever the session options.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from imapproto import _commands as cmd
from imapproto._events import NEED_DATA, Event, Flags, Id, ListResponse, UnknownUntagged, Vanished
from imapproto._parser import ResponseParser
from imapproto._seqset import SequenceSet
from imapproto._types import Value
from imapproto._utf7 import decode_mailbox
from imapproto._writers import (
    Argument,
    EncodingOptions,
    LiteralData,
    Mailbox,
    ParenList,
    Raw,
    String,
    encode_arguments,
)

options = st.builds(
    EncodingOptions,
    literal_plus=st.booleans(),
    literal_minus=st.booleans(),
    utf8=st.booleans(),
    binary=st.just(True),
)
no_nul_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]))
no_nul_bytes = st.binary().filter(lambda data: b"\x00" not in data)


def parse_one(data: bytes, utf8: bool = False) -> Event:
    parser = ResponseParser(utf8_accept=utf8)
    parser.feed(data)
    event = parser.next_event()
    assert parser.next_event() is NEED_DATA
    assert isinstance(event, Event)
    return event


def as_server_line(name: str, args: tuple[Argument, ...], opts: EncodingOptions) -> bytes:
    return b"".join(piece for chunk in encode_arguments("*", name, args, opts) for piece in chunk)


def parse_generic(args: tuple[Argument, ...], opts: EncodingOptions) -> tuple[Value, ...]:
    event = parse_one(as_server_line("XTEST", args, opts))
    assert isinstance(event, UnknownUntagged) and event.name == "XTEST"
    return event.values


def as_bytes(value: Value) -> bytes:
    """A parsed string value (quoted: str, literal: bytes) as bytes."""
    if isinstance(value, str):
        return value.encode()
    assert isinstance(value, bytes)
    return value


def assert_same_string(parsed: Value, sent: bytes) -> None:
    if isinstance(parsed, int):  # an atom of digits
        assert sent.isdigit() and int(sent) == parsed
    else:
        assert as_bytes(parsed) == sent


@settings(max_examples=300)
@given(no_nul_text, st.booleans(), options)
def test_text_strings(value: str, atom_ok: bool, opts: EncodingOptions) -> None:
    parsed = parse_generic((Raw(b"a"), String(value, atom_ok), Raw(b"z")), opts)
    assert len(parsed) == 3 and parsed[0] == "a" and parsed[2] == "z"
    assert_same_string(parsed[1], value.encode())


@settings(max_examples=200)
@given(no_nul_bytes, st.booleans(), options)
def test_byte_strings(value: bytes, atom_ok: bool, opts: EncodingOptions) -> None:
    (parsed,) = parse_generic((String(value, atom_ok),), opts)
    assert_same_string(parsed, value)


@settings(max_examples=100)
@given(st.binary(), options)
def test_literals_and_literal8(data: bytes, opts: EncodingOptions) -> None:
    (parsed,) = parse_generic((LiteralData(data),), opts)
    assert parsed == data


def nested_lists() -> st.SearchStrategy[Any]:
    leaves = no_nul_text.map(lambda text: String(text, atom_ok=True))
    return st.recursive(
        leaves,
        lambda children: st.lists(children, max_size=4).map(lambda items: ParenList(tuple(items))),
        max_leaves=12,
    )


def assert_same_structure(parsed: Value, sent: Argument) -> None:
    if isinstance(sent, ParenList):
        assert isinstance(parsed, tuple) and len(parsed) == len(sent.items)
        for parsed_item, sent_item in zip(parsed, sent.items, strict=True):
            assert_same_structure(parsed_item, sent_item)
    else:
        assert isinstance(sent, String) and isinstance(sent.value, str)
        assert_same_string(parsed, sent.value.encode())


@settings(max_examples=150)
@given(st.lists(nested_lists(), min_size=1, max_size=4), options)
def test_parenthesised_lists(args: list[Argument], opts: EncodingOptions) -> None:
    parsed = parse_generic(tuple(args), opts)
    assert len(parsed) == len(args)
    for parsed_item, sent in zip(parsed, args, strict=True):
        assert_same_structure(parsed_item, sent)


@settings(max_examples=200)
@given(no_nul_text, options)
def test_mailbox_names_through_list(name: str, opts: EncodingOptions) -> None:
    line = as_server_line("LIST", (Raw(b'() "/"'), Mailbox(name)), opts)
    event = parse_one(line, utf8=opts.utf8)
    assert isinstance(event, ListResponse)
    assert event.entry.name == name
    if not opts.utf8:
        assert decode_mailbox(event.entry.raw_name) == name


@settings(max_examples=100)
@given(
    st.dictionaries(
        st.text(st.characters(codec="ascii", exclude_characters="\x00"), max_size=30),
        st.none() | no_nul_text,
        max_size=5,
    ),
    options,
)
def test_id_parameters(params: dict[str, str | None], opts: EncodingOptions) -> None:
    command = cmd.id_(params)
    event = parse_one(as_server_line("ID", command.args, opts))
    assert isinstance(event, Id)
    if not params:
        assert event.params is None
    else:
        assert event.params == tuple(params.items())


@settings(max_examples=200)
@given(st.lists(st.integers(1, 200), min_size=1, max_size=50))
def test_sequence_sets_through_vanished(uids: list[int]) -> None:
    uid_set = SequenceSet.from_iterable(uids)
    event = parse_one(b"* VANISHED (EARLIER) " + uid_set.to_bytes() + b"\r\n")
    assert isinstance(event, Vanished) and event.earlier
    assert event.uids == uid_set


@settings(max_examples=100)
@given(
    st.lists(
        st.from_regex(r"\\?[A-Za-z0-9$_.\-~!#&'+,/:;<=>?@^`|]{1,20}", fullmatch=True),
        max_size=6,
    )
)
def test_flags_through_flags_response(flags: list[str]) -> None:
    flag_list = cmd.store(1, "add", flags).args[-1]
    event = parse_one(as_server_line("FLAGS", (flag_list,), EncodingOptions()))
    assert isinstance(event, Flags)
    assert event.flags == tuple(flags)
