"""Undoing a Content-Transfer-Encoding chunk by chunk, byte for byte as decoding the whole would.

How it works: ``transfer_decoder(encoding)`` gives a ``TransferDecoder``;
``feed(chunk)`` returns the decoded bytes that no later input can change,
``finish()`` the rest.  It decodes nothing itself: it only decides where
the input can be cut so that decoding the pieces one by one gives exactly
what decoding them together gives, and hands each piece to
``trimap.messages.text.decode_transfer``, the whole-part decoder.  So a
streamed attachment is what the text decoder would make of the same bytes,
damage included:

* base64: every byte outside the alphabet (line breaks, padding, stray
  bytes) is dropped, whole four-character quanta are decoded at once, and
  the at most three characters left over wait for the next chunk;
  ``finish`` decodes them as ``decode_transfer`` decodes a cut last quantum.
* quoted-printable: ``binascii.a2b_qp`` starts afresh after every line
  feed, so the input is cut after its last one.  A line longer than
  ``max_line`` (RFC 2045 allows 76 characters, so only a broken or hostile
  part has one) is cut at its last token boundary instead, found by
  ``_QP_TOKEN``, which splits a line the way ``a2b_qp`` reads it: ``=XX``,
  ``==``, a lone ``=``, runs of other bytes, and ``=`` CR, after which
  ``a2b_qp`` skips everything up to the next line feed (the decoder then
  drops input until it sees one).
* any other encoding (7bit, 8bit, binary, none, unknown) passes through.

Rules it keeps: never raises on what a sender wrote; memory is bounded:
besides the chunk being fed, at most three base64 characters or
``max_line`` quoted-printable bytes wait.
"""

from __future__ import annotations

import re
from typing import Protocol

from trimap.messages.text import decode_transfer

__all__ = ["MAX_LINE", "TransferDecoder", "transfer_decoder", "transfer_is_identity"]

#: The longest quoted-printable line kept whole while waiting for its end.
MAX_LINE = 64 * 1024

_BASE64 = "base64"
_QUOTED_PRINTABLE = "quoted-printable"
_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_NOT_BASE64 = bytes(byte for byte in range(256) if byte not in _BASE64_ALPHABET)
#: a2b_qp's tokens in a line without a line feed (the ``=`` CR skip runs to the end).
_QP_TOKEN = re.compile(rb"=(?:\r.*|=|[0-9A-Fa-f]{2})?|[^=]+", re.DOTALL)
_HEX_DIGITS = frozenset(b"0123456789ABCDEFabcdef")


class TransferDecoder(Protocol):
    """Decodes a transfer-encoded body fed in chunks (see the module comment)."""

    def feed(self, data: bytes) -> bytes:
        """The decoded bytes ``data`` completes."""
        ...

    def finish(self) -> bytes:
        """The decoded bytes still pending at the end of the body."""
        ...


def _name(encoding: str | None) -> str:
    return (encoding or "").strip().lower()


def transfer_is_identity(encoding: str | None) -> bool:
    """Whether decoding ``encoding`` leaves the bytes as they are (so sizes are exact)."""
    return _name(encoding) not in (_BASE64, _QUOTED_PRINTABLE)


def transfer_decoder(encoding: str | None, *, max_line: int = MAX_LINE) -> TransferDecoder:
    """A fresh decoder for a body in Content-Transfer-Encoding ``encoding``."""
    name = _name(encoding)
    if name == _BASE64:
        return _Base64Decoder()
    if name == _QUOTED_PRINTABLE:
        return _QuotedPrintableDecoder(max_line)
    return _IdentityDecoder()


class _IdentityDecoder:
    def feed(self, data: bytes) -> bytes:
        return data

    def finish(self) -> bytes:
        return b""


class _Base64Decoder:
    def __init__(self) -> None:
        self._pending = b""  # alphabet characters short of a quantum

    def feed(self, data: bytes) -> bytes:
        alphabet = self._pending + data.translate(None, _NOT_BASE64)
        whole = len(alphabet) - len(alphabet) % 4
        self._pending = alphabet[whole:]
        return decode_transfer(alphabet[:whole], _BASE64)

    def finish(self) -> bytes:
        tail, self._pending = self._pending, b""
        return decode_transfer(tail, _BASE64)


class _QuotedPrintableDecoder:
    def __init__(self, max_line: int) -> None:
        self._max_line = max_line
        self._pending = b""  # input after the last cut: fresh for a2b_qp
        self._skipping = False  # inside a2b_qp's "=" CR skip, which ends after a line feed

    def feed(self, data: bytes) -> bytes:
        if self._skipping:
            end = data.find(b"\n")
            if end < 0:
                return b""
            self._skipping = False
            data = data[end + 1 :]
        buffer = self._pending + data
        cut = buffer.rfind(b"\n") + 1
        decoded = decode_transfer(buffer[:cut], _QUOTED_PRINTABLE)
        rest = buffer[cut:]
        if len(rest) > self._max_line:
            at, self._skipping = _line_cut(rest)
            decoded += decode_transfer(rest[:at], _QUOTED_PRINTABLE)
            rest = b"" if self._skipping else rest[at:]
        self._pending = rest
        return decoded

    def finish(self) -> bytes:
        tail, self._pending = self._pending, b""
        return decode_transfer(tail, _QUOTED_PRINTABLE)


def _line_cut(line: bytes) -> tuple[int, bool]:
    """Where a line (no line feed, read from a token boundary) can be cut, and whether
    a2b_qp skips everything from there on.

    The cut is the end, unless the line ends in what more input could complete:
    a lone ``=`` or ``=`` and one hex digit.
    """
    last: re.Match[bytes] | None = None
    before: re.Match[bytes] | None = None
    for token in _QP_TOKEN.finditer(line):
        if token[0].startswith(b"=\r"):
            return token.start(), True
        before, last = last, token
    if last is not None and last[0] == b"=":
        return last.start(), False
    if (
        before is not None
        and last is not None
        and before[0] == b"="
        and len(last[0]) == 1
        and last[0][0] in _HEX_DIGITS
    ):
        return before.start(), False
    return len(line), False
