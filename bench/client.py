"""Benchmark: imapproto's trio client against IMAPClient on a real Dovecot, in the same run.

Run: ``.venv/bin/python bench/client.py [--messages 10000] [--repeat 3] [--appends 20]``

It starts a private Dovecot with the project's test bed (``tests/fixtures/mail_server.py``,
which drives ``tests/testbed/dovecot.sh``), creates one account and writes a seeded, varied
INBOX straight into its Maildir (plain text, multipart/alternative, attachments, forwarded
message/rfc822, RFC 2047 non-ASCII names and subjects, threads).  Then:

* **FETCH**: ``UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)`` of
  the whole INBOX, once with ``ImapClient.fetch`` (every ``Fetch`` event built) and once with
  IMAPClient's ``fetch`` (its dict of parsed items; it is given the UIDs of an untimed SEARCH,
  since it only returns the messages it was asked for by number), alternating, best of
  ``--repeat`` after one warm-up each (the first fetch makes Dovecot build its cache).  Only
  the FETCH is timed, over plain TCP on loopback, after LOGIN and SELECT.
* **IDLE push latency**: our client and a bare imaplib client both IDLE on the INBOX; a second
  connection APPENDs ``--appends`` messages, one at a time; for each, the time from just before
  the APPEND is sent until each watcher has read the EXISTS.  p50/p99.

Everything it started is stopped and its data directory removed, even on failure.
"""

from __future__ import annotations

import argparse
import base64
import imaplib
import os
import random
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import trio
from imapclient import IMAPClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test bed lives in tests/

from imapproto._events import Exists, Fetch  # noqa: E402
from imapproto.client import Security, connect  # noqa: E402
from tests.fixtures.mail_server import MailServer, MailUser  # noqa: E402
from tests.fixtures.processes import running_server  # noqa: E402

ITEMS = ["UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE"]
NAMES = ["Anna Smith", "Björn Müller", "Chloé Dubois", "Dmitri Ivanov", "Eve O'Brien",
         "Fatima Nguyen", "Günther Kowalski", "Hiro Nakamura", "Inès Martín"]  # fmt: skip
DOMAINS = ["example.com", "mail.example.org", "corp.example.net", "example.co.uk"]
WORDS = ["quarterly", "report", "meeting", "invoice", "lunch", "project", "update", "Entwurf",
         "réunion", "urgent", "draft", "plan", "Übersicht", "budget"]  # fmt: skip
MAIL_UID = MAIL_GID = 8  # Dovecot's "mail" user owns the test bed's Maildirs


# -- the mailbox --------------------------------------------------------------------


def _header_text(text: str) -> str:
    """RFC 2047 for non-ASCII header text, as mail clients write it."""
    if text.isascii():
        return text
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def _person(rng: random.Random) -> str:
    name = rng.choice(NAMES)
    local = name.split()[0].lower().encode("ascii", "ignore").decode() or "user"
    shown = _header_text(name) if not name.isascii() else f'"{name}"'
    return f"{shown} <{local}{rng.randrange(100)}@{rng.choice(DOMAINS)}>"


def _text(rng: random.Random, lines: int) -> str:
    return "\r\n".join(" ".join(rng.choices(WORDS, k=rng.randrange(5, 14))) for _ in range(lines))


def _part(content_type: str, body: str, *extra: str) -> str:
    return "\r\n".join([f"Content-Type: {content_type}", *extra, "", body])


def _multipart(subtype: str, boundary: str, parts: list[str]) -> str:
    inner = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts)
    return _part(f'multipart/{subtype}; boundary="{boundary}"', f"{inner}--{boundary}--")


