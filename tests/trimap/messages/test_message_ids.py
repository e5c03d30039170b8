"""Message, text and attachment ids: the reference's examples, round trips and refusals."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trimap.messages.ids import (
    MAX_ID_LENGTH,
    InvalidId,
    TextId,
    decode_attachment_id,
    decode_message_id,
    decode_text_id,
    encode_attachment_id,
    encode_message_id,
    encode_text_id,
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


MESSAGE_1_481 = bytes.fromhex("00000001000001e1")

# -- the reference's examples ------------------------------------------------------


def test_message_id_of_the_reference_example() -> None:
    assert encode_message_id(1, 481) == "AAAAAQAAAeE"
    assert decode_message_id("AAAAAQAAAeE") == (1, 481)


@pytest.mark.parametrize(
    ("text_id", "uid", "parts"),
    [
        ("AAAAAQAAAeGTkaExkaEykA", 481, (("1",), ("2",), ())),  # spec 2.2
        ("AAAAAQAAAeKTkaExkJA", 482, (("1",), (), ())),  # spec 3.5
    ],
)
def test_text_ids_of_the_reference_examples(
    text_id: str, uid: int, parts: tuple[tuple[str, ...], ...]
) -> None:
    assert decode_text_id(text_id) == TextId(1, uid, *parts)
    assert encode_text_id(1, uid, *parts) == text_id


def test_attachment_id_is_message_bytes_and_ascii_part() -> None:
    assert encode_attachment_id(1, 481, "1.2") == b64url(MESSAGE_1_481 + b"1.2")
    assert decode_attachment_id(b64url(MESSAGE_1_481 + b"1.2")) == (1, 481, "1.2")


def test_ids_never_contain_slash_or_plus() -> None:
    # these bytes are "+/" in standard base64: ids with them broke routes (weakness 1)
    assert "+" in base64.b64encode(bytes.fromhex("fbfffffffbffffff")).decode()
    message_id = encode_message_id(0xFBFFFFFF, 0xFBFFFFFF)
    assert "+" not in message_id and "/" not in message_id
    assert decode_message_id(message_id) == (0xFBFFFFFF, 0xFBFFFFFF)
    text_id = encode_text_id(0xFBFFFFFF, 0xFBFFFFFF, ["1"], [], [])
    assert "+" not in text_id and "/" not in text_id


def test_long_part_lists_use_array16_and_str8() -> None:
    plain = [str(n) for n in range(1, 18)]  # 17 parts: more than a fixarray holds
    long_part = ".".join(["1"] * 20)  # 39 characters: more than a fixstr holds
    text_id = encode_text_id(7, 9, plain, [long_part], [])
    payload = base64.urlsafe_b64decode(text_id + "=" * (-len(text_id) % 4))[8:]
    assert payload[:4] == b"\x93\xdc\x00\x11"
    assert b"\xd9\x27" + long_part.encode() in payload
    assert decode_text_id(text_id) == TextId(7, 9, tuple(plain), (long_part,), ())


# -- round trips -------------------------------------------------------------------

FOLDERS = st.integers(0, 2**32 - 1)
UIDS = st.integers(1, 2**32 - 1)
PARTS = st.lists(st.integers(1, 300), min_size=1, max_size=4).map(
    lambda numbers: ".".join(map(str, numbers))
)
PART_LISTS = st.lists(PARTS, max_size=20)


@given(FOLDERS, UIDS)
def test_message_ids_round_trip(folder_id: int, uid: int) -> None:
    text = encode_message_id(folder_id, uid)
    assert len(text) == 11
    assert decode_message_id(text) == (folder_id, uid)


@given(FOLDERS, UIDS, PART_LISTS, PART_LISTS, PART_LISTS)
def test_text_ids_round_trip(
    folder_id: int, uid: int, plain: list[str], html: list[str], other: list[str]
) -> None:
    text = encode_text_id(folder_id, uid, plain, html, other)
    assert decode_text_id(text) == TextId(folder_id, uid, tuple(plain), tuple(html), tuple(other))


@given(FOLDERS, UIDS, PARTS)
def test_attachment_ids_round_trip(folder_id: int, uid: int, part: str) -> None:
    assert decode_attachment_id(encode_attachment_id(folder_id, uid, part)) == (
        folder_id,
        uid,
        part,
    )


# -- refusals ----------------------------------------------------------------------

TEXT_1_481 = "AAAAAQAAAeGTkaExkaEykA"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "11 characters, not 0"),
        ("AAAAAQAAAe", "11 characters, not 10"),
        ("AAAAAQAAAeEA", "11 characters"),
        ("AAAAAQAAAe=", "base64url"),
        ("AAAAAQAAAe+", "base64url"),
        ("AAAAAQAAAe/", "base64url"),
        ("AAAAAQAAAé1", "base64url"),
        ("AAAAAQAAAeF", "canonical"),  # the same bytes as AAAAAQAAAeE, other trailing bits
        ("AAAAAQAAAAA", "UID 0"),
        ("AAAAAQAAAeEAA", "11 characters"),
        ("A" * (MAX_ID_LENGTH + 1), "11 characters"),
    ],
)
def test_bad_message_ids_are_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidId, match=reason):
        decode_message_id(text)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "cut short"),
        (b"\x92\x90\x90", "exactly three"),
        (b"\x94\x90\x90\x90\x90", "exactly three"),
        (b"\x93\x91\xa1\x31\x90", "cut short"),
        (b"\x93\x90\x90\x90\x00", "trailing bytes"),
        (b"\x93\xa11\x90\x90", "list of part numbers"),
        (b"\x93\x91\x01\x90\x90", "part number string"),
        (b"\x93\x91\xa201\x90\x90", "invalid part number"),  # leading zero
        (b"\x93\x91\xa21.\x90\x90", "invalid part number"),
        (b"\x93\x91\xa10\x90\x90", "invalid part number"),
        (b"\x93\x91\xa1a\x90\x90", "invalid part number"),
        (b"\x93\x91\xa2\xd9\xa1\x90\x90", "invalid part number"),  # "١" is a digit to \d
        (b"\x93\x91\xd9\x011\x90\x90", "canonical"),  # str8 where a fixstr fits
        (b"\x93\xdc\x00\x01\xa11\x90\x90", "canonical"),  # array16 where a fixarray fits
    ],
)
def test_bad_text_ids_are_refused(payload: bytes, reason: str) -> None:
    with pytest.raises(InvalidId, match=reason):
        decode_text_id(b64url(MESSAGE_1_481 + payload))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (TEXT_1_481 + "==", "base64url"),
        (TEXT_1_481 + "AAA", "impossible base64 length"),
        (TEXT_1_481[:-1] + "B", "canonical"),
        ("A" * (MAX_ID_LENGTH + 1), "longer than"),
    ],
)
def test_text_ids_that_are_not_base64url_are_refused(text: str, reason: str) -> None:
    with pytest.raises(InvalidId, match=reason):
        decode_text_id(text)
    with pytest.raises(InvalidId, match=reason):
        decode_attachment_id(text)


def test_text_id_with_a_bad_part_is_refused_not_trimmed() -> None:
    # the reference dropped "x" and went on with ["1"]
    with pytest.raises(InvalidId, match="invalid part number 'x'"):
        decode_text_id(b64url(MESSAGE_1_481 + b"\x93\x92\xa11\xa1x\x90\x90"))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "no valid part number"),
        (b"1..2", "no valid part number"),
        (b"1.2.", "no valid part number"),
        (b"1 ", "no valid part number"),
        (b"\xff", "no valid part number"),
    ],
)
def test_bad_attachment_ids_are_refused(payload: bytes, reason: str) -> None:
    with pytest.raises(InvalidId, match=reason):
        decode_attachment_id(b64url(MESSAGE_1_481 + payload))


def test_invalid_id_is_a_value_error() -> None:
    assert issubclass(InvalidId, ValueError)


@pytest.mark.parametrize(
    ("folder_id", "uid", "part"),
    [(-1, 1, "1"), (2**32, 1, "1"), (1, 0, "1"), (1, 2**32, "1"), (1, 1, "1.0"), (1, 1, "")],
)
def test_encoders_refuse_values_they_cannot_encode(folder_id: int, uid: int, part: str) -> None:
    with pytest.raises(ValueError):
        encode_attachment_id(folder_id, uid, part)


# -- any text: InvalidId or an exact round trip ------------------------------------

BASE64URL_TEXT = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
ID_LIKE_TEXT = st.one_of(
    st.text(),
    BASE64URL_TEXT,
    st.binary().map(b64url),
    st.binary().map(lambda tail: b64url(MESSAGE_1_481 + b"\x93" + tail)),
    st.binary(max_size=8).map(lambda tail: TEXT_1_481 + b64url(tail)),
)


@given(ID_LIKE_TEXT)
def test_any_text_is_refused_or_decodes_to_an_exact_round_trip(text: str) -> None:
    try:
        folder_id, uid = decode_message_id(text)
    except InvalidId:
        pass
    else:
        assert encode_message_id(folder_id, uid) == text
    try:
        text_id = decode_text_id(text)
    except InvalidId:
        pass
    else:
        parts = (text_id.plain, text_id.html, text_id.other)
        assert encode_text_id(text_id.folder_id, text_id.uid, *parts) == text
    try:
        folder_id, uid, part = decode_attachment_id(text)
    except InvalidId:
        pass
    else:
        assert encode_attachment_id(folder_id, uid, part) == text
