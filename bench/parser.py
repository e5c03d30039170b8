"""Benchmark: imapproto's ResponseParser against IMAPClient's parser on the same bytes.

Run: ``.venv/bin/python bench/parser.py [--messages 10000] [--bodies 1000] [--repeat 3]``

Two deterministic (seeded) server streams are generated:

* ``envelope``: N responses ``* n FETCH (UID FLAGS INTERNALDATE RFC822.SIZE
  ENVELOPE BODYSTRUCTURE)`` with varied envelopes (RFC 2047 names, several
  recipients, groups, NIL fields) and body structures (plain, alternative,
  mixed with attachments, nested message/rfc822, RFC 2231 parameters);
* ``bodies``: M responses ``* n FETCH (UID n RFC822.SIZE s BODY[] {50000}``
  + 50 KB literal + ``)``.

imapproto is fed the raw bytes in 64 KiB chunks (as a socket would deliver
them) and every event is taken: its time includes framing, literal extraction
and building typed events.  IMAPClient never sees raw bytes: imaplib reads the
socket, cuts lines and literals and hands ``parse_fetch_response`` a list of
``b"n (...)"`` strings and ``(b"n (... {size}", literal)`` tuples followed by
the rest of the line.  The benchmark builds exactly that list beforehand and
times only ``parse_fetch_response`` on it, so IMAPClient is *not* charged for
imaplib's framing: the comparison favours IMAPClient.  MB/s are in units of
the raw stream size for both.  Best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import imaplib
import io
import random
import re
import time
from collections.abc import Callable

from imapclient.response_parser import parse_fetch_response

from imapproto._events import NEED_DATA, Fetch
from imapproto._parser import ResponseParser

FIRST_NAMES = ["Anna", "Björn", "Chloé", "Dmitri", "Eve", "Fatima", "Günther", "Hiro", "Ines"]
LAST_NAMES = ["Smith", "Müller", "O'Brien", "Nakamura", "Dubois", "Kowalski", "Nguyen"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.net", "gmail.com", "yahoo.co.uk"]
WORDS = [
    "quarterly",
    "report",
    "meeting",
    "invoice",
    "lunch",
    "project",
    "update",
    "re",
    "fwd",
    "urgent",
    "draft",
    "plan",
]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _encoded_word(text: str) -> str:
    import base64

    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def _name(rng: random.Random) -> str:
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    if not name.isascii() and rng.random() < 0.7:
        return _quote(_encoded_word(name))
    return _quote(name)


def _address(rng: random.Random) -> str:
    name = _name(rng) if rng.random() < 0.8 else "NIL"
    mailbox = rng.choice(FIRST_NAMES).lower().encode("ascii", "ignore").decode() or "user"
    return f"({name} NIL {_quote(mailbox + str(rng.randrange(100)))} {_quote(rng.choice(DOMAINS))})"


def _address_list(rng: random.Random, low: int, high: int) -> str:
    count = rng.randint(low, high)
    if count == 0:
        return "NIL"
    items = [_address(rng) for _ in range(count)]
    if rng.random() < 0.05:  # a group
        items = ['(NIL NIL "undisclosed-recipients" NIL)', *items, "(NIL NIL NIL NIL)"]
    return "(" + "".join(items) + ")"


def _envelope(rng: random.Random, uid: int) -> str:
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8)))
    if rng.random() < 0.3:
        subject = _encoded_word(subject + " ✓")
    date = f"Mon, {rng.randint(1, 28)} Mar 2024 {rng.randint(0, 23):02d}:14:07 +0100"
    sender = _address_list(rng, 1, 1)
    in_reply_to = _quote(f"<{uid - 1}.prev@example.com>") if rng.random() < 0.4 else "NIL"
    fields = [
        _quote(date),
        _quote(subject),
        sender,
        sender,
        sender,
        _address_list(rng, 1, 4),
        _address_list(rng, 0, 3),
        _address_list(rng, 0, 1),
        in_reply_to,
        _quote(f"<{uid}.{rng.randrange(10**9)}@mail.example.com>"),
    ]
    return "(" + " ".join(fields) + ")"


def _text_part(rng: random.Random, subtype: str) -> str:
    size = rng.randint(200, 20000)
    return (
        f'("text" "{subtype}" ("charset" "utf-8") NIL NIL "quoted-printable" {size} '
        f"{size // 60} NIL NIL NIL NIL)"
    )


def _attachment(rng: random.Random) -> str:
    if rng.random() < 0.5:
        params = '("name*0*" "utf-8\'\'%E2%82%AC%20rates" "name*1" ".pdf")'
        disposition = '("attachment" ("filename*" "utf-8\'\'%E2%82%AC%20rates.pdf"))'
    else:
        params = '("name" "report.pdf")'
        disposition = '("attachment" ("filename" "report.pdf" "size" "120000"))'
    return (
        f'("application" "pdf" {params} NIL NIL "base64" {rng.randint(1000, 900000)} '
        f"NIL {disposition} NIL NIL)"
    )


def _alternative(rng: random.Random) -> str:
    boundary = f"b{rng.randrange(10**12)}"
    return (
        f'({_text_part(rng, "plain")}{_text_part(rng, "html")} "alternative" '
        f'("boundary" "{boundary}") NIL NIL NIL)'
    )


def _bodystructure(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if roll < 0.3 or depth > 1:
        return _text_part(rng, "plain")
    if roll < 0.6:
        return _alternative(rng)
    parts = [_alternative(rng)] + [_attachment(rng) for _ in range(rng.randint(1, 3))]
    if roll > 0.9:
        inner = _bodystructure(rng, depth + 1)
        parts.append(
            f'("message" "rfc822" NIL NIL NIL "7bit" 4000 {_envelope(rng, 7)} {inner} 80 '
            "NIL NIL NIL NIL)"
        )
    return f'({"".join(parts)} "mixed" ("boundary" "m{rng.randrange(10**9)}") NIL NIL NIL)'


def envelope_stream(count: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    lines = []
    for seq in range(1, count + 1):
        uid = 1000 + seq
        flags = " ".join(rng.sample(["\\Seen", "\\Answered", "\\Flagged", "$Forwarded"], 2))
        lines.append(
            f"* {seq} FETCH (UID {uid} FLAGS ({flags}) "
            f'INTERNALDATE "{rng.randint(1, 28):02d}-Mar-2024 10:14:07 +0100" '
            f"RFC822.SIZE {rng.randint(1000, 10**6)} ENVELOPE {_envelope(rng, uid)} "
            f"BODYSTRUCTURE {_bodystructure(rng)})\r\n"
        )
    return "".join(lines).encode()


def body_stream(count: int, size: int = 50_000, seed: int = 2) -> bytes:
    rng = random.Random(seed)
    line = b"The quick brown fox jumps over the lazy dog 0123456789 abcdefghij\r\n"
    chunks = []
    for seq in range(1, count + 1):
        body = (line * (size // len(line) + 1))[:size]
        body = bytes([65 + rng.randrange(26)]) + body[1:]
        chunks.append(
            b"* %d FETCH (UID %d RFC822.SIZE %d BODY[] {%d}\r\n%s)\r\n"
            % (seq, 1000 + seq, size, size, body)
        )
    return b"".join(chunks)


def run_imapproto(stream: bytes, chunk: int = 65536) -> int:
    parser = ResponseParser()
    fetches = 0
    for start in range(0, len(stream), chunk):
        parser.feed(stream[start : start + chunk])
        while (event := parser.next_event()) is not NEED_DATA:
            if type(event) is Fetch:
                fetches += 1
    return fetches


_LITERAL_AT_END = re.compile(rb"\{(\d+)\}\r\n$")


def imaplib_items(stream: bytes) -> list[bytes | tuple[bytes, bytes]]:
    """The FETCH data imaplib would hand IMAPClient for this stream."""
    items: list[bytes | tuple[bytes, bytes]] = []
    position = 0
    while position < len(stream):
        end = stream.index(b"\r\n", position) + 2
        line = stream[position:end]
        position = end
        match = _LITERAL_AT_END.search(line)
        text = line[2:-2].replace(b" FETCH", b"", 1)
        if match is None:
            items.append(text)
            continue
        size = int(match.group(1))
        items.append((text, stream[position : position + size]))
        position += size
        end = stream.index(b"\r\n", position) + 2
        items.append(stream[position : end - 2])
        position = end
    return items


def imaplib_framing(stream: bytes) -> list[bytes | tuple[bytes, bytes]]:
    """Let imaplib itself cut the stream (as IMAPClient's socket path does), from memory."""
    reader = imaplib.IMAP4.__new__(imaplib.IMAP4)
    reader.debug = 0
    reader.tagged_commands = {}
    reader.untagged_responses = {}
    reader.tagre = re.compile(rb"(?P<tag>A\d+) (?P<type>[A-Z]+) (?P<data>.*)", re.ASCII)
    reader._mode_ascii()
    reader._cmd_log_len, reader._cmd_log_idx, reader._cmd_log = 10, 0, {}  # as __init__ sets
    reader.file = io.BytesIO(stream)
    size = len(stream)
    while reader.file.tell() < size:
        reader._get_response()
    items: list[bytes | tuple[bytes, bytes]] = reader.untagged_responses["FETCH"]
    return items


def run_imapclient(items: list[bytes | tuple[bytes, bytes]]) -> int:
    return len(parse_fetch_response(items, normalise_times=False, uid_is_key=False))  # type: ignore[arg-type]


def best_time(function: Callable[[], int], repeat: int) -> tuple[float, int]:
    """Best CPU time of ``repeat`` runs (CPU time: other processes on the box do not count)."""
    best = float("inf")
    result = 0
    for _ in range(repeat):
        started = time.process_time()
        result = function()
        best = min(best, time.process_time() - started)
    return best, result


def report(label: str, stream: bytes, repeat: int) -> None:
    items = imaplib_items(stream)
    assert items == imaplib_framing(stream)
    ours, count = best_time(lambda: run_imapproto(stream), repeat)
    theirs, their_count = best_time(lambda: run_imapclient(items), repeat)
    framed, _ = best_time(lambda: run_imapclient(imaplib_framing(stream)), repeat)
    assert count == their_count, (count, their_count)
    megabytes = len(stream) / 1e6
    print(f"{label}: {count} messages, {megabytes:.1f} MB")
    for name, seconds in (
        ("imapproto (bytes in, events out)", ours),
        ("IMAPClient parse_fetch_response only", theirs),
        ("IMAPClient incl. imaplib framing", framed),
    ):
        print(
            f"  {name:<38} {megabytes / seconds:8.1f} MB/s {count / seconds:9.0f} messages/s"
            f"  ({seconds * 1000:.0f} ms)"
        )
    print(f"  speed-up: {theirs / ours:.1f}x over parse only, {framed / ours:.1f}x over both")


def report_scaling(stream: bytes, repeat: int) -> None:
    """Time per MB for 1x, 2x, 4x and 8x the same stream: flat means linear."""
    print("scaling (the ENVELOPE/BODYSTRUCTURE stream repeated):")
    for factor in (1, 2, 4, 8):
        data = stream * factor
        seconds, _ = best_time(lambda data=data: run_imapproto(data), repeat)
        megabytes = len(data) / 1e6
        print(f"  {factor}x  {megabytes:6.1f} MB  {seconds / megabytes * 1000:6.1f} ms/MB")


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--messages", type=int, default=10_000)
    arguments.add_argument("--bodies", type=int, default=1_000)
    arguments.add_argument("--repeat", type=int, default=3)
    options = arguments.parse_args()
    report(
        "FETCH UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE",
        envelope_stream(options.messages),
        options.repeat,
    )
    report("FETCH BODY[] with 50 KB literals", body_stream(options.bodies), options.repeat)
    report_scaling(envelope_stream(options.messages // 4), options.repeat)


if __name__ == "__main__":
    main()
