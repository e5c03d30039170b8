"""Modified UTF-7 mailbox names (RFC 3501 section 5.1.3), both ways.

Theory of operation: IMAP4rev1 mailbox names travel as 7-bit text.  Printable
US-ASCII (0x20-0x7e) stands for itself except ``&``, which is written ``&-``;
every other run of characters is written as ``&`` + its UTF-16BE bytes in
base64 (``,`` instead of ``/``, no ``=`` padding) + ``-``.

Rules this module keeps:

* ``encode_mailbox`` always produces the one canonical form: printable ASCII
  only (so an encoded name can never carry CR, LF or NUL), each non-ASCII run
  encoded as a single shifted sequence, no two shifted sequences adjacent.  A
  name holding a lone surrogate cannot be written as UTF-16 and raises
  ``LocalProtocolError``.
* ``decode_mailbox`` never raises.  Valid modified UTF-7 is decoded (shifted
  sequences that encode printable ASCII or control characters are accepted:
  the meaning is unambiguous).  Anything else -- bytes outside 0x20-0x7e from a
  server that sends raw UTF-8, a bare ``&`` as in ``AT&T``, bad base64, a
  shifted run that is not whole UTF-16 -- is not modified UTF-7 at all, and the
  raw bytes are decoded as UTF-8, or, when they are not valid UTF-8 either, as
  Latin-1.  Latin-1 rather than ``surrogateescape`` because the result must be
  a string every later layer (JSON, logs, Redis) can encode; a caller that must
  address such a mailbox again keeps the raw bytes the server sent (command
  builders accept a mailbox as ``bytes`` and send it unchanged).
"""

from __future__ import annotations

import base64
import binascii
import re

from ._errors import LocalProtocolError

__all__ = ["decode_mailbox", "encode_mailbox"]

# One token of the encoded form: a run of characters that stand for themselves,
# a lone "&", or a run of characters that must be shifted.
_ENCODE_TOKEN = re.compile(r"([\x20-\x25\x27-\x7e]+)|(&)|([^\x20-\x7e]+)")
_PLAIN_NAME = re.compile(r"[\x20-\x25\x27-\x7e]*")
# A whole valid modified UTF-7 name, and its shifted sequences.
_VALID_NAME = re.compile(rb"(?:[\x20-\x25\x27-\x7e]|&-|&[A-Za-z0-9+,]+-)*")
_SHIFTED = re.compile(rb"&([A-Za-z0-9+,]*)-")


def encode_mailbox(name: str) -> bytes:
    """Encode a mailbox name to modified UTF-7 (printable ASCII bytes)."""
    if _PLAIN_NAME.fullmatch(name):
        return name.encode("ascii")
    out: list[bytes] = []
    for direct, ampersand, shifted in _ENCODE_TOKEN.findall(name):
        if direct:
            out.append(direct.encode("ascii"))
        elif ampersand:
            out.append(b"&-")
        else:
            try:
                utf16 = shifted.encode("utf-16-be")
            except UnicodeEncodeError as exc:
                raise LocalProtocolError(
                    f"mailbox name holds a lone surrogate at {exc.start}"
                ) from None
            b64 = base64.b64encode(utf16).rstrip(b"=").replace(b"/", b",")
            out.append(b"&" + b64 + b"-")
    return b"".join(out)


def decode_mailbox(raw: bytes) -> str:
    """Decode a mailbox name the server sent; never raises (see module docstring)."""
    if _VALID_NAME.fullmatch(raw):
        try:
            return _SHIFTED.sub(_decode_shifted, raw).decode("utf-8")
        except ValueError:
            pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _decode_shifted(match: re.Match[bytes]) -> bytes:
    """Turn one ``&...-`` sequence into UTF-8; ValueError if it is not whole UTF-16."""
    b64 = match.group(1)
    if not b64:
        return b"&"
    standard = b64.replace(b",", b"/")
    try:
        utf16 = base64.b64decode(standard + b"=" * (-len(standard) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("bad base64") from exc
    # Re-encoding must give the same text back: this rejects non-zero padding
    # bits and lengths base64 cannot produce.
    if base64.b64encode(utf16).rstrip(b"=") != standard or len(utf16) % 2:
        raise ValueError("shifted sequence is not whole UTF-16")
    # UnicodeDecodeError (a ValueError) on lone surrogates.
    return utf16.decode("utf-16-be").encode("utf-8")
