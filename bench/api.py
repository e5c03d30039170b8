"""Benchmark: REST API latency and throughput on a 10,000-message folder, over loopback.

Run: ``.venv/bin/python bench/api.py [--messages 10000] [--requests 1000] [--duration 10]``

Measures what DESIGN.md's targets name: listing a 20-message page of a 10,000-message
folder (p50 ≤ 5 ms; with 4 concurrent clients ≥ 250 requests/s) and fetching a message
with its text (p50 ≤ 3 ms).

Set-up, like ``bench/accounts.py``: the project's Dovecot test bed
(``tests/fixtures/mail_server.py``) with one user, a private ``redis-server``, and the real
service, ``python -m trimap``, as a child process.  The folder is filled fast: the user
logs in once (Dovecot creates the Maildir), ``--messages`` files are written straight into
``Maildir/cur`` (owned by the test bed's mail user, every tenth one ``\\Seen``; each a
``multipart/alternative`` of text and html, about 1.5 KB), and one ``SELECT`` by a bare
``imaplib`` client has Dovecot index them before anything is timed.  The account is then
registered through ``POST /v1/account``; the time until it is ``connected`` (its first
sync of the folder) is printed too.

Then, each over keep-alive HTTP/1.1 connections (``http.client``):

1. warm-up: ``--warm-up`` requests of each kind;
2. sequential, one client: ``--requests`` requests of each kind, p50/p99/max latency
   (from sending the request to the last byte of the answer) and requests/s:

   * ``list newest``: ``GET /v1/account/{id}/messages?path=INBOX&pageSize=20`` (page 0);
   * ``list any page``: the same with ``page`` drawn at random among the 500;
   * ``details+text``: ``GET /v1/account/{id}/message/{message}?textType=*`` of a random
     message (ids gathered beforehand by listing every page): most of them Dovecot has not
     read since it indexed the folder;
   * ``same details``: the same for one message again and again (all in Dovecot's cache);
   * ``account``: ``GET /v1/account/{id}``, no IMAP at all: the floor of the HTTP stack
     (Hypercorn, Quart, one Redis read) that every request above pays too;

3. concurrent: ``--clients`` threads (4), each with its own connection, sending the same
   kind of request back to back for ``--duration`` seconds: requests/s and p50/p99.

Every answer must be a 200 with the expected number of messages (or the message's text):
anything else stops the run.  ``--profile DIR`` runs trimap under cProfile and writes
``DIR/trimap-api.prof`` (the figures are then inflated); its top functions by cumulative
and own time are printed.  trimap's warnings and errors are counted and printed.
Everything started here is stopped and its directory removed, on errors and Ctrl-C too.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import imaplib
import json
import os
import pstats
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.accounts import log_problems, percentile, spawn_trimap, stop_trimap, wait_serving  # noqa: E402
from tests.fixtures.mail_server import DOMAIN, MailServer  # noqa: E402
from tests.fixtures.processes import make_data_dir, remove_data_dir, running_server  # noqa: E402
from tests.fixtures.redis_server import RedisServer  # noqa: E402
from tests.service_process import TrimapProcess  # noqa: E402

MAIL_UID = MAIL_GID = 8  # the test bed's "mail" user owns the Maildirs
PASSWORD = "bench-pass"
ACCOUNT = "bench"
PAGE_SIZE = 20
TARGETS = {  # DESIGN.md
    "list newest": "p50 ≤ 5 ms; 4 clients ≥ 250 requests/s",
    "details+text": "p50 ≤ 3 ms",
}


# -- the folder ----------------------------------------------------------------------------


def message_bytes(number: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Sender {number % 97} <sender{number % 97}@example.test>"
    message["To"] = f"bench@{DOMAIN}"
    message["Subject"] = f"Benchmark message {number}: quarterly figures and a few words more"
    message["Date"] = time.strftime(
        "%a, %d %b %Y %H:%M:%S +0000", time.gmtime(1_700_000_000 + number * 60)
    )
    message["Message-ID"] = f"<bench-{number}@example.test>"
    text = f"Hello,\n\nthis is message {number} of the benchmark.\n" + "Some text. " * 40 + "\n"
    message.set_content(text)
    message.add_alternative(f"<p>{text}</p>", subtype="html")
    return message.as_bytes()


def fill_folder(server: MailServer, user: str, count: int) -> float:
    """Write ``count`` messages into ``user``'s INBOX and have Dovecot index them; seconds
    the SELECT that indexes them took."""
    imap = imaplib.IMAP4(server.host, server.imap_port, timeout=600)
    try:
        imap.login(user, PASSWORD)
        imap.select("INBOX")  # Dovecot creates the Maildir
    finally:
        imap.logout()
    cur = server.maildir(user) / "cur"
    stamp = int(time.time())
    for number in range(count):
        flags = "S" if number % 10 == 0 else ""
        path = cur / f"{stamp}.M{number}P{os.getpid()}.bench:2,{flags}"
        path.write_bytes(message_bytes(number))
        os.chown(path, MAIL_UID, MAIL_GID)
    imap = imaplib.IMAP4(server.host, server.imap_port, timeout=600)
    try:
        imap.login(user, PASSWORD)
        began = time.perf_counter()
        status, data = imap.select("INBOX", readonly=True)
        took = time.perf_counter() - began
        if status != "OK" or int(data[0] or 0) != count:
            raise RuntimeError(f"SELECT INBOX: {status} {data}")
    finally:
        imap.logout()
    return took


# -- HTTP ----------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection to the service."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data else {}
        self.connection.request(method, path, data, headers)
        answer = self.connection.getresponse()
        payload = answer.read()
        return answer.status, json.loads(payload) if payload else None

    def close(self) -> None:
        self.connection.close()


@contextlib.contextmanager
def client(base: str) -> Iterator[Client]:
    made = Client(base)
    try:
        yield made
    finally:
        made.close()


def listing_path(page: int = 0) -> str:
    return f"/v1/account/{ACCOUNT}/messages?path=INBOX&pageSize={PAGE_SIZE}&page={page}"


def details_path(message_id: str) -> str:
    return f"/v1/account/{ACCOUNT}/message/{message_id}?textType=*"


def check_page(status: int, body: Any) -> None:
    if status != 200 or len(body["messages"]) != PAGE_SIZE:
        raise RuntimeError(f"listing answered {status}: {str(body)[:300]}")


def check_details(status: int, body: Any) -> None:
    if status != 200 or "Benchmark message" not in body.get("subject", ""):
        raise RuntimeError(f"details answered {status}: {str(body)[:300]}")
    if "this is message" not in body["text"].get("plain", ""):
        raise RuntimeError(f"details without the text: {str(body)[:300]}")


@dataclass(frozen=True)
class Kind:
    """One kind of request: the path of the n-th one, and how to check its answer."""

    name: str
    path: Callable[[random.Random], str]
    check: Callable[[int, Any], None]


def check_account(status: int, body: Any) -> None:
    if status != 200 or body["state"] != "connected":
        raise RuntimeError(f"account answered {status}: {str(body)[:300]}")


def kinds(message_ids: Sequence[str], pages: int) -> list[Kind]:
    return [
        Kind("list newest", lambda _: listing_path(0), check_page),
        Kind("list any page", lambda rng: listing_path(rng.randrange(pages)), check_page),
        Kind("details+text", lambda rng: details_path(rng.choice(message_ids)), check_details),
        Kind(
            "same details",
            lambda _: details_path(message_ids[len(message_ids) // 2]),
            check_details,
        ),
        Kind("account", lambda _: f"/v1/account/{ACCOUNT}", check_account),
    ]


def timed(connection: Client, kind: Kind, rng: random.Random) -> float:
    path = kind.path(rng)
    began = time.perf_counter()
    status, body = connection.call("GET", path)
    took = time.perf_counter() - began
    kind.check(status, body)
    return took


@dataclass
class Figures:
    kind: str
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def sequential(base: str, kind: Kind, count: int) -> Figures:
    rng = random.Random(1)
    figures = Figures(kind.name)
    with client(base) as connection:
        began = time.perf_counter()
        figures.latencies = [timed(connection, kind, rng) for _ in range(count)]
        figures.seconds = time.perf_counter() - began
    return figures


def concurrent(base: str, kind: Kind, clients: int, duration: float) -> Figures:
    figures = Figures(kind.name)
    failures: list[BaseException] = []
    start = threading.Barrier(clients + 1)
    lock = threading.Lock()

    def run(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[float] = []
        try:
            with client(base) as connection:
                start.wait()
                stop_at = time.perf_counter() + duration
                while time.perf_counter() < stop_at and not failures:
                    mine.append(timed(connection, kind, rng))
        except BaseException as error:
            failures.append(error)
        with lock:
            figures.latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    figures.seconds = time.perf_counter() - began
    if failures:
        raise failures[0]
    return figures


# -- the run -------------------------------------------------------------------------------


def register(base: str, server: MailServer, user: str) -> float:
    """Register the account through the API; seconds until it is ``connected``."""
    imap = {
        "host": server.host,
        "port": server.imap_port,
        "secure": False,
        "auth": {"user": user, "pass": PASSWORD},
    }
    with client(base) as connection:
        began = time.perf_counter()
        status, body = connection.call(
            "POST", "/v1/account", {"account": ACCOUNT, "name": "Bench", "imap": imap}
        )
        if status != 200:
            raise RuntimeError(f"POST /v1/account answered {status}: {body}")
        while True:
            status, body = connection.call("GET", f"/v1/account/{ACCOUNT}")
            if status == 200 and body["state"] == "connected":
                return time.perf_counter() - began
            if time.perf_counter() - began > 120:
                raise RuntimeError(f"not connected after 120 s: {body}")
            time.sleep(0.02)


def every_message_id(base: str) -> list[str]:
    """The ids of every message of INBOX, listed in pages of 1000 (cursor paging)."""
    ids: list[str] = []
    cursor = None
    with client(base) as connection:
        while True:
            path = f"/v1/account/{ACCOUNT}/messages?path=INBOX&pageSize=1000"
            status, body = connection.call("GET", path + (f"&cursor={cursor}" if cursor else ""))
            if status != 200:
                raise RuntimeError(f"listing answered {status}: {body}")
            ids += [message["id"] for message in body["messages"]]
            cursor = body["nextCursor"]
            if cursor is None:
                return ids


def ms(values: Sequence[float], fraction: float) -> str:
    return f"{percentile(values, fraction) * 1000:8.2f}"


def print_figures(title: str, rows: list[Figures]) -> None:
    print(f"\n{title}")
    print(f"  {'request':<14} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'req/s':>8}")
    for row in rows:
        values = row.latencies
        print(
            f"  {row.kind:<14} {len(values):>7} {ms(values, 0.5)} {ms(values, 0.99)} "
            f"{max(values) * 1000:8.2f} {row.rate:8.0f}"
        )


def print_profile(path: Path) -> None:
    for order in ("cumulative", "tottime"):
        print(f"\nprofile of trimap, by {order} (top 25):")
        stats = pstats.Stats(str(path))
        stats.sort_stats(order).print_stats(25)


async def run(options: argparse.Namespace, server: MailServer, redis_url: str) -> None:
    user = f"bench-{os.urandom(3).hex()}@{DOMAIN}"
    server.add_user(user, PASSWORD)
    took = await trio.to_thread.run_sync(fill_folder, server, user, options.messages)
    print(f"{options.messages:,} messages written; Dovecot's first SELECT took {took:.2f} s")
    profile = None
    if options.profile:
        options.profile.mkdir(parents=True, exist_ok=True)
        profile = options.profile.resolve() / "trimap-api.prof"
    trimap: TrimapProcess = spawn_trimap(redis_url, os.urandom(32), profile)
    try:
        await wait_serving(trimap, 60)
        base = trimap.url
        assert base is not None
        connected = await trio.to_thread.run_sync(register, base, server, user)
        print(f"account registered; connected (first sync of the folder) after {connected:.2f} s")
        ids = await trio.to_thread.run_sync(every_message_id, base)
        if len(ids) != options.messages:
            raise RuntimeError(f"listed {len(ids)} messages, not {options.messages}")
        pages = -(-len(ids) // PAGE_SIZE)
        chosen = kinds(ids, pages)
        for kind in chosen:
            await trio.to_thread.run_sync(sequential, base, kind, options.warm_up)
        rows = [
            await trio.to_thread.run_sync(sequential, base, kind, options.requests)
            for kind in chosen
        ]
        print_figures(f"sequential, 1 client, {options.requests} requests each:", rows)
        rows = [
            await trio.to_thread.run_sync(concurrent, base, kind, options.clients, options.duration)
            for kind in chosen
        ]
        print_figures(f"concurrent, {options.clients} clients, {options.duration:g} s each:", rows)
        print("\ntargets (DESIGN.md):")
        for name, target in TARGETS.items():
            print(f"  {name:<14} {target}")
    finally:
        await stop_trimap(trimap)
        problems = log_problems(trimap)
        if problems:
            print("\ntrimap's warnings and errors:")
            for line, count in problems.most_common(10):
                print(f"  {count:>6} × {line}")
    if profile is not None and profile.exists():
        print_profile(profile)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000, help="messages in the folder")
    parser.add_argument("--requests", type=int, default=1000, help="sequential, per kind")
    parser.add_argument("--warm-up", type=int, default=200, help="requests per kind first")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per concurrent run")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="run trimap under cProfile, write DIR/*.prof"
    )
    options = parser.parse_args()
    with running_server(MailServer, "trimap-bench-mail-") as server:
        data_dir = make_data_dir("trimap-bench-redis-")
        redis_server = RedisServer(data_dir)
        try:
            redis_server.start()
            trio.run(run, options, server, redis_server.url)
        finally:
            redis_server.stop()
            remove_data_dir(data_dir)


if __name__ == "__main__":
    main()
