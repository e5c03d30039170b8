"""Body text: from a part's transfer-encoded bytes to the text a client is given.

How it works: ``decode_part`` runs the steps a text part needs, in order:

1. undo the Content-Transfer-Encoding (``decode_transfer``): base64 and
   quoted-printable are decoded, anything else (7bit, 8bit, binary, absent or
   unknown) is passed through;
2. turn the bytes into text with the part's charset (``decode_charset``);
3. turn CRLF into LF;
4. for text/plain with ``format=flowed``, join the soft-broken lines back into
   paragraphs (RFC 3676, honouring ``DelSp``).

``limit_utf8`` then cuts a group of texts to the client's ``maxBytes`` and
``fetch_budget`` says how many raw bytes to download for that budget.

Rules it keeps:

* Never raise on what a sender wrote.  Broken base64 (missing padding, stray
  characters, a cut in the middle of a quantum) and broken quoted-printable
  (``=ZZ``, a lone ``=``) decode as far as they make sense.  A charset Python
  does not know, or none at all, is read as UTF-8 if the bytes are valid UTF-8,
  else as windows-1252, else as Latin-1, so some text always comes out.  A
  known charset decodes with U+FFFD for bytes that do not belong to it.
* Charset names are matched the way mail clients match them: case and quotes
  ignored, and the labels real mail uses mapped to the widest Python codec of
  the family (GB2312 and GBK to GB18030, Shift_JIS to cp932, EUC-KR to cp949,
  ISO-2022-JP to its JIS X 0201/0212 extension, ISO-8859-1 to windows-1252 as
  browsers do).  Charset conversion applies to every text/* part, not only to
  plain and HTML.
* ``maxBytes`` counts UTF-8 bytes (the reference counted UTF-16 units, see its
  weakness 10), and a cut never splits a code point.
"""

from __future__ import annotations

import base64
import binascii
import re

from imapproto import BodyStructure

__all__ = [
    "decode_charset",
    "decode_part",
    "decode_text_part",
    "decode_transfer",
    "fetch_budget",
    "join_texts",
    "limit_utf8",
    "unflow",
]

# -- transfer encoding ------------------------------------------------------------

_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]+")


def decode_transfer(data: bytes, encoding: str | None) -> bytes:
    """``data`` with its Content-Transfer-Encoding ``encoding`` undone (tolerant of damage)."""
    name = (encoding or "").strip().lower()
    if name == "base64":
        return _decode_base64(data)
    if name == "quoted-printable":
        return binascii.a2b_qp(data)
    return data


def _decode_base64(data: bytes) -> bytes:
    """Base64 that ignores line breaks, stray bytes and padding, and drops a cut last quantum."""
    alphabet_only = _NOT_BASE64.sub(b"", data)
    whole = len(alphabet_only) - len(alphabet_only) % 4
    tail = alphabet_only[whole:]
    if len(tail) == 1:  # six bits are not a byte: a cut quantum
        tail = b""
    return base64.b64decode(alphabet_only[:whole] + tail + b"=" * (-len(tail) % 4))


# -- charsets ---------------------------------------------------------------------

#: Charset labels seen in mail, by the Python codec that reads them best.  A
#: label mapped to None is one that promises ASCII: read as an absent charset.
_CHARSET_ALIASES: dict[str, str | None] = {
    "us-ascii": None,
    "ascii": None,
    "ansi_x3.4-1968": None,
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "iso_8859-1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "csiso2022jp": "iso2022_jp_ext",
    "x-euc-jp": "euc_jp",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "windows-949": "cp949",
    "windows-874": "cp874",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "x-mac-roman": "mac-roman",
    "utf8": "utf-8",
}


def _codec(charset: str | None) -> str | None:
    """The Python codec for a declared ``charset``, or None to guess."""
    label = (charset or "").strip().strip("\"'").lower()
    if not label:
        return None
    return _CHARSET_ALIASES.get(label, label)


def decode_charset(data: bytes, charset: str | None) -> str:
    """``data`` as text in ``charset``; never raises (see the module rules)."""
    codec = _codec(charset)
    if codec is not None:
        try:
            return data.decode(codec, "replace")
        except (LookupError, ValueError):  # unknown, or not a text codec (base64, zlib ...)
            pass
    return _guess(data)


def _guess(data: bytes) -> str:
    for codec in ("utf-8", "cp1252"):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    return data.decode("latin-1")


# -- format=flowed ----------------------------------------------------------------

_SIGNATURE_SEPARATOR = "-- "


