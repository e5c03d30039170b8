"""RFC 2047 encoded words and raw header blocks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trimap.messages.headers import decode_words, parse_headers


@pytest.mark.parametrize(
    ("value", "decoded"),
    [
        ("Plain subject", "Plain subject"),
        ("=?UTF-8?B?w4VzYSDDlnN0bHVuZA==?=", "Åsa Östlund"),
        ("=?iso-8859-1?q?Peter_P=F5der?=", "Peter Põder"),
        ("Re: =?utf-8?Q?caf=C3=A9?= meeting", "Re: café meeting"),
        ("=?utf-8?q?one?= =?utf-8?q?_two?=", "one two"),  # white space between words dropped
        ("=?utf-8?q?one?=\r\n =?utf-8?q?two?=", "onetwo"),  # also when folded
        ("=?utf-8?q?one?= and =?utf-8?q?two?=", "one and two"),  # other text is kept
        ("=?utf-8?B?5pel5pys?= =?utf-8?B?6Kqe?=", "日本語"),
        ("=?utf-8?B?5pel5g==?= =?utf-8?B?nKzoqp4=?=", "日本語"),  # a character split across words
        ("=?utf-8?q?caf=C3?==?utf-8?q?=A9?=", "café"),  # ... and with no space between
        ("=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=", "こんにちは"),
        ("=?windows-1251?Q?=CF=F0=E8=E2=E5=F2?= =?koi8-r?Q?=CD=C9=D2?=", "Приветмир"),
        ("=?gb2312?B?xOO6ww==?=", "你好"),
        ("=?utf-8*en?q?language_tag?=", "language tag"),  # RFC 2231 language suffix
        ("=?x-unknown?q?caf=C3=A9?=", "café"),  # unknown charset: guessed
        ("=?utf-8?B?w4VzYQ?=", "Åsa"),  # base64 without padding
        ("=?utf-8?B?w4V!!zYQ==?=", "Åsa"),  # stray characters
        ("=?utf-8?q?broken=ZZ?=", "broken=ZZ"),
        ("=?utf-8?x?not a word?=", "=?utf-8?x?not a word?="),
        ("=?utf-8?q?unterminated", "=?utf-8?q?unterminated"),
        ("Grüße, raw 8-bit UTF-8", "Grüße, raw 8-bit UTF-8"),
        ("  =?utf-8?q?leading?=", "  leading"),
    ],
)
def test_decode_words(value: str, decoded: str) -> None:
    assert decode_words(value) == decoded


@given(st.text())
def test_decode_words_never_raises(value: str) -> None:
    decode_words(value)
    decode_words(f"=?utf-8?q?{value}?= =?{value}?b?{value}?=")


RAW_HEADER = (
    b"Return-Path: <ann@example.com>\r\n"
    b"Received: from mx.example.com (mx.example.com [192.0.2.1])\r\n"
    b"\tby imap.example.com with ESMTPS id 1234\r\n"
    b"\tfor <bob@example.com>; Thu, 17 Dec 2020 09:59:58 +0000\r\n"
    b"Received: from [10.0.0.2] by mx.example.com; Thu, 17 Dec 2020 09:59:57 +0000\r\n"
    b"Subject: =?utf-8?q?Test_message?=\r\n"
    b"X-Mailer : Outlook  \r\n"
    b"X-Latin1: caf\xe9\r\n"
    b"X-Empty:\r\n"
    b"not a header line\r\n"
    b" continuation of nothing\r\n"
    b"DKIM-Signature: v=1; a=rsa-sha256;\n b=abc\n"
    b"\r\n"
    b"Body: not a header\r\n"
)


def test_parse_headers() -> None:
    assert parse_headers(RAW_HEADER) == {
        "return-path": ["<ann@example.com>"],
        "received": [
            "from mx.example.com (mx.example.com [192.0.2.1])\tby imap.example.com with ESMTPS"
            " id 1234\tfor <bob@example.com>; Thu, 17 Dec 2020 09:59:58 +0000",
            "from [10.0.0.2] by mx.example.com; Thu, 17 Dec 2020 09:59:57 +0000",
        ],
        "subject": ["=?utf-8?q?Test_message?="],
        "x-mailer": ["Outlook"],
        "x-latin1": ["café"],
        "x-empty": [""],
        "dkim-signature": ["v=1; a=rsa-sha256; b=abc"],
    }


def test_parse_headers_of_nothing() -> None:
    assert parse_headers(b"") == {}
    assert parse_headers(b"\r\n") == {}


@given(st.binary())
def test_parse_headers_never_raises(raw: bytes) -> None:
    for name, values in parse_headers(raw).items():
        assert name == name.lower() and ":" not in name
        assert all(value == value.strip() for value in values)
