"""``GET /v1/events`` over HTTP: paging, filters, 400s naming fields, 410, 503."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import trio

from tests.httpclient import HttpAnswer, request
from tests.trimap.sample_events import event
from trimap.config import load_config
from trimap.events import EventLog, stable_event_id
from trimap.metrics import Metrics
from trimap.service import serve
from trimap.store import EventLogStore, RedisStore


@pytest.fixture
async def base_url(redis_url: str, nursery: trio.Nursery, tmp_path: Path) -> AsyncIterator[str]:
    options = {"api.port": "0", "dbs.redis": redis_url, "data.dir": str(tmp_path)}
    config = load_config(options, environ={})
    stop = trio.Event()
    bound = await nursery.start(partial(serve, config, stop=stop, handle_signals=False))
    yield bound[0]
    stop.set()


@pytest.fixture
def writer(redis_url: str) -> Iterator[EventLog]:
    """Another instance's view of the same log: its appends go to the Redis the service reads."""
    store = RedisStore(redis_url)
    backend = EventLogStore(store, retention=3600, max_length=100, dedupe_window=60)
    yield EventLog(backend, Metrics())
    store.close()


async def get(base: str, **query: Any) -> HttpAnswer:
    url = f"{base}/v1/events"
    if query:
        url += "?" + urlencode(query, doseq=True)
    return await trio.to_thread.run_sync(request, "GET", url)


async def test_pages_through_the_log_with_a_cursor(base_url: str, writer: EventLog) -> None:
    empty = await get(base_url)
    assert empty.status == 200
    assert empty.json() == {"events": [], "cursor": "0-0", "hasMore": False}
    positions = await writer.append([event("a", uid) for uid in range(5)])
    first = (await get(base_url, limit=3)).json()
    assert first["hasMore"] is True and first["cursor"] == positions[2]
    assert first["events"][0] == {
        "account": "a",
        "date": "2020-12-17T10:00:00.000Z",
        "path": "INBOX",
        "specialUse": "\\Inbox",
        "event": "messageNew",
        "data": {"id": "m0", "uid": 0},
        "id": stable_event_id("a", "messageNew", "INBOX", 1, 0),
        "position": positions[0],
    }
    rest = (await get(base_url, cursor=first["cursor"], limit=3)).json()
    assert [e["position"] for e in rest["events"]] == positions[3:]
    assert rest["hasMore"] is False and rest["cursor"] == positions[-1]


async def test_filters_by_account_and_event(base_url: str, writer: EventLog) -> None:
    await writer.append(
        [event("a", 1), event("b", 2, "messageDeleted"), event("a", 3, "messageUpdated")]
    )
    by_account = (await get(base_url, account="a")).json()
    assert [e["data"]["uid"] for e in by_account["events"]] == [1, 3]
    by_kinds = (await get(base_url, event="messageDeleted,messageUpdated")).json()
    assert [e["data"]["uid"] for e in by_kinds["events"]] == [2, 3]
    repeated = (await get(base_url, event=["messageNew", "messageDeleted"], account="b")).json()
    assert [e["data"]["uid"] for e in repeated["events"]] == [2]


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ({"limit": "0"}, ["limit"]),
        ({"limit": "1001"}, ["limit"]),
        ({"limit": "ten"}, ["limit"]),
        ({"event": "messageNu"}, ["event"]),
        ({"colour": "blue", "limit": "-1"}, ["colour", "limit"]),
        ({"cursor": ["1-0", "2-0"]}, ["cursor"]),
        ({"cursor": "yesterday"}, ["cursor"]),
    ],
)
async def test_invalid_queries_are_400s_naming_the_fields(
    base_url: str, query: dict[str, Any], keys: list[str]
) -> None:
    answer = await get(base_url, **query)
    assert answer.status == 400
    body = answer.json()
    assert body["statusCode"] == 400 and body["error"] == "Bad Request"
    assert body["message"] == "Invalid input" and body["code"] == "InvalidInput"
    assert sorted(field["key"] for field in body["fields"]) == keys
    assert all(field["message"] for field in body["fields"])


async def test_an_expired_cursor_is_a_410(base_url: str, writer: EventLog) -> None:
    for start in range(0, 1000, 100):  # the writer's size bound is 100 events
        await writer.append([event("a", uid) for uid in range(start, start + 100)])
    answer = await get(base_url, cursor="0-0")
    assert answer.status == 410
    assert answer.json()["code"] == "CursorExpired"
    assert (await get(base_url)).status == 200


async def test_an_unreachable_redis_is_a_503(redis_server, base_url: str) -> None:
    redis_server.stop()
    answer = await get(base_url)
    assert answer.status == 503
    assert answer.json()["code"] == "StoreUnavailable"
    redis_server.start()
    assert (await get(base_url)).status == 200
