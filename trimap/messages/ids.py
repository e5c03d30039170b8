"""Message, text and attachment ids, in the reference product's shape.

How it works: every id is base64url without padding of a byte string that
starts with the 8 *message bytes*, ``uint32 BE folder number ‖ uint32 BE UID``:

===============  ==============================================================
id               bytes
===============  ==============================================================
message id       the message bytes alone (11 characters):
                 ``AAAAAQAAAeE`` is folder 1, UID 481
text id          the message bytes ‖ msgpack ``[[plain…], [html…], [other…]]``
                 of part numbers as strings: ``AAAAAQAAAeGTkaExkaEykA`` is
                 folder 1, UID 481, ``[["1"], ["2"], []]``
attachment id    the message bytes ‖ the part number in ASCII (``"1.2"``)
===============  ==============================================================

msgpack is not a dependency: the few forms a text id uses (fixarray/array16,
fixstr/str8/str16) are written and read here.

Rules it keeps:

* An id from a client is untrusted text.  A decoder either returns exactly
  what its encoder would have been given to produce that same text, or raises
  ``InvalidId`` (a ``ValueError``) saying what is wrong; it never raises
  anything else.  So decoding is strict: the base64url alphabet only, no
  padding, no non-canonical trailing bits, no trailing bytes, no text over
  ``MAX_ID_LENGTH`` characters, UID 0 refused, and part numbers must be IMAP
  section parts (``1``, ``2.1``: dot-separated numbers without leading
  zeros).  A bad part number refuses the whole id; the reference silently
  dropped it.
* Encoders are given values from trimap itself and raise ``ValueError`` for
  values that cannot be encoded (out of range numbers, bad part numbers).
* These ids say nothing about validity: the folder number still has to be
  looked up, and checked against the folder's current UIDVALIDITY, by the
  caller (the reference never did, its weakness 3).
"""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_ID_LENGTH",
    "InvalidId",
    "TextId",
    "decode_attachment_id",
    "decode_message_id",
    "decode_text_id",
    "encode_attachment_id",
    "encode_message_id",
    "encode_text_id",
]

#: Longer ids are refused before any decoding.  Message and attachment ids
#: are far shorter; a text id reaches this with about 600 text parts (Apple
#: Mail writes one HTML part per inline image), more than URLs carry anyway.
MAX_ID_LENGTH = 4096

_MESSAGE = struct.Struct(">II")
_MESSAGE_ID_LENGTH = 11  # 8 bytes in unpadded base64
_UINT32_LIMIT = 1 << 32
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_PART_NUMBER = re.compile(r"[1-9][0-9]*(?:\.[1-9][0-9]*)*")


class InvalidId(ValueError):
    """A message, text or attachment id that trimap never gave out."""


@dataclass(frozen=True, slots=True)
class TextId:
    """A decoded text id: the message and its text part numbers by kind."""

    folder_id: int
    uid: int
    plain: tuple[str, ...]
    html: tuple[str, ...]
    other: tuple[str, ...]


# -- encoders ---------------------------------------------------------------------


def encode_message_id(folder_id: int, uid: int) -> str:
    """The message id of UID ``uid`` in folder number ``folder_id``."""
    return _base64url(_message_bytes(folder_id, uid))


def encode_text_id(
    folder_id: int, uid: int, plain: Sequence[str], html: Sequence[str], other: Sequence[str]
) -> str:
    """The text id of a message's plain, html and other text parts (part numbers)."""
    lists = [
        _msgpack_array([_msgpack_str(_checked_part(part)) for part in parts])
        for parts in (plain, html, other)
    ]
    return _base64url(_message_bytes(folder_id, uid) + _msgpack_array(lists))


def encode_attachment_id(folder_id: int, uid: int, part: str) -> str:
    """The attachment id of part ``part`` of a message."""
    return _base64url(_message_bytes(folder_id, uid) + _checked_part(part).encode("ascii"))


def _message_bytes(folder_id: int, uid: int) -> bytes:
    if not 0 <= folder_id < _UINT32_LIMIT:
        raise ValueError(f"folder number {folder_id} is not a uint32")
    if not 0 < uid < _UINT32_LIMIT:
        raise ValueError(f"UID {uid} is not a non-zero uint32")
    return _MESSAGE.pack(folder_id, uid)


def _checked_part(part: str) -> str:
    if not _PART_NUMBER.fullmatch(part):
        raise ValueError(f"{part!r} is not an IMAP part number")
    return part


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _msgpack_array(items: list[bytes]) -> bytes:
    count = len(items)
    if count <= 0x0F:
        header = bytes([0x90 | count])
    elif count <= 0xFFFF:
        header = b"\xdc" + count.to_bytes(2, "big")
    else:
        raise ValueError("too many text parts for an id")
    return header + b"".join(items)


