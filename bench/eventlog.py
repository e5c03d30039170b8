"""Benchmark: the event log's appends/s and reads/s against a local redis-server.

Run: ``.venv/bin/python bench/eventlog.py [--events 20000]``

Starts a private ``redis-server`` (the test suite's ``RedisServer``: loopback,
no persistence), then measures through ``EventLog`` exactly as the service
uses it (redis-py in trio worker threads, the append and read Lua scripts):

* appends, one event per call, from 1 task and from 16 concurrent tasks;
* appends in batches of 100 events;
* reads of 100-event pages from the start of the log to its end, unfiltered
  and filtered by account (one event in ten matches).

Events look like a small ``messageNew`` (about 300 bytes of JSON).  Figures are
events per second, best of ``--repeat`` runs, each on an empty log.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.processes import make_data_dir, remove_data_dir
from tests.fixtures.redis_server import RedisServer
from trimap.events import Event, EventLog, stable_event_id
from trimap.metrics import Metrics
from trimap.store import EventLogStore, RedisStore

ACCOUNTS = 10


def make_events(count: int, offset: int = 0) -> list[Event]:
    now = datetime.now(UTC)
    events = []
    for n in range(offset, offset + count):
        account = f"account{n % ACCOUNTS}"
        data = {
            "id": "AAAAAQAAAeI",
            "uid": n,
            "date": "2020-12-17T09:59:58.000Z",
            "unseen": True,
            "size": 2048,
            "subject": f"Quarterly report {n}",
            "from": {"name": "Ann", "address": "ann@example.com"},
            "to": [{"name": "", "address": "bob@example.com"}],
            "messageId": f"<{n}@example.com>",
            "text": {"id": "AAAAAQAAAeKTkaExkJA", "encodedSize": {"plain": 120}},
        }
        event_id = stable_event_id(account, "messageNew", "INBOX", 1, n)
        events.append(Event(event_id, account, "messageNew", now, data, "INBOX", "\\Inbox"))
    return events


async def timed(action: Callable[[], Awaitable[None]]) -> float:
    began = time.perf_counter()
    await action()
    return time.perf_counter() - began


async def append_one_by_one(log: EventLog, events: list[Event]) -> None:
    for event in events:
        await log.append([event])


async def append_concurrently(log: EventLog, events: list[Event], tasks: int = 16) -> None:
    async with trio.open_nursery() as nursery:
        for task in range(tasks):
            nursery.start_soon(append_one_by_one, log, events[task::tasks])


async def append_batched(log: EventLog, events: list[Event], size: int = 100) -> None:
    for start in range(0, len(events), size):
        await log.append(events[start : start + size])


async def read_through(log: EventLog, account: str | None = None) -> None:
    cursor = None
    while True:
        page = await log.read(cursor, 100, account=account)
        cursor = page.cursor
        if not page.has_more:
            return


async def one_round(log: EventLog, count: int) -> dict[str, float]:
    """Events per second of each measurement, on the (empty) ``log``."""
    events = make_events(count)
    quarter = count // 4
    seconds = {
        "append, 1 event/call, 1 task": (
            quarter,
            await timed(lambda: append_one_by_one(log, events[:quarter])),
        ),
        "append, 1 event/call, 16 tasks": (
            quarter,
            await timed(lambda: append_concurrently(log, events[quarter : 2 * quarter])),
        ),
        "append, 100 events/call": (
            count - 2 * quarter,
            await timed(lambda: append_batched(log, events[2 * quarter :])),
        ),
        "read, 100-event pages": (count, await timed(lambda: read_through(log))),
        "read, filtered by account (1 in 10)": (
            count // ACCOUNTS,
            await timed(lambda: read_through(log, "account3")),
        ),
    }
    return {name: done / took for name, (done, took) in seconds.items()}


async def run(url: str, count: int, repeat: int) -> None:
    store = RedisStore(url)
    log = EventLog(
        EventLogStore(store, retention=7 * 86400, max_length=10_000_000, dedupe_window=3600),
        Metrics(),
    )
    best: dict[str, float] = {}
    for _ in range(repeat):
        await store.call(store.client.flushall)
        for name, rate in (await one_round(log, count)).items():
            best[name] = max(best.get(name, 0.0), rate)
    store.close()
    width = max(map(len, best))
    for name, rate in best.items():
        print(f"{name:<{width}}  {rate:>10,.0f} events/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    data_dir = make_data_dir("trimap-bench-redis-")
    server = RedisServer(data_dir)
    try:
        server.start()
        trio.run(run, server.url, options.events, options.repeat)
    finally:
        server.stop()
        remove_data_dir(data_dir)


if __name__ == "__main__":
    main()
