"""Benchmark: webhook delivery to local receivers, events/s and append→receipt latency.

Run: ``.venv/bin/python bench/webhooks.py [--events 2000] [--paced 300] [--interval 0.02]``

Starts a private ``redis-server`` and the test bed's webhook receivers (Python's
threading HTTP server on loopback, answering 200), then runs ``WebhookSender``
tasks exactly as the service does (one per destination, one shared
``HttpClient``, cursors in Redis, waiting with ``EventLog.wait``), for one
destination and for ten:

* **burst**: ``--events`` events appended in batches of 100 while the senders
  run; events per second delivered to every destination (total and per
  destination), from the first append to the last receipt (seen by polling
  every 2 ms);
* **paced**: ``--paced`` events appended one at a time, ``--interval`` apart
  (20 ms: a load every destination keeps up with); latency
  from the append (the log position's Redis time) to the receiver having read
  the body, p50 and p99 over every destination's receipts.

The receivers run in a child process (``--serve N``, driven over its stdin and
stdout) so they do not share trimap's interpreter lock.  Each is a
thread-per-connection Python server, often the limit here: the figures are a
floor for trimap, not a ceiling.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.processes import make_data_dir, remove_data_dir
from tests.fixtures.redis_server import RedisServer
from tests.fixtures.webhook_receiver import WebhookReceiver
from tests.waiting import wait_until_async
from trimap.events import Event, EventLog, stable_event_id
from trimap.httpclient import HttpClient
from trimap.metrics import Metrics
from trimap.store import EventLogStore, RedisStore, WebhookStore, position_time
from trimap.webhooks import Destination, WebhookSender


def make_events(count: int, offset: int) -> list[Event]:
    now = datetime.now(UTC)
    return [
        Event(
            stable_event_id(f"account{n % 10}", "messageNew", "INBOX", 1, n),
            f"account{n % 10}",
            "messageNew",
            now,
            {"id": "AAAAAQAAAeI", "uid": n, "subject": f"Quarterly report {n}", "size": 2048},
            "INBOX",
            "\\Inbox",
        )
        for n in range(offset, offset + count)
    ]


def serve(count: int) -> None:
    """The child: ``count`` receivers; answers ``count``, ``dump`` and ``clear`` on stdin."""
    receivers = [WebhookReceiver() for _ in range(count)]
    for receiver in receivers:
        receiver.start()
    print(json.dumps([receiver.url for receiver in receivers]), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "count":
            print(sum(len(receiver.requests) for receiver in receivers), flush=True)
        elif command == "dump":
            got = [
                (request.headers["X-Trimap-Event-Id"], request.received_at)
                for receiver in receivers
                for request in receiver.requests
            ]
            print(json.dumps(got), flush=True)
        elif command == "clear":
            for receiver in receivers:
                receiver.clear()
            print(json.dumps("ok"), flush=True)
    for receiver in receivers:
        receiver.stop()


class Receivers:
    """The child process of receivers, seen from the benchmark."""

    def __init__(self, count: int) -> None:
        self._process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.urls: list[str] = json.loads(self._ask_line())

    def _ask_line(self, command: str | None = None) -> str:
        assert self._process.stdin is not None and self._process.stdout is not None
        if command is not None:
            self._process.stdin.write(command + "\n")
            self._process.stdin.flush()
        return self._process.stdout.readline()

    async def ask(self, command: str) -> Any:
        return json.loads(await trio.to_thread.run_sync(self._ask_line, command))

    async def wait_received(self, total: int) -> None:
        async def enough() -> bool:
            return bool(await self.ask("count") >= total)

        await wait_until_async(enough, 300, 0.002)

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(30)


async def scenario(url: str, destinations: int, burst: int, paced: int, interval: float) -> None:
    store = RedisStore(url)
    await store.call(store.client.flushall)
    log = EventLog(
        EventLogStore(store, retention=86400, max_length=10_000_000, dedupe_window=0), Metrics()
    )
    cursors = WebhookStore(store)
    receivers = Receivers(destinations)
    try:
        async with HttpClient() as client, trio.open_nursery() as nursery:
            for n, url in enumerate(receivers.urls):
                await cursors.init_cursor(f"d{n}", "0-0")
                sender = WebhookSender(Destination(f"d{n}", url), log, cursors, client, Metrics())
                nursery.start_soon(sender.run)
            began = time.perf_counter()
            events = make_events(burst, 0)
            for start in range(0, burst, 100):
                await log.append(events[start : start + 100])
            await receivers.wait_received(burst * destinations)
            took = time.perf_counter() - began
            await receivers.ask("clear")
            positions: dict[str, str] = {}
            for one in make_events(paced, burst):
                positions[one.id] = (await log.append([one]))[0]
                await trio.sleep(interval)
            await receivers.wait_received(paced * destinations)
            nursery.cancel_scope.cancel()
        latencies = sorted(
            received_at - position_time(positions[event_id])
            for event_id, received_at in await receivers.ask("dump")
        )
    finally:
        receivers.close()
        store.close()
    total = burst * destinations / took
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"{destinations:>2} destination(s): burst {total:>8,.0f} events/s delivered "
        f"({total / destinations:,.0f} per destination); paced append→receipt "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )


async def run(url: str, burst: int, paced: int, interval: float) -> None:
    for destinations in (1, 10):
        await scenario(url, destinations, burst, paced, interval)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--paced", type=int, default=300)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        serve(options.serve)
        return
    data_dir = make_data_dir("trimap-bench-redis-")
    server = RedisServer(data_dir)
    try:
        server.start()
        trio.run(run, server.url, options.events, options.paced, options.interval)
    finally:
        server.stop()
        remove_data_dir(data_dir)


if __name__ == "__main__":
    main()