def unflow(text: str, *, delsp: bool = False) -> str:
    """``text`` (LF line ends) with RFC 3676 ``format=flowed`` undone.

    Each line's quote depth is its count of leading ``>``; one space after the
    quote marks is space-stuffing and removed.  A line ending in a space is
    flowed: it joins the next line of the same quote depth (without that space
    when ``delsp``).  The signature separator ``-- `` is never flowed, and a
    flowed line followed by a line of another depth ends its paragraph.
    Quoted paragraphs come out as ``> text`` (one ``>`` per level).  A final
    line break stays.
    """
    final_break = "\n" if text.endswith("\n") else ""
    lines: list[str] = []
    paragraph: list[str] = []
    paragraph_depth = 0
    for line in text.removesuffix("\n").split("\n"):
        depth, content = _quote_depth(line)
        if paragraph and depth != paragraph_depth:
            lines.append(_quoted(paragraph_depth, "".join(paragraph)))
            paragraph = []
        paragraph_depth = depth
        if content.endswith(" ") and content != _SIGNATURE_SEPARATOR:
            paragraph.append(content[:-1] if delsp else content)
            continue
        paragraph.append(content)
        lines.append(_quoted(depth, "".join(paragraph)))
        paragraph = []
    if paragraph:
        lines.append(_quoted(paragraph_depth, "".join(paragraph)))
    return "\n".join(lines) + final_break


def _quote_depth(line: str) -> tuple[int, str]:
    """(quote depth, the line's content without quote marks and stuffing space)."""
    depth = len(line) - len(line.lstrip(">"))
    content = line[depth:]
    return depth, content[1:] if content.startswith(" ") else content


def _quoted(depth: int, content: str) -> str:
    if not depth:
        return content
    return ">" * depth + (" " + content if content else "")


# -- whole parts ------------------------------------------------------------------


def decode_part(
    data: bytes,
    *,
    encoding: str | None,
    charset: str | None,
    subtype: str,
    flowed: bool = False,
    delsp: bool = False,
) -> str:
    """A text part's body bytes, as fetched, to text (see the module comment for the steps)."""
    text = decode_charset(decode_transfer(data, encoding), charset).replace("\r\n", "\n")
    if flowed and subtype.lower() == "plain":
        return unflow(text, delsp=delsp)
    return text


def decode_text_part(data: bytes, structure: BodyStructure) -> str:
    """``decode_part`` with encoding, charset, format and DelSp taken from ``structure``."""
    params = structure.params
    return decode_part(
        data,
        encoding=structure.encoding,
        charset=params.get("charset"),
        subtype=structure.subtype,
        flowed=params.get("format", "").strip().lower() == "flowed",
        delsp=params.get("delsp", "").strip().lower() == "yes",
    )


def join_texts(parts: list[str]) -> str:
    """Decoded parts of one subtype as one text, joined by line breaks (empty parts skipped)."""
    return "\n".join(part for part in parts if part)


# -- limits -----------------------------------------------------------------------


def limit_utf8(text: str, max_bytes: int) -> tuple[str, bool]:
    """(the longest prefix of ``text`` whose UTF-8 fits ``max_bytes``, whether it was cut).

    ``max_bytes`` 0 means no limit.  The cut falls on a code point boundary.
    """
    if max_bytes < 0:
        raise ValueError("max_bytes must be 0 (no limit) or positive")
    if max_bytes == 0 or len(text) * 4 <= max_bytes:
        return text, False
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= max_bytes:
        return text, False
    end = max_bytes
    while encoded[end] & 0xC0 == 0x80:  # a continuation byte: the cut is inside a character
        end -= 1
    return encoded[:end].decode("utf-8", "surrogatepass"), True


#: Raw bytes per decoded UTF-8 byte a charset may need: 4 covers UTF-16 text
#: with CRLF line ends, ISO-2022-JP's escape sequences (at most 8 bytes for 3),
#: GB18030's four-byte forms and ``format=flowed`` soft breaks of normal lines.
_CHARSET_FACTOR = 4
#: Transfer-encoded bytes per decoded byte, as (numerator, denominator):
#: base64 is 4/3 plus line breaks (3/2 allows lines down to 16 characters),
#: quoted-printable at most 3 (``=XX``) plus soft line breaks.
_TRANSFER_FACTOR = {"base64": (3, 2), "quoted-printable": (13, 4)}
#: Room for a cut quantum, a cut escape and a part's first line.
_SLACK = 1024


def fetch_budget(max_bytes: int, encoding: str | None) -> int | None:
    """How many raw bytes of a part to fetch to decode ``max_bytes`` of UTF-8 text.

    None (fetch all) when ``max_bytes`` is 0.  The count is generous: if the
    part is longer than the budget, decoding the budget's bytes yields more
    than ``max_bytes`` for every charset whose characters take at most four
    bytes per UTF-8 byte (all mail charsets but UTF-32 and pathological
    UTF-7), so ``limit_utf8`` cuts off any damaged tail and reports
    ``has_more``.  The caller caps the count at the part's size and treats a
    part fetched short of its size as having more in any case.
    """
    if max_bytes < 0:
        raise ValueError("max_bytes must be 0 (no limit) or positive")
    if max_bytes == 0:
        return None
    numerator, denominator = _TRANSFER_FACTOR.get((encoding or "").strip().lower(), (1, 1))
    return max_bytes * _CHARSET_FACTOR * numerator // denominator + _SLACK
