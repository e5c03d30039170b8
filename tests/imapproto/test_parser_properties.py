"""Properties of the response parser: chunking invariance, robustness, linear time."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imapproto._errors import ProtocolError
from imapproto._events import NEED_DATA, ConnectionClosed, Event, FetchLiteralData
from imapproto._parser import ResponseParser

CORPUS = Path(__file__).parent / "corpus" / "imap-responses.jsonl"


def _corpus_streams() -> list[bytes]:
    streams = []
    for line in CORPUS.read_text("utf-8").splitlines():
        case = json.loads(line)
        if case["kind"] == "utf7" or "expect-error" in case.get("tags", []):
            continue
        data = str(case["input"]).encode(case.get("input_encoding") or "utf-8")
        if "bare-tokens" in case.get("tags", []):
            data = b"* X " + data
        if _parses_cleanly(data):
            streams.append(data)
    return streams


def _parses_cleanly(data: bytes) -> bool:
    parser = ResponseParser()
    parser.feed(data)
    parser.feed(b"")
    try:
        while not isinstance(parser.next_event(), ConnectionClosed):
            pass
    except ProtocolError:
        return False
    return True


VALID = _corpus_streams()
# Everything at once, plus body literals big enough to be streamed.
BIG_BODY = bytes(range(256)) * 16
STREAMED = (
    b"* 1 FETCH (UID 1 BODY[] {4096}\r\n" + BIG_BODY + b" FLAGS (\\Seen))\r\n"
    b"* 2 FETCH (BINARY[1] ~{4096}\r\n" + BIG_BODY + b")\r\na1 OK done\r\n"
)
ALL_VALID = b"".join(VALID) + STREAMED
THRESHOLD = 1000


def run(chunks: list[bytes], eof: bool = True) -> list[Event]:
    """Events for a stream fed in ``chunks``, streamed literal data joined."""
    parser = ResponseParser(literal_stream_threshold=THRESHOLD)
    result: list[Event] = []
    for chunk in [*chunks, b""] if eof else chunks:
        parser.feed(chunk)
        while (event := parser.next_event()) is not NEED_DATA:
            assert isinstance(event, Event)
            if (
                isinstance(event, FetchLiteralData)
                and result
                and isinstance(result[-1], FetchLiteralData)
            ):
                result[-1] = FetchLiteralData(result[-1].data + event.data)
            else:
                result.append(event)
    return result


def split(data: bytes, points: list[int]) -> list[bytes]:
    """``data`` cut at ``points`` (no empty pieces: feeding b"" means end of stream)."""
    cuts = sorted({p % (len(data) + 1) for p in points})
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    return [piece for piece in pieces if piece]


REFERENCE = run([ALL_VALID])


def test_reference_stream_is_fully_parsed() -> None:
    assert isinstance(REFERENCE[-1], ConnectionClosed)
    assert len(REFERENCE) > 300


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0), max_size=400))
def test_chunking_invariance(points: list[int]) -> None:
    assert run(split(ALL_VALID, points)) == REFERENCE


def test_one_byte_at_a_time() -> None:
    assert run([ALL_VALID[i : i + 1] for i in range(len(ALL_VALID))]) == REFERENCE


def drain(data: bytes, chunks: list[bytes]) -> None:
    """Feed everything and read every event; only ProtocolError may escape."""
    parser = ResponseParser(literal_stream_threshold=64, max_line_length=4096)
    for chunk in [*chunks, b""]:
        parser.feed(chunk)
        for _ in range(10_000):
            try:
                event = parser.next_event()
            except ProtocolError:
                continue
            if event is NEED_DATA or isinstance(event, ConnectionClosed):
                break
        else:
            raise AssertionError("parser did not settle")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.lists(st.integers(min_value=0), max_size=5))
def test_random_bytes_raise_only_protocol_errors(data: bytes, points: list[int]) -> None:
    drain(data, split(data, points))


PIECES = [
    b"* ",
    b"+ ",
    b"a1 OK ",
    b"FETCH (",
    b"BODYSTRUCTURE (",
    b"ENVELOPE (",
    b"(",
    b")",
    b'"',
    b"\\",
    b"{3}\r\n",
    b"~{2}\r\n",
    b"{99999999999}\r\n",
    b"NIL",
    b" ",
    b"\r\n",
    b"\n",
    b"[",
    b"]",
    b"1",
    b"4294967296",
    b"\xff",
    b"BODY[1]<0>",
    b"UID",
    b"LIST",
    b"STATUS",
    b"ESEARCH",
    b"VANISHED",
    b"[COPYUID 1 2 3]",
]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(VALID),
    st.lists(
        st.tuples(st.integers(min_value=0), st.integers(0, 3), st.sampled_from(PIECES)),
        min_size=1,
        max_size=6,
    ),
)
def test_mutated_responses_raise_only_protocol_errors(
    data: bytes, mutations: list[tuple[int, int, bytes]]
) -> None:
    mutated = bytearray(data)
    for position, kind, piece in mutations:
        position %= len(mutated) + 1
        if kind == 0:
            del mutated[position : position + len(piece)]
        elif kind == 1:
            mutated[position:position] = piece
        elif kind == 2:
            mutated[position : position + len(piece)] = piece
        else:
            del mutated[position:]
    drain(bytes(mutated), [bytes(mutated)])


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(VALID), st.lists(st.sampled_from(PIECES), min_size=1, max_size=20))
def test_structured_garbage_raises_only_protocol_errors(data: bytes, pieces: list[bytes]) -> None:
    drain(data + b"".join(pieces) + b"\r\n", [data, b"".join(pieces), b"\r\n"])


# -- linear time ------------------------------------------------------------------------


class CountingBuffer(bytearray):
    """A bytearray that counts the bytes its ``find`` calls look at."""

    scanned = 0

    def find(self, sub: object, start: int = 0, end: int | None = None) -> int:  # type: ignore[override]
        found = super().find(sub, start, end)  # type: ignore[call-overload]
        stop = len(self) if found < 0 else found + 1
        CountingBuffer.scanned += max(0, stop - start)
        return int(found)


def scanned_bytes(data: bytes, chunk: int) -> int:
    parser = ResponseParser(literal_stream_threshold=THRESHOLD)
    parser._buffer._buffer = CountingBuffer()
    CountingBuffer.scanned = 0
    for start in range(0, len(data), chunk):
        parser.feed(data[start : start + chunk])
        while parser.next_event() is not NEED_DATA:
            pass
    return CountingBuffer.scanned


def test_line_scanning_is_linear_whatever_the_chunking() -> None:
    # One very long line (a SEARCH with 20,000 results) and many short ones.
    long_line = b"* SEARCH " + b" ".join(b"%d" % n for n in range(1, 20_001)) + b"\r\n"
    data = long_line + ALL_VALID * 3
    for chunk in (1, 7, 4096, len(data)):
        assert scanned_bytes(data, chunk) <= len(data)