def _message(rng: random.Random, number: int, sent: datetime) -> bytes:
    """One raw message; ``number % 4`` picks plain, alternative, attachments or forwarded."""
    headers = [
        f"From: {_person(rng)}",
        f"To: {', '.join(_person(rng) for _ in range(rng.randrange(1, 4)))}",
        f"Subject: {_header_text(' '.join(rng.choices(WORDS, k=rng.randrange(2, 7))))} #{number}",
        f"Date: {format_datetime(sent)}",
        f"Message-ID: <{number}.{rng.randrange(10**9)}@bench.example>",
        "MIME-Version: 1.0",
    ]
    if rng.random() < 0.3:
        headers.append(f"Cc: {', '.join(_person(rng) for _ in range(rng.randrange(1, 3)))}")
    if rng.random() < 0.3:
        headers.append(f"In-Reply-To: <{number - 1}.{rng.randrange(10**9)}@bench.example>")
    text = _text(rng, rng.randrange(3, 30))
    plain = _part("text/plain; charset=utf-8", text, "Content-Transfer-Encoding: 8bit")
    html = _part(
        "text/html; charset=utf-8", f"<html><body><p>{text}</p></body></html>",
        "Content-Transfer-Encoding: 8bit",
    )  # fmt: skip
    kind = number % 4
    if kind == 0:
        body = plain
    elif kind == 1:
        body = _multipart("alternative", f"alt{number}", [plain, html])
    elif kind == 2:
        attachments = [
            _part(
                f"application/{rng.choice(['pdf', 'octet-stream', 'zip'])}",
                base64.encodebytes(rng.randbytes(rng.randrange(1_000, 8_000))).decode(),
                "Content-Transfer-Encoding: base64",
                "Content-Disposition: attachment; "
                f"filename*=UTF-8''Anhang-{index}-%C3%9Cbersicht.pdf",
            )
            for index in range(rng.randrange(1, 3))
        ]
        alternative = _multipart("alternative", f"alt{number}", [plain, html])
        body = _multipart("mixed", f"mix{number}", [alternative, *attachments])
    else:
        forwarded = _message(rng, number + 1, sent - timedelta(days=1)).decode()  # kind 0
        body = _multipart("mixed", f"fwd{number}", [plain, _part("message/rfc822", forwarded)])
    return ("\r\n".join(headers) + "\r\n" + body).encode()


def fill_maildir(maildir: Path, count: int, seed: int = 1) -> int:
    """Write ``count`` messages into ``maildir``/cur; returns the total size in bytes."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    cur = maildir / "cur"
    total = 0
    for number in range(count):
        sent = start + timedelta(minutes=17 * number)
        raw = _message(rng, number, sent)
        flags = "S" if rng.random() < 0.7 else ""
        path = cur / f"{int(sent.timestamp())}.M{number}P{os.getpid()}.bench,S={len(raw)}:2,{flags}"
        path.write_bytes(raw)
        os.chown(path, MAIL_UID, MAIL_GID)
        os.utime(path, (sent.timestamp(), sent.timestamp()))
        total += len(raw)
    return total


# -- FETCH ----------------------------------------------------------------------------


async def fetch_ours(server: MailServer, user: MailUser) -> tuple[float, int]:
    async with connect(server.host, server.imap_port, Security.PLAIN) as client:
        await client.login(user.user, user.password)
        await client.select("INBOX")
        count = 0
        start = time.perf_counter()
        async with client.fetch("1:*", ITEMS) as fetched:
            async for item in fetched:
                count += isinstance(item, Fetch) and item.bodystructure is not None
        return time.perf_counter() - start, count


def fetch_imapclient(server: MailServer, user: MailUser) -> tuple[float, int]:
    with IMAPClient(server.host, server.imap_port, ssl=False) as client:
        client.login(user.user, user.password)
        client.select_folder("INBOX")
        uids = client.search()  # IMAPClient fetches named messages, not "1:*"
        start = time.perf_counter()
        result = client.fetch(uids, ITEMS)
        elapsed = time.perf_counter() - start
        count = sum(b"BODYSTRUCTURE" in items for items in result.values())
        client.logout()
        return elapsed, count


# -- IDLE -----------------------------------------------------------------------------


class Arrivals:
    """When each EXISTS was seen by one watcher; ``wait_for(n)`` until n were."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._changed = trio.Event()

    def note(self, moment: float) -> None:
        self.times.append(moment)
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, count: int) -> None:
        while len(self.times) < count:
            await self._changed.wait()


class ImaplibIdler:
    """A bare imaplib connection idling in a thread, noting when each EXISTS line arrives."""

    def __init__(self, server: MailServer, user: MailUser) -> None:
        self.conn = imaplib.IMAP4(server.host, server.imap_port)
        self.conn.login(user.user, user.password)
        self.conn.select("INBOX")
        self.seen = Arrivals()
        self.idling = threading.Event()
        self.tag = self.conn._new_tag().decode()

    def run(self, expected: int) -> None:
        self.conn.send(f"{self.tag} IDLE\r\n".encode())
        if not self.conn.readline().startswith(b"+"):
            raise RuntimeError("IDLE refused")
        self.idling.set()
        for _ in range(expected):
            while not self.conn.readline().endswith(b"EXISTS\r\n"):
                pass
            trio.from_thread.run_sync(self.seen.note, time.perf_counter())
        self.conn.send(b"DONE\r\n")
        while not self.conn.readline().startswith(self.tag.encode()):
            pass
        self.conn.logout()


