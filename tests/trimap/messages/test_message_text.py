"""Body text decoding: transfer encodings, charsets, format=flowed, byte limits and budgets."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.trimap.messages.imap_fetches import SINGLE_TEXT, parse_structure
from trimap.messages.text import (
    decode_charset,
    decode_part,
    decode_text_part,
    decode_transfer,
    fetch_budget,
    join_texts,
    limit_utf8,
    unflow,
)

# -- transfer encodings ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding", "decoded"),
    [
        (b"SGVsbG8sIHdvcmxkIQ==", "base64", b"Hello, world!"),
        (b"SGVsbG8s\r\nIHdvcmxk\r\nIQ==\r\n", "BASE64", b"Hello, world!"),
        (b"SGVsbG8sIHdvcmxkIQ", "base64", b"Hello, world!"),  # padding lost
        (b"SGVs*bG8s IHdv\x00cmxkIQ==", "base64", b"Hello, world!"),  # stray bytes
        (b"SGVsbG8sIHdvcmxkI", "base64", b"Hello, world"),  # cut inside a quantum
        (b"caf=C3=A9 au =\r\nlait", "quoted-printable", "café au lait".encode()),
        (b"soft=\nbreak", "quoted-printable", b"softbreak"),
        (b"broken =ZZ and =3", "quoted-printable", b"broken =ZZ and =3"),
        (b"caf\xc3\xa9", "8bit", b"caf\xc3\xa9"),
        (b"caf\xc3\xa9", None, b"caf\xc3\xa9"),
        (b"begin 644 x\n", "x-uuencode", b"begin 644 x\n"),
    ],
)
def test_decode_transfer(data: bytes, encoding: str | None, decoded: bytes) -> None:
    assert decode_transfer(data, encoding) == decoded


# -- charsets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "codec", "label"),
    [
        ("こんにちは、世界", "iso2022_jp", "ISO-2022-JP"),
        ("ｶﾀｶﾅ and 漢字", "iso2022_jp_ext", "iso-2022-jp"),  # half-width katakana
        ("日本語のテキスト", "euc_jp", "EUC-JP"),
        ("①番 日本語", "cp932", "Shift_JIS"),  # a Windows extension labelled Shift_JIS
        ("Привет, мир", "cp1251", "windows-1251"),
        ("Привет, мир", "koi8_r", "KOI8-R"),
        ("你好，世界", "gb2312", "GB2312"),
        ("你好 𠀀 😀", "gb18030", "GB18030"),  # four-byte GB18030 forms
        ("你好 镕", "gbk", "gb2312"),  # GBK bytes labelled GB2312
        ("안녕하세요", "cp949", "ks_c_5601-1987"),
        ("Ünïcödé “quotes” €", "cp1252", "iso-8859-1"),  # Outlook's windows-1252 as Latin-1
        ("Ελληνικά", "iso8859_7", "ISO-8859-7"),
        ("ภาษาไทย", "cp874", "windows-874"),
        ("naïve", "utf-8", '"UTF-8"'),
        ("naïve", "utf-8", "utf8"),
        ("+ok", "utf-7", "UTF-7"),
    ],
)
def test_decode_charset(text: str, codec: str, label: str) -> None:
    assert decode_charset(text.encode(codec), label) == text


@pytest.mark.parametrize(
    ("data", "label", "text"),
    [
        ("naïve".encode(), None, "naïve"),  # no charset: UTF-8 if it is UTF-8
        ("naïve".encode(), "us-ascii", "naïve"),  # mislabelled as ASCII
        ("naïve “x”".encode("cp1252"), None, "naïve “x”"),  # else windows-1252
        (b"\x81\x8d", "x-unknown", "\x81\x8d"),  # else Latin-1
        ("naïve".encode(), "base64", "naïve"),  # a Python codec, not a charset
        ("naïve".encode(), "zlib", "naïve"),
        (b"abc", "undefined", "abc"),
        (b"caf\xe9 \xff", "utf-8", "caf\ufffd \ufffd"),  # declared: replacement characters
    ],
)
def test_unknown_or_missing_charsets_are_guessed(data: bytes, label: str | None, text: str) -> None:
    assert decode_charset(data, label) == text


# -- whole parts -------------------------------------------------------------------


def test_decode_part_iso_2022_jp_in_base64() -> None:
    text = "お世話になっております。\r\n田中です。\r\n"
    data = base64.encodebytes(text.encode("iso2022_jp"))
    decoded = decode_part(data, encoding="base64", charset="ISO-2022-JP", subtype="plain")
    assert decoded == "お世話になっております。\n田中です。\n"


def test_decode_part_windows_1251_in_quoted_printable() -> None:
    text = "Здравствуйте,\r\nсчёт во вложении.\r\n"
    data = binascii.b2a_qp(text.encode("cp1251"))
    assert b"=" in data
    decoded = decode_part(data, encoding="quoted-printable", charset="windows-1251", subtype="html")
    assert decoded == "Здравствуйте,\nсчёт во вложении.\n"


def test_decode_part_gb18030_8bit() -> None:
    data = "会议纪要\r\n第二行\r\n".encode("gb18030")
    assert decode_part(data, encoding="8bit", charset="GB18030", subtype="plain") == (
        "会议纪要\n第二行\n"
    )


def test_decode_part_unflows_plain_text_only() -> None:
    data = b"one \r\ntwo\r\n"
    assert decode_part(data, encoding=None, charset=None, subtype="plain", flowed=True) == (
        "one two\n"
    )
    assert decode_part(data, encoding=None, charset=None, subtype="html", flowed=True) == (
        "one \ntwo\n"
    )
    assert decode_part(data, encoding=None, charset=None, subtype="plain") == "one \ntwo\n"


def test_decode_text_part_takes_its_parameters_from_the_structure() -> None:
    structure = parse_structure(SINGLE_TEXT)  # ISO-8859-1, QP, format=flowed, delsp=yes
    data = b"Gr=FC=DFe aus K=F6ln, das ist ein lan \r\nger Absatz.\r\n-- \r\nJ=F6rg\r\n"
    assert decode_text_part(data, structure) == (
        "Grüße aus Köln, das ist ein langer Absatz.\n-- \nJörg\n"
    )


def test_join_texts() -> None:
    assert join_texts(["first", "", "second"]) == "first\nsecond"
    assert join_texts([]) == ""


# -- format=flowed -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("flowed", "delsp", "fixed"),
    [
        ("Hello \nworld\n", False, "Hello world\n"),
        ("Hello\nworld", False, "Hello\nworld"),
        ("日本語の \n文章です\n", True, "日本語の文章です\n"),  # DelSp for languages without spaces
        ("long lin \ne here\n", True, "long line here\n"),
        ("two  \nspaces\n", False, "two  spaces\n"),
        (" From me\n  indented\n", False, "From me\n indented\n"),  # space-stuffing undone
        ("> quoted \n> more\n", False, "> quoted more\n"),
        (">> deep \n>> deeper\n> shallow\n", False, ">> deep deeper\n> shallow\n"),
        (">quoted \n>no stuffing\n", False, "> quoted no stuffing\n"),
        ("> flowed \nbut unquoted next\n", False, "> flowed \nbut unquoted next\n"),
        (">\n> \n", False, ">\n>\n"),
        ("text \n-- \nsig\n", False, "text -- \nsig\n"),
        ("text\n-- \nsig \nline\n", False, "text\n-- \nsig line\n"),
        ("ends flowed \n", False, "ends flowed \n"),
        ("", False, ""),
        ("\n\n", False, "\n\n"),
    ],
)
def test_unflow(flowed: str, delsp: bool, fixed: str) -> None:
    assert unflow(flowed, delsp=delsp) == fixed


def test_unflow_of_many_empty_lines_does_not_recurse() -> None:
    assert unflow("\n" * 100_000) == "\n" * 100_000


# -- limit_utf8 --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "max_bytes", "result"),
    [
        ("hello", 0, ("hello", False)),
        ("hello", 5, ("hello", False)),
        ("hello", 4, ("hell", True)),
        ("aé€😀", 10, ("aé€😀", False)),
        ("aé€😀", 9, ("aé€", True)),
        ("aé€😀", 7, ("aé€", True)),
        ("aé€😀", 6, ("aé€", True)),
        ("aé€😀", 5, ("aé", True)),
        ("aé€😀", 3, ("aé", True)),
        ("aé€😀", 2, ("a", True)),
        ("😀", 3, ("", True)),
        ("e\u0301", 1, ("e", True)),  # combining marks are their own code points
    ],
)
def test_limit_utf8(text: str, max_bytes: int, result: tuple[str, bool]) -> None:
    assert limit_utf8(text, max_bytes) == result


def test_limit_utf8_refuses_negative_limits() -> None:
    with pytest.raises(ValueError):
        limit_utf8("x", -1)


@given(st.text(), st.integers(0, 64))
def test_limit_utf8_gives_the_longest_fitting_prefix(text: str, max_bytes: int) -> None:
    limited, has_more = limit_utf8(text, max_bytes)
    assert text.startswith(limited)
    assert has_more == (limited != text)
    if max_bytes:
        assert len(limited.encode("utf-8", "surrogatepass")) <= max_bytes
    if has_more:
        longer = text[: len(limited) + 1]
        assert len(longer.encode("utf-8", "surrogatepass")) > max_bytes


# -- fetch_budget ------------------------------------------------------------------


def test_fetch_budget_without_a_limit_is_everything() -> None:
    assert fetch_budget(0, "base64") is None


@pytest.mark.parametrize("encoding", [None, "7bit", "8bit", "base64", "quoted-printable"])
def test_fetch_budget_grows_with_the_limit(encoding: str | None) -> None:
    small, large = fetch_budget(100, encoding), fetch_budget(10_000, encoding)
    assert small is not None and large is not None
    assert 100 < small < large


TEXT_POOL = "ab cd\r\n\r\nПривет こんにちは 你好 €é ＡＢ"
CHARSETS = ["utf-8", "windows-1251", "iso-2022-jp", "gb18030", "shift_jis", "utf-16"]
TRANSFERS: dict[str, Callable[[bytes], bytes]] = {
    "base64": base64.encodebytes,
    "quoted-printable": binascii.b2a_qp,
    "8bit": lambda data: data,
}


def encodable(charset: str) -> str:
    """The characters of TEXT_POOL that ``charset`` has."""
    return "".join(char for char in TEXT_POOL if char.encode(charset, "ignore"))


#: (charset, a text in it long enough to exceed any budget below)
TEXTS_IN_CHARSETS = st.sampled_from(CHARSETS).flatmap(
    lambda charset: st.tuples(
        st.just(charset),
        st.text(encodable(charset), min_size=1, max_size=40).map(
            lambda text: text * (5000 // len(text) + 1)
        ),
    )
)


@given(TEXTS_IN_CHARSETS, st.sampled_from(sorted(TRANSFERS)), st.integers(1, 200), st.booleans())
def test_fetch_budget_covers_the_limit(
    text_in_charset: tuple[str, str], encoding: str, max_bytes: int, flowed: bool
) -> None:
    charset, text = text_in_charset
    raw = TRANSFERS[encoding](text.encode(charset))
    budget = fetch_budget(max_bytes, encoding)
    assert budget is not None
    assume(len(raw) > budget)
    decoded = decode_part(
        raw[:budget], encoding=encoding, charset=charset, subtype="plain", flowed=flowed
    )
    limited, has_more = limit_utf8(decoded, max_bytes)
    assert has_more
    full = decode_part(raw, encoding=encoding, charset=charset, subtype="plain", flowed=flowed)
    assert full.startswith(limited)


# -- never raises ------------------------------------------------------------------

ENCODINGS = st.sampled_from([None, "", "base64", "quoted-printable", "7bit", "x-unknown"])
LABELS = st.one_of(
    st.none(),
    st.sampled_from(["utf-8", "iso-2022-jp", "gb2312", "utf-16", "utf-7", "idna", "rot13"]),
    st.text(max_size=20),
)


@given(st.binary(max_size=400), ENCODINGS, LABELS, st.booleans(), st.booleans())
def test_decode_part_never_raises(
    data: bytes, encoding: str | None, charset: str | None, flowed: bool, delsp: bool
) -> None:
    text = decode_part(
        data, encoding=encoding, charset=charset, subtype="plain", flowed=flowed, delsp=delsp
    )
    assert "\r\n" not in text
