"""Webhook delivery end to end: settings, order, ids, signatures, retries, restarts, replay.

The service runs in-process on the test Redis with small retry delays; events are appended
by a second ``EventLog`` on the same Redis (another writer, as the account engine will be);
the receiver is the real HTTP receiver of the test bed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis
import trio

from tests.fixtures.webhook_receiver import RecordedRequest, WebhookReceiver
from tests.httpclient import HttpAnswer, request
from tests.redisdump import dump
from tests.service_process import TrimapProcess
from tests.trimap.sample_events import event
from tests.waiting import wait_until_async
from trimap import __version__
from trimap.accounts import AccountRegistry, parse_account_input
from trimap.config import load_config
from trimap.events import EventLog
from trimap.httpclient import HttpClient
from trimap.metrics import Metrics
from trimap.secrets import SecretBox
from trimap.service import serve
from trimap.settings import Settings
from trimap.store import EventLogStore, RedisStore, SettingsStore, WebhookStore, position_before
from trimap.store.accounts import AccountStore
from trimap.supervise import Backoff, supervise
from trimap.webhooks import (
    AccountRouting,
    AccountWakeups,
    Destination,
    RetryDelays,
    WebhookSender,
    WebhookSupervisor,
    sign,
)

FAST = {"webhooks.retryMin": "0.05", "webhooks.retryMax": "2"}


@pytest.fixture
def writer(store: RedisStore) -> EventLog:
    """Another instance's view of the same log: its appends go to the Redis the service reads."""
    backend = EventLogStore(store, retention=3600, max_length=10_000, dedupe_window=60)
    return EventLog(backend, Metrics(), poll_interval=0.05)


