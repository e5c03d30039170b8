"""The durable event log on a real Redis: order, paging, filters, trimming, repeats, restarts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import trio
import trio.testing

from tests.waiting import wait_until_async
from trimap.events import CursorExpired, Event, EventLog, InvalidCursor, stable_event_id
from trimap.metrics import Metrics
from trimap.store import EventLogStore, RedisStore, StoreUnavailable
from trimap.store import eventlog as eventlog_store

LogFactory = Callable[..., EventLog]


@pytest.fixture
def make_log(redis_url: str) -> Iterator[LogFactory]:
    """``make_log(retention=, max_length=, dedupe_window=, metrics=, poll_interval=)``."""
    stores: list[RedisStore] = []

    def make(
        *,
        retention: float = 3600.0,
        max_length: int = 100_000,
        dedupe_window: float = 60.0,
        metrics: Metrics | None = None,
        poll_interval: float = 1.0,
    ) -> EventLog:
        store = RedisStore(redis_url)
        stores.append(store)
        backend = EventLogStore(
            store, retention=retention, max_length=max_length, dedupe_window=dedupe_window
        )
        return EventLog(backend, metrics or Metrics(), poll_interval=poll_interval)

    yield make
    for store in stores:
        store.close()


def message_new(account: str, uid: int, kind: str = "messageNew") -> Event:
    return Event(
        id=stable_event_id(account, kind, "INBOX", 1, uid),
        account=account,
        kind=kind,
        date=datetime.now(UTC),
        data={"id": f"id{uid}", "uid": uid, "subject": f"Grüße {uid}"},
        path="INBOX",
        special_use="\\Inbox",
    )


async def read_all(log: EventLog, **filters: object) -> list[Event]:
    events: list[Event] = []
    cursor = None
    while True:
        page = await log.read(cursor, 1000, **filters)  # type: ignore[arg-type]
        events.extend(page.events)
        cursor = page.cursor
        if not page.has_more:
            return events


async def test_append_and_read_back_in_order(make_log: LogFactory) -> None:
    log = make_log()
    assert await log.latest() is None
    empty = await log.read()
    assert empty.events == () and not empty.has_more
    events = [message_new("a", uid) for uid in range(10)]
    positions = await log.append(events[:4]) + await log.append(events[4:])
    assert len(set(positions)) == 10
    page = await log.read(limit=4)
    stored = [replace(e, position=p) for e, p in zip(events, positions, strict=True)]
    assert page.events == tuple(stored[:4])
    assert page.cursor == positions[3] and page.has_more
    rest = await log.read(page.cursor, limit=100)
    assert [e.position for e in rest.events] == positions[4:]
    assert rest.cursor == positions[-1] and not rest.has_more
    assert rest.events[-1].to_json() == events[-1].to_json()
    assert await log.latest() == positions[-1]
    assert await log.append([]) == []


async def test_a_long_batch_is_appended_in_order_in_chunks(
    make_log: LogFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eventlog_store, "APPEND_CHUNK", 7)
    log = make_log()
    events = [message_new("a", uid) for uid in range(30)]
    positions = await log.append([*events, events[3]])
    assert positions[-1] == positions[3] and len(set(positions)) == 30
    assert [e.data["uid"] for e in await read_all(log)] == list(range(30))


async def test_per_account_order_holds_with_interleaved_accounts(make_log: LogFactory) -> None:
    log = make_log()
    accounts = ["a", "b", "c", "d"]

    async def appender(account: str) -> None:
        for uid in range(40):
            await log.append([message_new(account, uid)])

    async with trio.open_nursery() as nursery:
        for account in accounts:
            nursery.start_soon(appender, account)
    everything = await read_all(log)
    assert len(everything) == 160
    assert len({e.account for e in everything[:40]}) > 1, "accounts did not interleave"
    for account in accounts:
        uids = [e.data["uid"] for e in everything if e.account == account]
        assert uids == list(range(40))
        filtered = await read_all(log, account=account)
        assert [e.data["uid"] for e in filtered] == uids


async def test_paging_during_appends_has_no_gaps_and_no_duplicates(make_log: LogFactory) -> None:
    log = make_log()
    writers, per_writer = 3, 60
    seen: list[Event] = []

    async def writer(account: str) -> None:
        for start in range(0, per_writer, 3):
            await log.append([message_new(account, uid) for uid in range(start, start + 3)])

    async def reader() -> None:
        cursor = None
        while True:
            page = await log.read(cursor, limit=7)
            seen.extend(page.events)
            cursor = page.cursor
            if len(seen) >= writers * per_writer:
                return
            if not page.has_more:
                await log.wait(cursor)

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            for n in range(writers):
                nursery.start_soon(writer, f"acc{n}")
    positions = [e.position for e in seen]
    assert len(set(positions)) == len(positions) == writers * per_writer
    assert positions == [e.position for e in await read_all(log)]
    for n in range(writers):
        assert [e.data["uid"] for e in seen if e.account == f"acc{n}"] == list(range(per_writer))


async def test_filters_by_account_and_kind(make_log: LogFactory) -> None:
    log = make_log()
    await log.append(
        [
            message_new("a", 1),
            message_new("b", 2),
            message_new("a", 3, "messageDeleted"),
            message_new("b", 4, "messageDeleted"),
            message_new("a", 5),
        ]
    )
    assert [e.data["uid"] for e in await read_all(log, account="a")] == [1, 3, 5]
    assert [e.data["uid"] for e in await read_all(log, kinds={"messageDeleted"})] == [3, 4]
    both = await read_all(log, account="b", kinds=["messageDeleted", "mailboxNew"])
    assert [e.data["uid"] for e in both] == [4]
    assert await read_all(log, account="nobody") == []
    page = await log.read(limit=1, account="a")
    assert [e.data["uid"] for e in page.events] == [1] and page.has_more


async def test_a_filtered_read_examines_a_bounded_number_of_entries(
    make_log: LogFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eventlog_store, "SCAN_BUDGET", 50)
    log = make_log()
    await log.append([message_new("busy", uid) for uid in range(120)])
    await log.append([message_new("quiet", 1)])
    pages = []
    cursor = None
    while not pages or pages[-1].has_more:
        pages.append(await log.read(cursor, limit=10, account="quiet"))
        cursor = pages[-1].cursor
    assert [len(page.events) for page in pages] == [0, 0, 1]
    assert pages[-1].events[0].account == "quiet"


async def test_retention_trims_old_events_and_their_cursors_expire(make_log: LogFactory) -> None:
    log = make_log(retention=0.5)
    old = await log.append([message_new("a", uid) for uid in range(150)])
    later = iter(range(1000, 2000))

    async def old_events_trimmed() -> bool:
        await log.append([message_new("a", next(later))])  # trimming happens on append
        first = (await log.read(limit=1)).events[0].position
        return first not in old[:2]

    await wait_until_async(old_events_trimmed, message="events older than the retention trimmed")
    with pytest.raises(CursorExpired):
        await log.read(old[0])
    with pytest.raises(CursorExpired):
        await log.read("0-0")
    remaining = await read_all(log)
    assert remaining[-1].data["uid"] >= 1000
    page = await log.read(remaining[0].position, limit=1000)  # one page holds them all
    assert page.events == tuple(remaining[1:])


async def test_the_size_bound_keeps_the_newest_events(make_log: LogFactory) -> None:
    log = make_log(max_length=100)
    positions = []
    for start in range(0, 1000, 50):
        positions += await log.append([message_new("a", uid) for uid in range(start, start + 50)])
    kept = [e.position for e in await read_all(log)]
    # approximate trimming removes whole stream nodes (stream-node-max-entries: 100)
    assert 100 <= len(kept) <= 200
    assert kept == positions[-len(kept) :]


async def test_the_same_event_is_stored_once_within_the_window(make_log: LogFactory) -> None:
    metrics = Metrics()
    log = make_log(metrics=metrics, dedupe_window=60.0)
    event = message_new("a", 1)
    again = replace(event, date=datetime.now(UTC), data={"detected": "again"})
    first = await log.append([event, again])
    assert first[0] == first[1]
    assert await log.append([message_new("a", 2), again]) == [
        (await log.latest()),
        first[0],
    ]
    stored = await read_all(log)
    assert [e.data.get("uid") for e in stored] == [1, 2]

    def count(name: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"event": "messageNew"})

    assert count("trimap_events_total") == 2
    assert count("trimap_events_duplicate_total") == 2


async def test_a_repeat_after_the_window_is_stored_again(make_log: LogFactory) -> None:
    log = make_log(dedupe_window=0.3)
    event = message_new("a", 1)
    [first] = await log.append([event])

    async def stored_again() -> bool:
        return (await log.append([event]))[0] != first

    await wait_until_async(stored_again, message="the de-duplication window to pass")
    assert [e.id for e in await read_all(log)] == [event.id, event.id]
    unwindowed = make_log(dedupe_window=0)
    await unwindowed.append([event, event])
    assert len(await read_all(unwindowed)) == 4


async def test_wait_wakes_on_appends_here_and_polls_for_other_writers(
    make_log: LogFactory,
) -> None:
    here = make_log(poll_interval=60.0)  # only an in-process append can wake it in time
    elsewhere = make_log(poll_interval=0.05)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(here.wait, None)
            await trio.testing.wait_all_tasks_blocked()
            await here.append([message_new("a", 1)])
    latest = await here.latest()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(elsewhere.wait, latest)
            await trio.testing.wait_all_tasks_blocked()
            await here.append([message_new("a", 2)])
    with trio.fail_after(10):
        await here.wait(latest)  # already there: returns at once
    with pytest.raises(InvalidCursor):
        await here.wait("not-a-cursor")


async def test_invalid_cursors_are_refused(make_log: LogFactory) -> None:
    log = make_log()
    await log.append([message_new("a", 1)])
    for cursor in ["", "abc", "1-", "-1", "1-2-3", "1234567890123456-0", "1-0\n", "١-٠"]:
        with pytest.raises(InvalidCursor):
            await log.read(cursor)


async def test_the_log_keeps_working_across_a_redis_restart(redis_server, make_log) -> None:
    log = make_log()
    [before] = await log.append([message_new("a", 1)])
    redis_server.stop()
    with pytest.raises(StoreUnavailable):
        await log.append([message_new("a", 2)])
    with pytest.raises(StoreUnavailable):
        await log.read(before)
    redis_server.start()  # without persistence: the log starts empty again
    [after] = await log.append([message_new("a", 3)])
    page = await log.read(before)
    assert [e.position for e in page.events] == [after]
    assert [e.data["uid"] for e in page.events] == [3]
    with trio.fail_after(10):
        await log.wait(before)
