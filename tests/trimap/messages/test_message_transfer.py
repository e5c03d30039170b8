"""Streaming transfer decoding: the same bytes as the whole-part decoder, in bounded memory.

The independent implementation checked against is ``decode_transfer`` itself, run over the
whole input at once (base64 through ``base64``, quoted-printable through ``binascii.a2b_qp``).
"""

from __future__ import annotations

import base64
import quopri

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trimap.messages.text import decode_transfer
from trimap.messages.transfer import transfer_decoder, transfer_is_identity


def streamed(encoding: str | None, data: bytes, sizes: list[int], max_line: int = 64) -> bytes:
    """``data`` fed in chunks of ``sizes`` (cycled; 0 feeds an empty chunk), then finished."""
    decoder = transfer_decoder(encoding, max_line=max_line)
    out = []
    offset = 0
    for size in sizes * (len(data) + 1):
        if offset >= len(data):
            break
        out.append(decoder.feed(data[offset : offset + size]))
        offset += size
    out.append(decoder.feed(data[offset:]))
    out.append(decoder.finish())
    return b"".join(out)


chunk_sizes = st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=8)
# the bytes that matter to each decoder, plus a few that do not
qp_input = st.binary(max_size=200) | st.lists(
    st.sampled_from([b"=", b"\r", b"\n", b"A", b"f", b"3", b" ", b"\t", b"x", b"=\r\n", b"=4"]),
    max_size=80,
).map(b"".join)
base64_input = st.binary(max_size=200) | st.lists(
    st.sampled_from([b"Q", b"UJ", b"D+/", b"=", b"\r\n", b"*", b" ", b"z9"]), max_size=80
).map(b"".join)


@given(data=qp_input, sizes=chunk_sizes, max_line=st.integers(min_value=0, max_value=12))
def test_quoted_printable_streams_as_it_decodes_whole(
    data: bytes, sizes: list[int], max_line: int
) -> None:
    whole = decode_transfer(data, "quoted-printable")
    assert streamed("quoted-printable", data, sizes, max_line) == whole


@given(data=base64_input, sizes=chunk_sizes)
def test_base64_streams_as_it_decodes_whole(data: bytes, sizes: list[int]) -> None:
    assert streamed("base64", data, sizes) == decode_transfer(data, "base64")


@given(data=st.binary(max_size=100), sizes=chunk_sizes)
@pytest.mark.parametrize("encoding", [None, "7bit", "8BIT", "binary", "x-uuencode"])
def test_other_encodings_pass_through(encoding: str | None, data: bytes, sizes: list[int]) -> None:
    assert streamed(encoding, data, sizes) == data
    assert transfer_is_identity(encoding)


def test_only_base64_and_quoted_printable_change_sizes() -> None:
    assert not transfer_is_identity(" Base64 ")
    assert not transfer_is_identity("Quoted-Printable")


def test_real_bodies_round_trip() -> None:
    payload = bytes(range(256)) * 300
    assert streamed("base64", base64.encodebytes(payload), [4096, 1, 333]) == payload
    text = ("Grüße, € und ½ " * 500).encode()
    assert streamed("quoted-printable", quopri.encodestring(text), [4096, 7]) == text


def test_a_line_without_end_is_decoded_as_it_comes() -> None:
    """A hostile part: one megabyte of quoted-printable without a line feed."""
    decoder = transfer_decoder("quoted-printable", max_line=1024)
    chunk = b"=C3=A9" * 1000  # 6000 bytes, 2000 decoded
    given = [len(decoder.feed(chunk)) for _ in range(200)]
    assert all(size >= 2000 - 1024 for size in given[1:])  # only about max_line waits
    assert sum(given) + len(decoder.finish()) == 400_000


def test_the_equals_cr_skip_of_a2b_qp_is_kept_across_chunks() -> None:
    """a2b_qp drops everything from "=" CR to the next line feed; so does the stream."""
    data = b"kept=\r" + b"dropped " * 100 + b"\nafter=41"
    assert decode_transfer(data, "quoted-printable") == b"kept" + b"afterA"
    for size in (1, 5, 64, 1000):
        assert streamed("quoted-printable", data, [size], max_line=16) == b"keptafterA"