@pytest.fixture
async def service(
    redis_url: str, nursery: trio.Nursery, tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    """``await service()`` starts trimap on the test Redis and returns (base URL, stop event)."""
    stops: list[trio.Event] = []

    async def start(**overrides: str) -> tuple[str, trio.Event]:
        options = {
            "api.port": "0",
            "dbs.redis": redis_url,
            "data.dir": str(tmp_path),
            **FAST,
            **overrides,
        }
        config = load_config(options, environ={})
        stop = trio.Event()
        stops.append(stop)
        bound = await nursery.start(partial(serve, config, stop=stop, handle_signals=False))
        return bound[0], stop

    yield start
    for stop in stops:
        stop.set()


async def call(method: str, url: str, body: Any = None) -> HttpAnswer:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else None
    return await trio.to_thread.run_sync(partial(request, method, url, data, headers))


async def configure(base: str, **settings: Any) -> None:
    answer = await call("POST", f"{base}/v1/settings", settings)
    assert answer.status == 200, answer.body
    assert answer.json() == {"updated": list(settings)}


async def webhook_status(base: str) -> dict[str, dict[str, Any]]:
    listed = (await call("GET", f"{base}/v1/webhooks")).json()["destinations"]
    return {status["destination"]: status for status in listed}


def ids(requests: list[RecordedRequest]) -> list[str]:
    return [r.headers["X-Trimap-Event-Id"] for r in requests]


def first_occurrences(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


# ---------------------------------------------------------------- settings


async def test_settings_are_validated_stored_and_read_back(service, redis_url: str) -> None:
    base, _ = await service()
    empty = await call("GET", f"{base}/v1/settings?webhooks=true&notifyText=Y&eventTypes=1")
    assert empty.status == 200
    body = empty.json()
    assert body["webhooks"] is None and body["notifyText"] is None
    assert "messageNew" in body["eventTypes"]
    settings = {
        "webhooks": "https://user:pw@example.com/hook",
        "webhookEvents": ["messageNew", "messageDeleted"],
        "notifyText": "Y",
        "notifyTextSize": "1024",
        "notifyHeaders": ["List-ID", "*"],
        "webhookSecret": "s3cret",
    }
    answer = await call("POST", f"{base}/v1/settings", settings)
    assert answer.json() == {"updated": list(settings)}
    keys = "&".join(f"{key}=true" for key in settings)
    stored = (await call("GET", f"{base}/v1/settings?{keys}")).json()
    assert stored == {
        "webhooks": "https://user:pw@example.com/hook",
        "webhookEvents": ["messageNew", "messageDeleted"],
        "notifyText": True,
        "notifyTextSize": 1024,
        "notifyHeaders": ["List-ID", "*"],
        "webhookSecret": "********",
    }
    assert "s3cret" not in json.dumps(stored)
    with redis.Redis.from_url(redis_url) as client:
        assert b"s3cret" not in dump(client)  # encrypted at rest
    only = (await call("GET", f"{base}/v1/settings?notifyText=true&webhooks=false")).json()
    assert only == {"notifyText": True}
    await configure(base, webhooks=None)
    assert (await call("GET", f"{base}/v1/settings?webhooks=1")).json() == {"webhooks": None}


@pytest.mark.parametrize(
    ("body", "keys"),
    [
        ({"webhooks": ""}, ["webhooks"]),
        ({"webhooks": "ftp://example.com/"}, ["webhooks"]),
        ({"webhookEvents": ["messageNu"]}, ["webhookEvents"]),
        ({"notifyText": "maybe", "notifyTextSize": -1}, ["notifyText", "notifyTextSize"]),
        ({"notifyHeaders": [1]}, ["notifyHeaders"]),
        ({"webhookSecret": ""}, ["webhookSecret"]),
        ({"colour": "blue", "webhooks": "http://x/"}, ["colour"]),
    ],
)
async def test_bad_settings_are_400s_naming_the_fields(service, body: Any, keys: list[str]) -> None:
    base, _ = await service()
    answer = await call("POST", f"{base}/v1/settings", body)
    assert answer.status == 400
    assert answer.json()["code"] == "InvalidInput"
    assert sorted(field["key"] for field in answer.json()["fields"]) == keys
    assert (await call("GET", f"{base}/v1/settings?colour=true")).status == 400
    assert (await call("GET", f"{base}/v1/settings?webhooks=perhaps")).status == 400


# ---------------------------------------------------------------- delivery


async def test_events_arrive_in_order_with_ids_headers_and_a_signature(
    service, writer: EventLog, webhook_receiver: WebhookReceiver
) -> None:
    base, _ = await service()
    await configure(base, webhooks=webhook_receiver.url + "hook", webhookSecret="s3cret")
    events = [event("a", uid) for uid in range(5)] + [event("b", 1, "messageDeleted")]
    positions = await writer.append(events)
    got = await webhook_receiver.wait_for_async(6)
    assert ids(got) == [e.id for e in events]
    for received, sent in zip(got, events, strict=True):
        assert received.method == "POST" and received.path == "/hook"
        assert received.headers["Content-Type"] == "application/json"
        assert received.headers["User-Agent"] == f"trimap/{__version__}"
        assert received.json() == sent.to_json()
        expected = hmac.new(b"s3cret", received.body, hashlib.sha256).hexdigest()
        assert received.headers["X-Trimap-Signature"] == f"sha256={expected}"

    async def caught_up() -> dict[str, Any] | None:
        status = (await call("GET", f"{base}/v1/webhooks")).json()["destinations"][0]
        return status if status["cursor"] == positions[-1] and status["state"] == "idle" else None

    status = await wait_until_async(caught_up)
    assert status["destination"] == "global" and status["url"] == webhook_receiver.url + "hook"
    assert status["lag"] == {"events": 0, "seconds": 0.0}
    assert status["oldestUndelivered"] is None and status["lastError"] is None


async def test_event_filter_and_unsetting_the_url(
    service, writer: EventLog, webhook_receiver: WebhookReceiver
) -> None:
    base, _ = await service()
    await configure(base, webhooks=webhook_receiver.url, webhookEvents=["messageDeleted"])
    await writer.append([event("a", 1), event("a", 2, "messageDeleted"), event("a", 3)])
    got = await webhook_receiver.wait_for_async(1)
    assert [r.json()["event"] for r in got] == ["messageDeleted"]
    await configure(base, webhooks=None)

    async def no_destinations() -> bool:
        return (await call("GET", f"{base}/v1/webhooks")).json() == {"destinations": []}

    await wait_until_async(no_destinations, message="the sender stopped after unsetting the URL")


async def test_a_receiver_that_was_down_gets_every_event_in_order(
    service, writer: EventLog, webhook_receiver: WebhookReceiver
) -> None:
    base, _ = await service()
    await configure(base, webhooks=webhook_receiver.url)
    await trio.to_thread.run_sync(webhook_receiver.stop)
    events = [event(account, uid) for uid in range(6) for account in ("a", "b")]
    await writer.append(events[:6])

    async def failing() -> dict[str, Any] | None:
        status = (await call("GET", f"{base}/v1/webhooks")).json()["destinations"][0]
        return status if status["lastError"] and status["attempts"] >= 2 else None

    status = await wait_until_async(failing)
    assert status["state"] == "retrying"
    assert status["oldestUndelivered"]["id"] == events[0].id
    assert status["lag"]["events"] == 6
    await writer.append(events[6:])
    await trio.to_thread.run_sync(webhook_receiver.start)
    await wait_until_async(
        lambda: set(ids(webhook_receiver.requests)) >= {e.id for e in events},
        message="every event after the receiver came back",
    )
    got = ids(webhook_receiver.requests)
    assert first_occurrences(got) == [e.id for e in events]
    for account in ("a", "b"):
        mine = [i for i in got if i in {e.id for e in events if e.account == account}]
        assert first_occurrences(mine) == [e.id for e in events if e.account == account]


async def test_a_failing_receiver_sees_retries_with_growing_gaps(
    service, writer: EventLog, webhook_receiver: WebhookReceiver
) -> None:
    base, _ = await service(**{"webhooks.retryMin": "0.1", "webhooks.retryMax": "10"})
    webhook_receiver.respond_with(500)
    await configure(base, webhooks=webhook_receiver.url)
    await writer.append([event("a", 1), event("a", 2)])
    got = await webhook_receiver.wait_for_async(6, timeout=20)
    assert set(ids(got)) == {event("a", 1).id}  # never skipped while it fails
    times = [r.received_monotonic for r in got[:6]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # the n-th delay lies in [c/2, c] and c doubles, so the delay two retries later is at least
    # twice this one: comparing gaps two apart leaves a margin of c (>= 0.1 s) for noise
    assert all(gaps[i + 2] > gaps[i] for i in range(len(gaps) - 2)), gaps
    webhook_receiver.respond_with(200)
    await wait_until_async(lambda: event("a", 2).id in ids(webhook_receiver.requests))


def test_retry_delays_grow_with_jitter_and_are_capped() -> None:
    delays = RetryDelays(1.0, 8.0)
    values = [delays.next_delay() for _ in range(8)]
    for n, value in enumerate(values):
        ceiling = min(8.0, 2.0**n)
        assert ceiling / 2 <= value <= ceiling


async def test_a_hanging_destination_never_delays_a_healthy_one(
    store: RedisStore, writer: EventLog, make_webhook_receiver
) -> None:
    hanging: WebhookReceiver = make_webhook_receiver()
    healthy: WebhookReceiver = make_webhook_receiver()
    hanging.hang()
    cursors = WebhookStore(store)
    metrics = Metrics()
    await cursors.init_cursor("hanging", "0-0")
    await cursors.init_cursor("healthy", "0-0")
    senders = {}
    async with HttpClient(response_timeout=60) as client, trio.open_nursery() as nursery:
        for key, receiver in (("hanging", hanging), ("healthy", healthy)):
            sender = senders[key] = WebhookSender(
                Destination(key, receiver.url), writer, cursors, client, metrics, retry_min=0.05
            )
            nursery.start_soon(partial(supervise, key, sender.run, backoff=Backoff(0.05, 1)))
        events = [event("a", uid) for uid in range(20)]
        for one in events:
            await writer.append([one])
        got = await healthy.wait_for_async(20)
        assert ids(got) == [e.id for e in events]
        assert ids(hanging.requests) == [events[0].id]  # still waiting for its first answer
        assert await cursors.cursor("hanging") == "0-0"
        pending = senders["hanging"].pending
        assert pending is not None and pending.id == events[0].id
        assert senders["healthy"].pending is None and senders["healthy"].delivered == 20
        nursery.cancel_scope.cancel()
    hanging.release()
    sample = metrics.registry.get_sample_value
    success = {"destination": "healthy", "result": "success"}
    assert sample("trimap_webhook_deliveries_total", success) == 20
    latency = {"destination": "healthy"}
    assert sample("trimap_webhook_delivery_latency_seconds_count", latency) == 20


async def test_an_event_trimmed_while_it_is_retried_is_counted_and_skipped(
    store: RedisStore, webhook_receiver: WebhookReceiver
) -> None:
    small = EventLog(
        EventLogStore(store, retention=3600, max_length=100, dedupe_window=0), Metrics()
    )
    webhook_receiver.respond_with(500)
    cursors = WebhookStore(store)
    metrics = Metrics()
    await cursors.init_cursor("global", "0-0")
    first = event("a", 0)
    async with HttpClient() as client, trio.open_nursery() as nursery:
        sender = WebhookSender(
            Destination("global", webhook_receiver.url), small, cursors, client, metrics,
            retry_min=0.05, retry_max=0.2,
        )  # fmt: skip
        nursery.start_soon(sender.run)
        await small.append([first])
        await webhook_receiver.wait_for_async(2)
        for start in range(1, 1001, 100):  # the log's size bound is 100 events
            await small.append([event("a", uid) for uid in range(start, start + 100)])
        webhook_receiver.respond_with(200)
        last = event("a", 1000).id
        await wait_until_async(lambda: last in ids(webhook_receiver.requests))
        nursery.cancel_scope.cancel()
    delivered = first_occurrences(ids(webhook_receiver.requests))
    assert delivered[0] == first.id and first.id not in delivered[1:]
    order = {event("a", uid).id: uid for uid in range(1001)}
    assert delivered[1:] == sorted(delivered[1:], key=order.__getitem__)
    expired = {"destination": "global", "result": "expired"}
    assert metrics.registry.get_sample_value("trimap_webhook_deliveries_total", expired) >= 1


async def test_a_restarted_service_resumes_from_the_cursor(
    service, writer: EventLog, webhook_receiver: WebhookReceiver
) -> None:
    base, stop = await service()
    await configure(base, webhooks=webhook_receiver.url)
    before = [event("a", uid) for uid in range(3)]
    await writer.append(before)
    await webhook_receiver.wait_for_async(3)
    stop.set()
    await wait_until_async(lambda: _refuses(base), message="the first service to stop")
    after = [event("a", uid) for uid in range(3, 8)]
    await writer.append(after)
    await service()
    await wait_until_async(
        lambda: set(ids(webhook_receiver.requests)) >= {e.id for e in after},
        message="the events logged while trimap was down",
    )
    assert first_occurrences(ids(webhook_receiver.requests)) == [e.id for e in before + after]


async def _refuses(base: str) -> bool:
    try:
        await call("GET", f"{base}/health")
    except OSError:
        return True
    return False


async def test_replay_moves_the_cursor_back(
    service, writer: EventLog, webhook_receiver: WebhookReceiver
) -> None:
    base, _ = await service()
    await configure(base, webhooks=webhook_receiver.url)
    events = [event("a", uid) for uid in range(4)]
    positions = await writer.append(events)
    await webhook_receiver.wait_for_async(4)
    answer = await call("POST", f"{base}/v1/webhooks/replay", {"from": positions[2]})
    assert answer.status == 200 and answer.json()["destinations"] == ["global"]
    got = await webhook_receiver.wait_for_async(6)
    assert ids(got)[4:] == [events[2].id, events[3].id]
    answer = await call(
        "POST",
        f"{base}/v1/webhooks/replay",
        {"from": "2000-01-01T00:00:00Z", "destination": "global"},
    )
    assert answer.status == 200
    got = await webhook_receiver.wait_for_async(10)
    assert ids(got)[6:] == [e.id for e in events]
    for body, keys in [
        ({"from": "yesterday"}, ["from"]),
        ({}, ["from"]),
        ({"from": positions[0], "destination": "elsewhere"}, ["destination"]),
        ({"from": positions[0], "colour": 1}, ["colour"]),
    ]:
        bad = await call("POST", f"{base}/v1/webhooks/replay", body)
        assert bad.status == 400, body
        assert sorted(f["key"] for f in bad.json()["fields"]) == keys


def test_sign_is_hmac_sha256_hex() -> None:
    body = b'{"a":1}'
    assert sign("k", body) == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()


async def test_sigkill_between_append_and_delivery_loses_nothing(
    redis_url: str, writer: EventLog, webhook_receiver: WebhookReceiver, tmp_path: Path
) -> None:
    options = [
        f"--dbs.redis={redis_url}",
        f"--data.dir={tmp_path}",
        "--webhooks.retryMin=0.05",
        "--webhooks.retryMax=1",
    ]
    first = await trio.to_thread.run_sync(TrimapProcess.start, options)
    try:
        await configure(str(first.url), webhooks=webhook_receiver.url)
        events = [event("a", uid) for uid in range(6)]
        await writer.append(events[:2])
        await webhook_receiver.wait_for_async(2)
        webhook_receiver.hang()  # the next delivery is on the wire when trimap dies
        await writer.append(events[2:])
        await webhook_receiver.wait_for_async(3)
    finally:
        assert await trio.to_thread.run_sync(first.stop, signal.SIGKILL) == -signal.SIGKILL
    webhook_receiver.respond_with(200)
    webhook_receiver.release()
    second = await trio.to_thread.run_sync(TrimapProcess.start, options)
    try:
        await wait_until_async(
            lambda: set(ids(webhook_receiver.requests)) >= {e.id for e in events},
            message="every event after the restart",
        )
    finally:
        assert await trio.to_thread.run_sync(second.stop) == 0
    got = ids(webhook_receiver.requests)
    assert first_occurrences(got) == [e.id for e in events]
    assert got.count(events[2].id) == 2  # the one in flight: delivered again, same id


def url_with_credentials(receiver: WebhookReceiver) -> str:
    """A URL of ``receiver`` with Basic credentials and a token in the query."""
    receiver.enqueue(500)  # one failure, so the retry path logs too
    return f"http://hook-user:pa55word@{receiver.host}:{receiver.port}/h?token=t0k"


async def check_credentials_hidden(
    base: str, receiver: WebhookReceiver, caplog: Any, destination: str, *shown: Any
) -> None:
    """The receiver got Basic auth; the status, logs and ``shown`` carry no secret."""
    got = await receiver.wait_for_async(2)
    expected = "Basic " + base64.b64encode(b"hook-user:pa55word").decode()
    assert all(r.headers["Authorization"] == expected for r in got)
    assert got[0].path == "/h?token=t0k"
    status = (await webhook_status(base))[destination]
    assert status["url"] == f"http://{receiver.host}:{receiver.port}/h?…"
    assert "HTTP 500" in status["lastError"]["message"]
    assert "webhook delivery failed, retrying" in caplog.text
    text = json.dumps([status, *shown]) + caplog.text + repr([r.__dict__ for r in caplog.records])
    for secret in ("pa55word", "s3cret-value", "t0k", "hook-user"):
        assert secret not in text


async def test_credentials_go_as_basic_auth_and_secrets_stay_out_of_logs(
    service, writer: EventLog, webhook_receiver: WebhookReceiver, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    base, _ = await service()
    url = url_with_credentials(webhook_receiver)
    await configure(base, webhooks=url, webhookSecret="s3cret-value")
    await writer.append([event("a", 1)])
    await check_credentials_hidden(base, webhook_receiver, caplog, "global")


async def test_a_new_url_goes_on_from_the_same_cursor(
    service, writer: EventLog, make_webhook_receiver
) -> None:
    old: WebhookReceiver = make_webhook_receiver()
    new: WebhookReceiver = make_webhook_receiver()
    base, _ = await service()
    await configure(base, webhooks=old.url)
    events = [event("a", uid) for uid in range(6)]
    await writer.append(events[:3])
    await old.wait_for_async(3)
    await configure(base, webhooks=new.url)
    await writer.append(events[3:])
    got = await new.wait_for_async(3)
    assert ids(got) == [e.id for e in events[3:]]
    assert ids(old.requests) == [e.id for e in events[:3]]


# ---------------------------------------------------------------- per-account URLs


async def save_account(base: str, account: str, method: str = "POST", **fields: Any) -> None:
    """Create (POST) or update (PUT) an account; without IMAP settings, it logs no events."""
    if method == "POST":
        fields = {"account": account, "name": f"Account {account}", **fields}
    path = "/v1/account" if method == "POST" else f"/v1/account/{account}"
    answer = await call(method, base + path, fields)
    assert answer.status == 200, answer.body


async def test_an_account_with_its_own_url_gets_its_events_there_and_nowhere_else(
    service, writer: EventLog, make_webhook_receiver
) -> None:
    shared: WebhookReceiver = make_webhook_receiver()
    own: WebhookReceiver = make_webhook_receiver()
    base, _ = await service()
    await configure(base, webhooks=shared.url, webhookSecret="s3cret", webhookEvents=["messageNew"])
    await save_account(base, "mine", webhooks=own.url + "mine")
    assert "account:mine" in await webhook_status(base)  # started before the answer
    await save_account(base, "other")
    mine = [event("mine", 1), event("mine", 2), event("mine", 3)]
    other = [event("other", 1), event("other", 2)]
    skipped = event("mine", 9, "messageDeleted")  # the global allow-list applies to accounts too
    await writer.append([mine[0], other[0], mine[1], skipped, other[1], mine[2]])
    got = await own.wait_for_async(3)
    assert ids(got) == [e.id for e in mine]
    assert all(r.path == "/mine" for r in got)
    for received in got:
        expected = hmac.new(b"s3cret", received.body, hashlib.sha256).hexdigest()
        assert received.headers["X-Trimap-Signature"] == f"sha256={expected}"
    assert ids(await shared.wait_for_async(2)) == [e.id for e in other]

    async def caught_up() -> bool:
        status = await webhook_status(base)
        return all(s["state"] == "idle" and s["lag"]["events"] == 0 for s in status.values())

    await wait_until_async(caught_up, message="both destinations idle")
    assert len(own.requests) == 3 and len(shared.requests) == 2

    # cleared: the account's later events go to the global URL again
    await save_account(base, "mine", "PUT", webhooks=None)
    assert set(await webhook_status(base)) == {"global"}
    later = event("mine", 4)
    await writer.append([later, event("other", 3)])
    got = await shared.wait_for_async(4)
    assert ids(got)[2:] == [later.id, event("other", 3).id]
    assert len(own.requests) == 3
    account = (await call("GET", f"{base}/v1/account/mine")).json()
    assert account["webhooks"] is None


async def test_an_account_url_takes_over_what_global_had_not_delivered(
    service, writer: EventLog, make_webhook_receiver
) -> None:
    shared: WebhookReceiver = make_webhook_receiver()
    own: WebhookReceiver = make_webhook_receiver()
    base, _ = await service()
    await configure(base, webhooks=shared.url)
    await save_account(base, "mine")
    await trio.to_thread.run_sync(shared.stop)  # global is stuck on its first event
    backlog = [event("other", 1), event("mine", 1), event("other", 2), event("mine", 2)]
    await writer.append(backlog)

    async def retrying() -> bool:
        return (await webhook_status(base)).get("global", {}).get("attempts", 0) >= 2

    await wait_until_async(retrying)
    await save_account(base, "mine", "PUT", webhooks=own.url)
    assert ids(await own.wait_for_async(2)) == [backlog[1].id, backlog[3].id]
    await trio.to_thread.run_sync(shared.start)
    await wait_until_async(lambda: backlog[2].id in ids(shared.requests))
    assert first_occurrences(ids(shared.requests)) == [backlog[0].id, backlog[2].id]


async def test_a_hanging_account_url_never_delays_global_deliveries(
    service, writer: EventLog, make_webhook_receiver
) -> None:
    shared: WebhookReceiver = make_webhook_receiver()
    hanging: WebhookReceiver = make_webhook_receiver()
    hanging.hang()
    base, _ = await service()
    await configure(base, webhooks=shared.url)
    await save_account(base, "slow", webhooks=hanging.url)
    slow = [event("slow", uid) for uid in range(5)]
    fast = [event("fast", uid) for uid in range(10)]
    await writer.append(slow[:1])
    await hanging.wait_for_async(1)  # the account's sender now waits for an answer
    for index, one in enumerate(fast):
        await writer.append([one, *slow[index + 1 : index + 2]])
    assert ids(await shared.wait_for_async(10)) == [e.id for e in fast]
    assert ids(hanging.requests) == [slow[0].id]  # still waiting for its first answer
    status = (await webhook_status(base))["account:slow"]
    assert status["state"] == "delivering" and status["oldestUndelivered"]["id"] == slow[0].id
    hanging.respond_with(200)
    hanging.release()
    await wait_until_async(lambda: set(ids(hanging.requests)) >= {e.id for e in slow})
    assert first_occurrences(ids(hanging.requests)) == [e.id for e in slow]


async def test_account_urls_survive_a_restart_and_deleting_the_account_stops_its_sender(
    service, writer: EventLog, make_webhook_receiver, redis_url: str
) -> None:
    own: WebhookReceiver = make_webhook_receiver()
    base, stop = await service()
    await save_account(base, "mine", webhooks=own.url)
    await writer.append([event("mine", 1)])
    await own.wait_for_async(1)
    stop.set()
    await wait_until_async(lambda: _refuses(base), message="the first service to stop")
    await writer.append([event("mine", 2)])
    base, _ = await service()
    assert ids(await own.wait_for_async(2))[1] == event("mine", 2).id
    assert (await call("DELETE", f"{base}/v1/account/mine")).status == 200
    assert await webhook_status(base) == {}
    with redis.Redis.from_url(redis_url) as client:
        assert client.hget("trimap:webhooks:cursors", "account:mine") is None


@pytest.mark.parametrize(
    "value", ["ftp://example.com/", "http://", "http://host:99999/", "not a url", 42, ["x"]]
)
async def test_a_bad_account_url_is_a_400_naming_webhooks(service, value: Any) -> None:
    base, _ = await service()
    body = {"account": "a", "name": "A", "imap": {"host": "h", "port": 1, "useAuthServer": True}}
    for method, path, sent in [
        ("POST", "/v1/account", body | {"webhooks": value}),
        ("PUT", "/v1/account/a", {"webhooks": value}),
    ]:
        answer = await call(method, base + path, sent)
        assert answer.status == 400, answer.body
        problem = answer.json()
        assert problem["code"] == "InvalidInput" and problem["statusCode"] == 400
        assert [f["key"] for f in problem["fields"]] == ["webhooks"]
        assert problem["fields"][0]["message"] == '"webhooks" must be an http or https URL'


async def test_account_url_credentials_stay_secret(
    service, writer: EventLog, webhook_receiver: WebhookReceiver, redis_url: str, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    base, _ = await service()
    await save_account(base, "mine", webhooks=url_with_credentials(webhook_receiver))
    await writer.append([event("mine", 1)])
    account = (await call("GET", f"{base}/v1/account/mine")).json()
    assert account["webhooks"] == f"http://{webhook_receiver.host}:{webhook_receiver.port}/h?…"
    await check_credentials_hidden(base, webhook_receiver, caplog, "account:mine", account)
    with redis.Redis.from_url(redis_url) as client:
        stored = dump(client)
    assert b"pa55word" not in stored and b"t0k" not in stored and b"hook-user" not in stored


async def test_metric_labels_stay_bounded_however_many_accounts_have_a_url(
    store: RedisStore, writer: EventLog, make_webhook_receiver, nursery: trio.Nursery
) -> None:
    shared: WebhookReceiver = make_webhook_receiver()
    own: WebhookReceiver = make_webhook_receiver()
    box = SecretBox(os.urandom(32))
    registry = AccountRegistry(AccountStore(store, box))
    settings = Settings(SettingsStore(store), box)
    metrics = Metrics()
    supervisor = WebhookSupervisor(
        writer, settings, registry, WebhookStore(store), metrics, retry_min=0.05, retry_max=1
    )
    await nursery.start(supervisor.run)
    await settings.update({"webhooks": shared.url})
    accounts = [f"acct-{n}" for n in range(6)]
    for account in accounts:
        body = {"account": account, "name": account, "webhooks": own.url + account}
        await registry.create_or_update(parse_account_input(body))
    await writer.append([event(account, 1) for account in [*accounts, "plain"]])
    await own.wait_for_async(len(accounts))
    await shared.wait_for_async(1)
    sample = metrics.registry.get_sample_value
    await wait_until_async(
        lambda: (
            sample("trimap_webhook_delivery_latency_seconds_count", {"destination": "account"})
            == len(accounts)
        )
    )
    success = "trimap_webhook_deliveries_total"
    assert sample(success, {"destination": "account", "result": "success"}) == len(accounts)
    assert sample(success, {"destination": "global", "result": "success"}) == 1
    assert _destination_labels(metrics) == {"global", "account"}
    await wait_until_async(  # the largest lag among the account senders: all idle
        lambda: sample("trimap_webhook_lag_seconds", {"destination": "account"}) == 0
    )
    for account in accounts:
        await registry.update(parse_account_input({"webhooks": ""}, account_id=account))
    assert sample("trimap_webhook_lag_seconds", {"destination": "account"}) is None
    assert sample("trimap_webhook_lag_seconds", {"destination": "global"}) is not None


def _destination_labels(metrics: Metrics) -> set[str]:
    return {
        sample.labels["destination"]
        for family in metrics.registry.collect()
        if family.name.startswith("trimap_webhook")
        for sample in family.samples
    }


async def test_account_wakeups_ring_for_the_account_with_where_to_read(
    writer: EventLog, nursery: trio.Nursery
) -> None:
    await writer.append([event("x", 0)])
    wakeups = AccountWakeups(writer)
    await nursery.start(wakeups.run)
    start = await writer.latest()
    assert start is not None
    wakeups.register("a")
    wakeups.register("late")
    await writer.append([event("b", uid) for uid in range(30)])
    first_of_a, _ = await writer.append([event("a", 1), event("a", 2)])
    # the hint skips b's entries: reading starts just before a's first new event
    assert await wakeups.wait("a", start) == position_before(first_of_a)
    [third_of_a] = await writer.append([event("a", 3)])
    # the caller read up to a's newest event already: the hint is older, read after the cursor
    assert await wakeups.wait("a", third_of_a) == third_of_a
    await writer.append([event("late", 1)])
    # a cursor from before the wake-ups started: nothing is known between, read from it
    assert await wakeups.wait("late", "0-0") == "0-0"


async def test_a_hand_back_holds_until_global_passes_it(
    store: RedisStore, writer: EventLog
) -> None:
    cursors = WebhookStore(store)
    positions = await writer.append([event("a", uid) for uid in range(3)])
    logged = (await writer.read(None, 10)).events
    routing = AccountRouting(cursors)
    await routing.take("a", "http://x/", "0-0")
    assert await cursors.cursor("account:a") == "0-0"
    assert all(routing.global_skips(e) for e in logged)
    assert not routing.global_skips(event("b", 1))
    await routing.hand_back("a", positions[1], "0-0")
    assert [routing.global_skips(e) for e in logged] == [True, True, False]
    again = AccountRouting(cursors)  # after a restart
    await again.load({})
    assert [again.global_skips(e) for e in logged] == [True, True, False]
    await again.prune(positions[0])
    assert [again.global_skips(e) for e in logged] == [True, True, False]
    await again.prune(positions[1])
    assert await cursors.handbacks() == {}
    await routing.take("a", "http://x/", positions[2])
    await routing.hand_back("a", positions[1], positions[2])  # global is past: nothing to hold
    assert await cursors.handbacks() == {} and not routing.global_skips(logged[0])