async def idle_latencies(
    server: MailServer, user: MailUser, appends: int
) -> tuple[list[float], list[float]]:
    ours = Arrivals()
    sent: list[float] = []
    idler = ImaplibIdler(server, user)
    async with (
        connect(server.host, server.imap_port, Security.PLAIN) as watcher,
        connect(server.host, server.imap_port, Security.PLAIN) as writer,
        trio.open_nursery() as nursery,
    ):
        await watcher.login(user.user, user.password)
        await writer.login(user.user, user.password)
        await watcher.select("INBOX")
        nursery.start_soon(trio.to_thread.run_sync, idler.run, appends)
        async with watcher.idle() as events:
            await events.started.wait()
            await trio.to_thread.run_sync(idler.idling.wait)

            async def watch() -> None:
                async for event in events:
                    if isinstance(event, Exists):
                        ours.note(time.perf_counter())
                        if len(ours.times) == appends:
                            return

            nursery.start_soon(watch)
            for number in range(appends):
                sent.append(time.perf_counter())
                await writer.append("INBOX", b"Subject: push %d\r\n\r\nhello\r\n" % number)
                with trio.fail_after(10):
                    await ours.wait_for(number + 1)
                    await idler.seen.wait_for(number + 1)
                await trio.sleep(0.2)  # one message at a time, never batched
    return (
        [seen - start for seen, start in zip(ours.times, sent, strict=True)],
        [seen - start for seen, start in zip(idler.seen.times, sent, strict=True)],
    )


# -- main -----------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--messages", type=int, default=10_000)
    arguments.add_argument("--repeat", type=int, default=3)
    arguments.add_argument("--appends", type=int, default=20)
    options = arguments.parse_args()

    with running_server(MailServer, "trimap-bench-") as server:
        user = server.add_user("bench@example.test", "bench-password")
        first = imaplib.IMAP4(server.host, server.imap_port)
        first.login(user.user, user.password)
        first.select("INBOX")  # Dovecot creates the Maildir
        first.logout()
        started = time.perf_counter()
        size = fill_maildir(server.maildir(user.user), options.messages)
        print(
            f"INBOX: {options.messages} messages, {size / 1e6:.1f} MB, "
            f"written in {time.perf_counter() - started:.1f}s"
        )
        ours: list[float] = []
        theirs: list[float] = []
        for round_ in range(options.repeat + 1):  # round 0 warms Dovecot's cache up
            elapsed, count = trio.run(fetch_ours, server, user)
            assert count == options.messages, count
            if round_:
                ours.append(elapsed)
            elapsed, count = fetch_imapclient(server, user)
            assert count == options.messages, count
            if round_:
                theirs.append(elapsed)
        n = options.messages
        print(f"FETCH {' '.join(ITEMS)} of {n} messages, best of {options.repeat}:")
        for name, times in (("imapproto ImapClient", ours), ("IMAPClient (PyPI)", theirs)):
            best = min(times)
            print(f"  {name:22} {best:7.3f} s  {n / best:9,.0f} msg/s  (all: "
                  + ", ".join(f"{t:.3f}" for t in times) + ")")  # fmt: skip
        print(f"  speed-up: {min(theirs) / min(ours):.1f}x")

        push_ours, push_imaplib = trio.run(idle_latencies, server, user, options.appends)
        print(f"IDLE push latency (APPEND elsewhere -> EXISTS seen), {options.appends} appends:")
        for name, values in (("imapproto idle()", push_ours), ("bare imaplib IDLE", push_imaplib)):
            print(
                f"  {name:22} p50 {percentile(values, 0.5) * 1000:7.1f} ms"
                f"   p99 {percentile(values, 0.99) * 1000:7.1f} ms"
                f"   mean {statistics.fmean(values) * 1000:7.1f} ms"
            )


if __name__ == "__main__":
    main()
