"""Modified UTF-7 mailbox names: corpus pairs, tolerant decoding, round trips."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imapproto._errors import LocalProtocolError
from imapproto._utf7 import decode_mailbox, encode_mailbox

CORPUS = Path(__file__).parent / "corpus" / "imap-responses.jsonl"


def _corpus_pairs() -> list[tuple[str, str]]:
    """The corpus' ``utf7`` cases as (wire form, decoded name)."""
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    cases = [json.loads(line) for line in lines if line.strip()]
    return [(case["input"], case["expected"]) for case in cases if case["kind"] == "utf7"]


UTF7_PAIRS = _corpus_pairs()


def test_corpus_has_utf7_cases() -> None:
    assert len(UTF7_PAIRS) >= 10


@pytest.mark.parametrize(("wire", "name"), UTF7_PAIRS)
def test_corpus_decode(wire: str, name: str) -> None:
    assert decode_mailbox(wire.encode("ascii")) == name


@pytest.mark.parametrize(("wire", "name"), UTF7_PAIRS)
def test_corpus_encode(wire: str, name: str) -> None:
    assert encode_mailbox(name) == wire.encode("ascii")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Raw UTF-8 from a server that does not encode names.
        ("Données".encode(), "Données"),
        ("日本語".encode(), "日本語"),
        # Not UTF-8 either: Latin-1.
        (b"Donn\xe9es", "Données"),
        # A bare "&" that does not start a shifted sequence.
        (b"AT&T", "AT&T"),
        (b"Tom & Jerry", "Tom & Jerry"),
        (b"&", "&"),
        (b"x&AP8", "x&AP8"),
        # Bad base64, odd byte counts, non-zero padding bits, lone surrogates.
        (b"&Jjo!-", "&Jjo!-"),
        (b"&AP-", "&AP-"),
        (b"&AP9-", "&AP9-"),
        (b"&2D0-", "&2D0-"),
        # Shifted printable ASCII is tolerated.
        (b"&AEE-", "A"),
        (b"", ""),
    ],
)
def test_decode_is_tolerant(raw: bytes, expected: str) -> None:
    assert decode_mailbox(raw) == expected


def test_surrogate_pair_is_one_shifted_run() -> None:
    assert encode_mailbox("a😀b") == b"a&2D3eAA-b"
    assert decode_mailbox(b"a&2D3eAA-b") == "a😀b"


def test_lone_surrogate_cannot_be_encoded() -> None:
    with pytest.raises(LocalProtocolError):
        encode_mailbox("bad\udcff")


@settings(max_examples=300)
@given(st.text())
def test_round_trip(name: str) -> None:
    wire = encode_mailbox(name)
    assert all(0x20 <= byte <= 0x7E for byte in wire)
    assert not re.search(rb"&[A-Za-z0-9+,]+-&[A-Za-z0-9+,]+-", wire)
    assert decode_mailbox(wire) == name


@settings(max_examples=300)
@given(st.binary())
def test_decode_never_raises(raw: bytes) -> None:
    assert isinstance(decode_mailbox(raw), str)


@settings(max_examples=200)
@given(
    st.text(
        alphabet=st.characters(min_codepoint=0x80, exclude_categories=["Cs"]),
        min_size=1,
    )
)
def test_matches_stdlib_utf7_base64(name: str) -> None:
    # Independent oracle: the shifted payload is the UTF-16BE bytes in base64.
    wire = encode_mailbox(name)
    assert wire.startswith(b"&") and wire.endswith(b"-")
    payload = wire[1:-1].replace(b",", b"/")
    decoded = base64.b64decode(payload + b"=" * (-len(payload) % 4))
    assert decoded.decode("utf-16-be") == name