def _msgpack_str(text: str) -> bytes:
    data = text.encode("utf-8")
    size = len(data)
    if size <= 0x1F:
        return bytes([0xA0 | size]) + data
    if size <= 0xFF:
        return b"\xd9" + bytes([size]) + data
    if size <= 0xFFFF:
        return b"\xda" + size.to_bytes(2, "big") + data
    raise ValueError("part number too long for an id")


# -- decoders ---------------------------------------------------------------------


def decode_message_id(text: str) -> tuple[int, int]:
    """(folder number, UID) of a message id."""
    if len(text) != _MESSAGE_ID_LENGTH:
        raise InvalidId(f"a message id is {_MESSAGE_ID_LENGTH} characters, not {len(text)}")
    return _unpack_message(_unbase64url(text, "message"), "message")


def decode_text_id(text: str) -> TextId:
    """The message and text part numbers of a text id."""
    data = _unbase64url(text, "text")
    folder_id, uid = _unpack_message(data, "text")
    reader = _MsgpackReader(data, _MESSAGE.size)
    if reader.array_length() != 3:
        raise InvalidId("a text id lists exactly three kinds of part: plain, html, other")
    plain, html, other = (reader.part_numbers() for _ in range(3))
    if not reader.at_end():
        raise InvalidId("text id has trailing bytes")
    result = TextId(folder_id, uid, plain, html, other)
    if encode_text_id(folder_id, uid, plain, html, other) != text:
        raise InvalidId("text id is not in canonical form")
    return result


def decode_attachment_id(text: str) -> tuple[int, int, str]:
    """(folder number, UID, part number) of an attachment id."""
    data = _unbase64url(text, "attachment")
    folder_id, uid = _unpack_message(data, "attachment")
    part = data[_MESSAGE.size :].decode("latin-1")
    if not _PART_NUMBER.fullmatch(part):
        raise InvalidId(f"attachment id has no valid part number (found {part!r})")
    return folder_id, uid, part


def _unbase64url(text: str, kind: str) -> bytes:
    if len(text) > MAX_ID_LENGTH:
        raise InvalidId(f"{kind} id is longer than {MAX_ID_LENGTH} characters")
    if not _BASE64URL.fullmatch(text):
        raise InvalidId(f"{kind} id is not unpadded base64url (A-Z a-z 0-9 - _)")
    if len(text) % 4 == 1:
        raise InvalidId(f"{kind} id has an impossible base64 length ({len(text)})")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _base64url(data) != text:
        raise InvalidId(f"{kind} id is not canonical base64url")
    return data


def _unpack_message(data: bytes, kind: str) -> tuple[int, int]:
    if len(data) < _MESSAGE.size:
        raise InvalidId(f"{kind} id is too short to name a message")
    folder_id, uid = _MESSAGE.unpack_from(data)
    if uid == 0:
        raise InvalidId(f"{kind} id names UID 0, which no message has")
    return folder_id, uid


class _MsgpackReader:
    """Reads the msgpack forms of a text id from ``data``, starting at ``offset``."""

    def __init__(self, data: bytes, offset: int) -> None:
        self._data = data
        self._offset = offset

    def at_end(self) -> bool:
        return self._offset == len(self._data)

    def array_length(self) -> int:
        marker = self._take(1)[0]
        if marker & 0xF0 == 0x90:
            return marker & 0x0F
        if marker == 0xDC:
            return int.from_bytes(self._take(2), "big")
        raise InvalidId("text id: expected a list of part numbers")

    def part_numbers(self) -> tuple[str, ...]:
        return tuple(self._part_number() for _ in range(self.array_length()))

    def _part_number(self) -> str:
        marker = self._take(1)[0]
        if marker & 0xE0 == 0xA0:
            size = marker & 0x1F
        elif marker == 0xD9:
            size = self._take(1)[0]
        elif marker == 0xDA:
            size = int.from_bytes(self._take(2), "big")
        else:
            raise InvalidId("text id: expected a part number string")
        part = self._take(size).decode("latin-1")
        if not _PART_NUMBER.fullmatch(part):
            raise InvalidId(f"text id has an invalid part number {part!r}")
        return part

    def _take(self, size: int) -> bytes:
        end = self._offset + size
        if end > len(self._data):
            raise InvalidId("text id is cut short")
        chunk = self._data[self._offset : end]
        self._offset = end
        return chunk
