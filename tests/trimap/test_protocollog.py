"""Per-account protocol logs on a real Redis: the store (capping, streaming, deletion with the
account) and the bridge from imapproto's hook (buffering, dropping, retries, on/off).

That imapproto masks secrets in the lines it logs is tested in tests/imapproto; here the
bridge is shown to store exactly the line it is given, a rendered LOGIN included.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import aclosing
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
import trio

from imapproto import commands
from tests.waiting import wait_until_async
from trimap.accounts import parse_account_input
from trimap.accounts.protocollog import AccountProtocolLog
from trimap.secrets import SecretBox
from trimap.settings import LogSettings
from trimap.store import ProtocolLogStore, RedisStore, StoreUnavailable
from trimap.store.accounts import AccountStore

ACCOUNT = "a1"
PASSWORD = "pa55-c0ffee"
LOGGED = LogSettings(accounts=frozenset({ACCOUNT}))


@pytest.fixture
def raw(redis_server: Any, redis_url: str) -> Iterator[redis.Redis]:
    with redis_server.client() as client:
        yield client


@pytest.fixture
async def accounts(store: RedisStore) -> AccountStore:
    """The account store, with account ``ACCOUNT`` created (logs are only kept for accounts)."""
    accounts = AccountStore(store, SecretBox(os.urandom(32)))
    body = {
        "account": ACCOUNT,
        "name": "Ann",
        "imap": {"host": "imap.example.com", "port": 993, "auth": {"user": "ann", "pass": "p"}},
    }
    await accounts.write(parse_account_input(body), create=True, notify_from=datetime.now(UTC))
    return accounts


@pytest.fixture
def logs(store: RedisStore, accounts: AccountStore) -> ProtocolLogStore:
    return ProtocolLogStore(store)


async def read(logs: ProtocolLogStore, account_id: str = ACCOUNT, batch: int = 1000) -> list[Any]:
    async with aclosing(logs.ndjson(account_id, batch=batch)) as chunks:
        text = b"".join([chunk async for chunk in chunks])
    return [json.loads(line) for line in text.splitlines()]


def numbered(first: int, count: int) -> list[dict[str, Any]]:
    return [{"n": n} for n in range(first, first + count)]


# ---------------------------------------------------------------- the store


async def test_appends_keep_the_newest_lines(logs: ProtocolLogStore) -> None:
    assert await logs.append(ACCOUNT, numbered(0, 4), max_lines=5)
    assert await read(logs) == numbered(0, 4)
    assert await logs.append(ACCOUNT, numbered(4, 3), max_lines=5)
    assert await read(logs) == numbered(2, 5)
    assert await logs.append(ACCOUNT, numbered(7, 12), max_lines=3)  # more than fit at once
    assert await read(logs) == numbered(16, 3)
    assert await logs.append(ACCOUNT, numbered(19, 2), max_lines=0)  # 0: nothing is written
    assert await read(logs) == numbered(16, 3)


async def test_entries_are_stored_as_compact_json_lines(
    logs: ProtocolLogStore, raw: redis.Redis
) -> None:
    await logs.append(ACCOUNT, [{"msg": "Grüße", "t": 1}], max_lines=10)
    assert raw.lrange(f"trimap:{{accounts}}:log:{ACCOUNT}", 0, -1) == [
        '{"msg":"Grüße","t":1}'.encode()
    ]


async def test_a_download_streams_in_batches(logs: ProtocolLogStore) -> None:
    await logs.append(ACCOUNT, numbered(0, 2500), max_lines=10_000)
    async with aclosing(logs.ndjson(ACCOUNT, batch=1000)) as chunks:
        sizes = [chunk.count(b"\n") async for chunk in chunks]
    assert sizes == [1000, 1000, 500]
    assert await read(logs, batch=7) == numbered(0, 2500)
    assert await read(logs, "nobody") == []


async def test_a_download_neither_repeats_nor_skips_while_the_log_moves(
    logs: ProtocolLogStore,
) -> None:
    await logs.append(ACCOUNT, numbered(0, 10), max_lines=10)
    async with aclosing(logs.ndjson(ACCOUNT, batch=3)) as chunks:
        got = [await anext(chunks)]  # 0, 1, 2
        await logs.append(ACCOUNT, numbered(10, 5), max_lines=10)  # trims 0..4, adds 10..14
        got += [chunk async for chunk in chunks]
    lines = [json.loads(line)["n"] for line in b"".join(got).splitlines()]
    assert lines == [0, 1, 2, 5, 6, 7, 8, 9]  # 3 and 4 were trimmed, 10.. came after it began


async def test_clear_and_a_clear_during_a_download(logs: ProtocolLogStore) -> None:
    await logs.append(ACCOUNT, numbered(0, 6), max_lines=10)
    async with aclosing(logs.ndjson(ACCOUNT, batch=2)) as chunks:
        first = await anext(chunks)
        await logs.clear(ACCOUNT)
        await logs.append(ACCOUNT, numbered(6, 2), max_lines=10)
        rest = [chunk async for chunk in chunks]
    assert first.count(b"\n") == 2 and rest == []
    assert await read(logs) == numbered(6, 2)


async def test_the_log_goes_with_its_account(
    logs: ProtocolLogStore, accounts: AccountStore, raw: redis.Redis
) -> None:
    await logs.append(ACCOUNT, numbered(0, 3), max_lines=10)
    assert raw.keys("trimap:{accounts}:log*") != []
    assert await accounts.delete(ACCOUNT)
    assert raw.keys("trimap:{accounts}:log*") == []
    assert not await logs.append(ACCOUNT, numbered(3, 1), max_lines=10)  # no orphan key
    assert raw.keys("trimap:{accounts}:log*") == []


# ---------------------------------------------------------------- the bridge


class Switch:
    """The current ``LogSettings``, as the engine would hold them."""

    def __init__(self, settings: LogSettings = LOGGED) -> None:
        self.settings = settings

    def __call__(self) -> LogSettings:
        return self.settings


async def stored(logs: ProtocolLogStore, count: int) -> list[dict[str, Any]]:
    """The stored entries once there are ``count`` of them."""

    async def enough() -> list[dict[str, Any]] | None:
        entries = await read(logs)
        return entries if len(entries) >= count else None

    entries = await wait_until_async(enough, message=f"{count} stored log entries")
    assert len(entries) == count
    return entries


async def test_the_hook_stores_exactly_the_lines_it_is_given(
    logs: ProtocolLogStore, nursery: trio.Nursery
) -> None:
    bridge = AccountProtocolLog(ACCOUNT, logs, Switch())
    nursery.start_soon(bridge.run)
    login = commands.login("ann", PASSWORD).render("A1")
    hook = bridge.hook("c1")
    hook("C", login)
    hook("S", "A1 OK LOGIN completed")
    bridge.note("warn", "connection lost", cid="c1")
    bridge.note("info", "reconnecting")
    entries = await stored(logs, 4)
    assert [(e["src"], e["msg"], e["cid"], e["level"], e["lo"]) for e in entries] == [
        ("C", login, "c1", "info", 1),
        ("S", "A1 OK LOGIN completed", "c1", "info", 2),
        ("trimap", "connection lost", "c1", "warn", 3),
        ("trimap", "reconnecting", None, "info", 4),
    ]
    assert all(isinstance(e["t"], int) and e["t"] > 1.6e12 for e in entries)
    assert PASSWORD not in json.dumps(entries) and login.endswith("***")


async def test_a_full_batch_is_written_without_waiting_for_the_interval(
    logs: ProtocolLogStore, nursery: trio.Nursery
) -> None:
    bridge = AccountProtocolLog(ACCOUNT, logs, Switch(), batch=10, interval=3600)
    nursery.start_soon(bridge.run)
    hook = bridge.hook("c1")
    for n in range(10):
        hook("S", f"* {n} EXISTS")
    entries = await stored(logs, 10)
    assert [e["msg"] for e in entries] == [f"* {n} EXISTS" for n in range(10)]


async def test_a_full_buffer_drops_the_oldest_and_says_how_many(
    logs: ProtocolLogStore, nursery: trio.Nursery
) -> None:
    bridge = AccountProtocolLog(ACCOUNT, logs, Switch(), capacity=5, batch=5)
    hook = bridge.hook("c1")
    for n in range(12):  # nothing writes yet: the buffer keeps the newest 5
        hook("S", f"line {n}")
    nursery.start_soon(bridge.run)
    entries = await stored(logs, 6)
    assert entries[0]["src"] == "trimap" and entries[0]["level"] == "warn"
    assert entries[0]["msg"].startswith("7 protocol log entries dropped")
    assert [e["msg"] for e in entries[1:]] == [f"line {n}" for n in range(7, 12)]
    assert [e["lo"] for e in entries] == [1, 2, 3, 4, 5, 6]


async def test_the_stored_log_is_capped_to_max_lines(
    logs: ProtocolLogStore, nursery: trio.Nursery
) -> None:
    switch = Switch(LogSettings(all=True, max_lines=3))
    bridge = AccountProtocolLog(ACCOUNT, logs, switch, batch=2)
    nursery.start_soon(bridge.run)
    hook = bridge.hook("c1")
    for n in range(7):
        hook("C", f"A{n} NOOP")
    await wait_until_async(lambda: bridge_idle(bridge), message="the buffer to be written")
    assert [e["msg"] for e in await read(logs)] == ["A4 NOOP", "A5 NOOP", "A6 NOOP"]


def bridge_idle(bridge: AccountProtocolLog) -> bool:
    return not bridge._buffer and not bridge._sending


async def test_nothing_is_kept_while_logging_is_off(
    logs: ProtocolLogStore, nursery: trio.Nursery
) -> None:
    switch = Switch(LogSettings(accounts=frozenset({"someone else"})))
    bridge = AccountProtocolLog(ACCOUNT, logs, switch)
    nursery.start_soon(bridge.run)
    hook = bridge.hook("c1")
    hook("C", "A1 NOOP")
    bridge.note("error", "not logged")
    switch.settings = LogSettings(all=True, max_lines=0)  # logged, but no lines kept
    hook("C", "A2 NOOP")
    assert bridge_idle(bridge)
    switch.settings = LOGGED
    hook("C", "A3 NOOP")
    assert [e["msg"] for e in await stored(logs, 1)] == ["A3 NOOP"]


async def test_switching_logging_off_clears_the_log_and_the_buffer(
    logs: ProtocolLogStore, nursery: trio.Nursery
) -> None:
    switch = Switch()
    bridge = AccountProtocolLog(ACCOUNT, logs, switch, interval=3600)
    hook = bridge.hook("c1")
    await logs.append(ACCOUNT, [{"msg": "earlier"}], max_lines=10)
    hook("C", "A1 NOOP")  # buffered, not written yet
    switch.settings = LogSettings()
    await bridge.clear()
    assert bridge_idle(bridge) and await read(logs) == []
    nursery.start_soon(bridge.run)
    switch.settings = LOGGED
    for n in range(200):  # a full batch: written at once
        hook("C", f"B{n} NOOP")
    assert (await stored(logs, 200))[0]["msg"] == "B0 NOOP"


class FlakyStore(ProtocolLogStore):
    """Fails the first ``failures`` appends, as a Redis outage would."""

    def __init__(self, store: RedisStore, failures: int) -> None:
        super().__init__(store)
        self.failures = failures
        self.attempts = 0

    async def append(
        self, account_id: str, entries: Sequence[Mapping[str, Any]], max_lines: int
    ) -> bool:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise StoreUnavailable("Redis at redis://127.0.0.1:1: connection refused")
        return await super().append(account_id, entries, max_lines)


async def test_a_redis_outage_is_logged_once_and_retried_within_the_bound(
    store: RedisStore,
    logs: ProtocolLogStore,
    nursery: trio.Nursery,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "trimap.accounts.protocollog")
    flaky = FlakyStore(store, failures=3)
    bridge = AccountProtocolLog(
        ACCOUNT, flaky, Switch(), capacity=4, batch=2, retry_min=0.01, retry_max=0.02
    )
    hook = bridge.hook("c1")
    hook("S", "first")
    hook("S", "second")
    nursery.start_soon(bridge.run)
    await wait_until_async(lambda: flaky.attempts >= 1, message="a first failed write")
    for n in range(10):  # during the outage: the buffer keeps the newest 4
        hook("S", f"later {n}")
        assert len(bridge._buffer) <= 4
    entries = await stored(logs, 7)
    assert [e["msg"] for e in entries] == [
        "first",
        "second",
        "6 protocol log entries dropped here: the log fell behind",
        "later 6",
        "later 7",
        "later 8",
        "later 9",
    ]
    assert [e["lo"] for e in entries] == list(range(1, 8))
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["protocol log not written, retrying", "protocol log written again"]


async def test_entries_of_a_deleted_account_are_dropped(
    logs: ProtocolLogStore, accounts: AccountStore, nursery: trio.Nursery, raw: redis.Redis
) -> None:
    await accounts.delete(ACCOUNT)
    bridge = AccountProtocolLog(ACCOUNT, logs, Switch(), batch=1)
    nursery.start_soon(bridge.run)
    bridge.hook("c1")("C", "A1 LOGOUT")
    await wait_until_async(lambda: bridge_idle(bridge), message="the entry to be dropped")
    assert raw.keys("trimap:{accounts}:log*") == []
