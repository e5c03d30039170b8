"""Header values: RFC 2047 encoded words and raw header blocks.

How it works: ``decode_words`` resolves the ``=?charset?B|Q?text?=`` words of
an unstructured header value (a subject, a display name, a filename some
mailers encode that way).  ``parse_headers`` splits a fetched header block
(``BODY[HEADER]``) into lower-case field names and their unfolded raw values.

Rules it keeps:

* Never raise on what a sender wrote: bad base64 or Q text decodes as far as it
  makes sense, an unknown charset falls back as ``text.decode_charset`` does,
  and a header line that is not a field is skipped.
* Adjacent encoded words (separated only by white space, which RFC 2047
  section 6.2 says to drop) in the same charset are decoded together, so a
  multibyte character split across two words, as some mailers write it, comes
  out whole.
* Text outside encoded words, including raw 8-bit UTF-8, is kept as it is.
* ``parse_headers`` keeps values raw: unfolded, trimmed, not MIME-decoded.
  Bytes that are not UTF-8 are read as Latin-1, line by line.
"""

from __future__ import annotations

import binascii
import re

from trimap.messages.text import decode_charset, decode_transfer

__all__ = ["decode_words", "parse_headers"]

_ENCODED_WORD = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([BbQq])\?([^?\s]*)\?=")
_FIELD_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext: printable ASCII but ":"


def decode_words(value: str) -> str:
    """``value`` with its RFC 2047 encoded words decoded."""
    if "=?" not in value:
        return value
    pieces: list[str] = []
    pending = bytearray()
    pending_charset = ""
    position = 0
    for word in _ENCODED_WORD.finditer(value):
        gap = value[position : word.start()]
        follows_word = position > 0 and (not gap or gap.isspace())  # RFC 2047 6.2: drop the gap
        charset = word[1].lower()
        if pending and (not follows_word or charset != pending_charset):
            pieces.append(decode_charset(bytes(pending), pending_charset))
            pending.clear()
        if not follows_word:
            pieces.append(gap)
        pending += _word_bytes(word[2], word[3])
        pending_charset = charset
        position = word.end()
    if pending:
        pieces.append(decode_charset(bytes(pending), pending_charset))
    pieces.append(value[position:])
    return "".join(pieces)


def _word_bytes(encoding: str, text: str) -> bytes:
    data = text.encode("utf-8")
    if encoding in "Bb":
        return decode_transfer(data, "base64")
    return binascii.a2b_qp(data, header=True)


def parse_headers(raw: bytes) -> dict[str, list[str]]:
    """Lower-case field name -> its values in order, unfolded and trimmed, from a header block.

    Parsing stops at the first empty line (the end of the header).
    """
    fields: dict[str, list[str]] = {}
    current: list[str] | None = None  # the value list of the field being continued
    for raw_line in raw.split(b"\n"):
        line = _line_text(raw_line.removesuffix(b"\r"))
        if not line:
            break
        if line[0] in " \t":
            if current is not None:
                current[-1] = (current[-1] + line).strip()
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or not _FIELD_NAME.fullmatch(name):
            current = None
            continue
        current = fields.setdefault(name.lower(), [])
        current.append(value.strip())
    return fields


def _line_text(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("latin-1")
