"""The account registry on a real Redis: round trip, update rules, listing, deletion, secrecy."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis
import trio
import trio.testing

from tests.redisdump import dump
from trimap.accounts import (
    AccountChange,
    AccountChanges,
    AccountError,
    AccountInput,
    AccountNotFound,
    AccountRegistry,
    Auth,
    ImapSettings,
    InvalidAccount,
    SmtpSettings,
    TlsOptions,
    parse_account_input,
)
from trimap.config import load_config
from trimap.secrets import KEY_FILE_NAME, SecretBox, SecretDecryptError, SecretKeyError
from trimap.service import StartupError, serve
from trimap.store import RedisStore
from trimap.store.accounts import AccountStore

PASSWORD = "pa55-Wörd-7b1e0c"
TOKEN = "ya29.token-e4f1a9c3d2b8"

RegistryFactory = Callable[..., AccountRegistry]


@pytest.fixture
def make_registry(redis_url: str) -> Iterator[RegistryFactory]:
    """``make_registry(key=None)``: a registry on the test's Redis (a fresh key by default)."""
    stores: list[RedisStore] = []

    def make(key: bytes | None = None) -> AccountRegistry:
        store = RedisStore(redis_url)
        stores.append(store)
        return AccountRegistry(AccountStore(store, SecretBox(key or os.urandom(32))))

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def raw(redis_server: Any, redis_url: str) -> Iterator[redis.Redis]:
    """A plain synchronous client on the test's (emptied) Redis, to look behind the store."""
    with redis_server.client() as client:
        yield client


def body(account: str = "a1", **fields: Any) -> dict[str, Any]:
    return {
        "account": account,
        "name": f"Account {account}",
        "imap": {
            "host": "imap.example.com",
            "port": 993,
            "secure": True,
            "tls": {"rejectUnauthorized": False, "minVersion": "TLSv1.2"},
            "auth": {"user": "ann@example.com", "pass": PASSWORD},
            "resyncDelay": 600,
        },
        "smtp": {
            "host": "smtp.example.com",
            "port": 587,
            "auth": {"user": "ann@example.com", "accessToken": TOKEN},
        },
    } | fields


async def test_create_read_and_the_public_view(make_registry: RegistryFactory) -> None:
    registry = make_registry()
    before = datetime.now(UTC)
    assert await registry.create_or_update(parse_account_input(body())) is True
    account = await registry.get("a1")
    assert account.name == "Account a1" and account.state == "init" and account.last_error is None
    assert account.imap == ImapSettings(
        host="imap.example.com",
        port=993,
        secure=True,
        tls=TlsOptions(reject_unauthorized=False, min_version="TLSv1.2"),
        auth=Auth("ann@example.com", password=PASSWORD),
        resync_delay=600,
    )
    assert account.smtp == SmtpSettings(
        host="smtp.example.com", port=587, auth=Auth("ann@example.com", access_token=TOKEN)
    )
    assert account.copy is True and before <= account.notify_from <= datetime.now(UTC)

    view = account.public_view()
    assert view["imap"]["auth"] == {"user": "ann@example.com"}
    assert view["smtp"]["auth"] == {"user": "ann@example.com"}
    assert view["copy"] is True and view["notifyFrom"].endswith("Z")
    for text in (json.dumps(view), repr(account), str(account)):
        assert PASSWORD not in text and TOKEN not in text

    with pytest.raises(AccountNotFound):
        await registry.get("nobody")


async def test_same_id_updates_and_unnamed_fields_keep_their_values(
    make_registry: RegistryFactory,
) -> None:
    registry = make_registry()
    notify_from = "2024-03-01T10:00:00+00:00"
    assert await registry.create_or_update(
        parse_account_input(body(copy=False, notifyFrom=notify_from))
    )
    # POST with the same id: an update; fields it leaves out keep their values.
    again = {"account": "a1", "name": "Renamed", "smtp": False}
    assert await registry.create_or_update(parse_account_input(again)) is False
    # PUT naming only the imap settings (replaced as a whole).
    imap = {"host": "10.0.0.7", "port": 143, "useAuthServer": True}
    await registry.update(parse_account_input({"imap": imap}, account_id="a1"))

    account = await registry.get("a1")
    assert account.name == "Renamed"
    assert account.copy is False
    assert account.notify_from == datetime.fromisoformat(notify_from)
    assert account.smtp is None
    assert account.imap == ImapSettings(host="10.0.0.7", port=143, use_auth_server=True)

    await registry.update(AccountInput("a1", copy=True))
    assert (await registry.get("a1")).copy is True
    with pytest.raises(AccountNotFound):
        await registry.update(AccountInput("nobody", name="x"))
    with pytest.raises(InvalidAccount) as nameless:
        await registry.create_or_update(AccountInput("new", copy=False))
    assert set(nameless.value.fields) == {"name"}
    assert (await registry.list()).total == 1


async def test_an_update_keeps_the_state(make_registry: RegistryFactory) -> None:
    registry = make_registry()
    await registry.create_or_update(parse_account_input(body()))
    error = AccountError("Invalid credentials", "AUTHENTICATIONFAILED")
    await registry.set_state("a1", "authenticationError", error)
    await registry.update(AccountInput("a1", name="Still failing"))
    account = await registry.get("a1")
    assert account.state == "authenticationError" and account.last_error == error
    await registry.set_state("a1", "connected")
    account = await registry.get("a1")
    assert account.state == "connected" and account.last_error is None
    with pytest.raises(AccountNotFound):
        await registry.set_state("nobody", "connected")


async def test_listing_pages_by_id_and_filters_by_state(make_registry: RegistryFactory) -> None:
    registry = make_registry()
    ids = ["b", "A", "c", "a0", "D", "e1", "E0"]
    for account_id in ids:
        await registry.create_or_update(AccountInput(account_id, name=f"n-{account_id}"))
    in_order = ["A", "a0", "b", "c", "D", "E0", "e1"]  # case-insensitive, as the reference

    first = await registry.list(page_size=3)
    assert [a.id for a in first.accounts] == in_order[:3]
    assert (first.page, first.pages, first.total) == (0, 3, 7)
    last = await registry.list(page=2, page_size=3)
    assert [a.id for a in last.accounts] == in_order[6:]
    beyond = await registry.list(page=5, page_size=3)
    assert beyond.accounts == () and beyond.total == 7
    assert [a.name for a in first.accounts] == ["n-A", "n-a0", "n-b"]

    failure = AccountError("connect ECONNREFUSED", "ECONNREFUSED")
    await registry.set_state("c", "connectError", failure)
    await registry.set_state("b", "connected")
    await registry.set_state("E0", "connectError", failure)
    errors = await registry.list(state="connectError")
    assert [a.id for a in errors.accounts] == ["c", "E0"] and errors.total == 2
    assert errors.accounts[0].to_json() == {
        "account": "c",
        "name": "n-c",
        "state": "connectError",
        "lastError": {"response": "connect ECONNREFUSED", "serverResponseCode": "ECONNREFUSED"},
    }
    init = await registry.list(state="init", page_size=2)
    assert [a.id for a in init.accounts] == ["A", "a0"] and (init.total, init.pages) == (4, 2)
    await registry.set_state("c", "connected")
    assert [a.id for a in (await registry.list(state="connectError")).accounts] == ["E0"]
    assert [a.id for a in (await registry.list(state="connected")).accounts] == ["b", "c"]
    empty = await registry.list(state="disconnected")
    assert (empty.accounts, empty.pages, empty.total) == ((), 1, 0)
    with pytest.raises(ValueError):
        await registry.list(page_size=0)


async def test_delete_leaves_no_key_behind(
    make_registry: RegistryFactory, raw: redis.Redis, redis_url: str
) -> None:
    registry = make_registry()
    await registry.create_or_update(parse_account_input(body("keep")))
    before = set(raw.scan_iter(count=1000))

    await registry.create_or_update(parse_account_input(body("gone")))
    await registry.set_state("gone", "connectError", AccountError("refused", "ECONNREFUSED"))
    raw.set("sync:gone:1", "x")
    raw.hset("sync:gone:2", "uidNext", "7")
    store = RedisStore(redis_url)
    try:  # how store modules name an account's other keys
        await AccountStore(store, SecretBox(os.urandom(32))).track_keys(
            "gone", ["sync:gone:1", "sync:gone:2"]
        )
    finally:
        store.close()
    assert await registry.delete("gone") is True

    assert set(raw.scan_iter(count=1000)) == before
    assert [a.id for a in (await registry.list()).accounts] == ["keep"]
    assert (await registry.list(state="connectError")).total == 0
    assert await registry.delete("gone") is False
    with pytest.raises(AccountNotFound):
        await registry.get("gone")


async def test_secrets_never_reach_redis_in_clear(
    make_registry: RegistryFactory, raw: redis.Redis
) -> None:
    registry = make_registry()
    await registry.create_or_update(parse_account_input(body("a1")))
    smtp_password = {"host": "smtp.example.com", "port": 465, "auth": {"user": "u", "pass": TOKEN}}
    await registry.update(parse_account_input({"smtp": smtp_password}, account_id="a1"))
    await registry.create_or_update(parse_account_input(body("a2")))
    await registry.set_state("a2", "connected")
    await registry.list()
    everything = dump(raw)
    assert b"ann@example.com" in everything  # the dump does see the stored values
    for secret in (PASSWORD, TOKEN):
        for form in (secret.encode(), json.dumps(secret).encode(), secret.encode("utf-16-le")):
            assert form not in everything
        assert base64.b64encode(secret.encode()) not in everything
    assert (await registry.get("a1")).smtp.auth == Auth("u", password=TOKEN)  # type: ignore[union-attr]


async def test_a_ciphertext_moved_to_another_account_or_field_does_not_decrypt(
    make_registry: RegistryFactory, raw: redis.Redis
) -> None:
    registry = make_registry()
    await registry.create_or_update(parse_account_input(body("a1")))
    await registry.create_or_update(parse_account_input(body("a2")))
    record1, record2 = "trimap:{accounts}:a:a1", "trimap:{accounts}:a:a2"

    raw.hset(record2, "imap", raw.hget(record1, "imap"))  # a1's sealed password, in a2
    with pytest.raises(SecretDecryptError) as moved:
        await registry.get("a2")
    assert PASSWORD not in str(moved.value)

    imap = json.loads(raw.hget(record1, "imap"))  # a1's imap password as its smtp password
    smtp = json.loads(raw.hget(record1, "smtp"))
    smtp["auth"] = {"user": "u", "pass": imap["auth"]["pass"]}
    raw.hset(record1, "smtp", json.dumps(smtp))
    with pytest.raises(SecretDecryptError):
        await registry.get("a1")


async def test_a_different_key_is_refused(make_registry: RegistryFactory) -> None:
    key = os.urandom(32)
    registry = make_registry(key)
    await registry.create_or_update(parse_account_input(body()))
    assert (await make_registry(key).get("a1")).imap is not None  # same key: fine

    other_key = os.urandom(32)
    other = make_registry(other_key)
    with pytest.raises(SecretKeyError) as refused:
        await other.check_key()
    with pytest.raises(SecretKeyError):
        await other.create_or_update(parse_account_input(body("a2")))
    message = str(refused.value)
    assert SecretBox(key).key_id in message and SecretBox(other_key).key_id in message
    for secret in (key, other_key):
        assert base64.b64encode(secret).decode() not in message
    assert (await registry.list()).total == 1  # nothing was written with the wrong key


def test_validation_names_every_field_and_never_quotes_a_secret() -> None:
    long_secret = "S3cr3t" * 50
    bad = {
        "account": "",
        "imap": {
            "host": "not a host",
            "port": 70000,
            "tls": {"minVersion": "SSLv3", "bogus": 1},
            "auth": {"user": "u", "pass": long_secret, "accessToken": TOKEN},
            "resyncDelay": -1,
        },
        "smtp": {"host": "smtp.example.com", "port": 25},
        "copy": "false",
        "notifyFrom": "yesterday",
        "extra": True,
    }
    with pytest.raises(InvalidAccount) as error:
        parse_account_input(bad)
    assert set(error.value.fields) == {
        "account",
        "name",
        "imap.host",
        "imap.port",
        "imap.tls.minVersion",
        "imap.tls.bogus",
        "imap.auth",
        "imap.auth.pass",
        "imap.resyncDelay",
        "smtp",
        "copy",
        "notifyFrom",
        "extra",
    }
    assert long_secret not in str(error.value) and TOKEN not in str(error.value)
    with pytest.raises(InvalidAccount) as both:
        parse_account_input(
            {"imap": {"host": "h", "port": 1, "useAuthServer": True, "auth": {"user": "u"}}},
            account_id="a1",
        )
    assert set(both.value.fields) == {"imap", "imap.auth"}
    with pytest.raises(InvalidAccount) as in_path:
        parse_account_input({"account": "a1"}, account_id="a1")
    assert set(in_path.value.fields) == {"account"}
    put = parse_account_input({"copy": False, "notifyFrom": "2024-01-02T03:04:05"}, account_id="x")
    assert put == AccountInput(
        "x", copy=False, notify_from=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    )
    assert parse_account_input({"smtp": False}, account_id="x").smtp is False


async def test_changes_are_announced_coalesced_per_account(
    make_registry: RegistryFactory,
) -> None:
    registry = make_registry()
    await registry.create_or_update(parse_account_input(body("a1")))
    await registry.create_or_update(parse_account_input(body("a2")))
    await registry.update(AccountInput("a1", name="x"))
    await registry.set_state("a2", "connected")  # the runner's own report: not announced
    await registry.delete("a2")
    await registry.delete("a2")  # nothing deleted, nothing announced
    assert len(registry.changes) == 2
    assert await registry.changes.receive() == AccountChange("a1", "updated")
    assert await registry.changes.receive() == AccountChange("a2", "deleted")
    assert len(registry.changes) == 0


async def test_a_consumer_waits_for_the_next_change() -> None:
    changes = AccountChanges()
    received: list[AccountChange] = []

    async def consume() -> None:
        async for change in changes:
            received.append(change)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        await trio.testing.wait_all_tasks_blocked()
        assert received == []
        changes.announce(AccountChange("a", "created"))
        await trio.testing.wait_all_tasks_blocked()
        changes.announce(AccountChange("b", "created"))
        changes.announce(AccountChange("b", "deleted"))
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert received == [AccountChange("a", "created"), AccountChange("b", "deleted")]


async def test_the_service_keeps_its_generated_key_and_refuses_another(
    redis_url: str, tmp_path: Path
) -> None:
    options = {"api.port": "0", "dbs.redis": redis_url, "data.dir": str(tmp_path)}

    async def start_and_stop() -> None:
        stop = trio.Event()
        config = load_config(options, environ={})
        async with trio.open_nursery() as nursery:
            await nursery.start(partial(serve, config, stop=stop, handle_signals=False))
            stop.set()

    await start_and_stop()
    key_file = tmp_path / KEY_FILE_NAME
    written = key_file.read_bytes()
    await start_and_stop()  # the same key, read back
    assert key_file.read_bytes() == written

    other = base64.b64encode(os.urandom(32)).decode()
    config = load_config(options | {"secrets.key": other}, environ={})
    with pytest.raises(StartupError) as refused:  # raised before anything is served
        await serve(config, stop=trio.Event(), handle_signals=False)
    message = str(refused.value)
    assert message.startswith("secrets.key: ") and "\n" not in message
    assert other not in message and written.decode().strip() not in message


HOOK = "https://hook-user:h00k-pa55@hooks.example.com/in?token=t0k-9f2e"
WEBHOOKS_INDEX = "trimap:{accounts}:webhooks"


async def test_an_account_webhook_url_is_sealed_indexed_and_shown_redacted(
    make_registry: RegistryFactory, raw: redis.Redis
) -> None:
    registry = make_registry()
    await registry.create_or_update(parse_account_input(body("a1", webhooks=f"  {HOOK} ")))
    await registry.create_or_update(parse_account_input(body("a2")))
    account = await registry.get("a1")
    assert account.webhooks == HOOK and (await registry.get("a2")).webhooks is None
    assert account.public_view()["webhooks"] == "https://hooks.example.com/in?…"
    assert (await registry.get("a2")).public_view()["webhooks"] is None
    assert await registry.webhook_url("a1") == HOOK
    assert await registry.webhook_url("a2") is None and await registry.webhook_url("x") is None
    assert await registry.webhook_urls() == {"a1": HOOK}
    assert raw.smembers(WEBHOOKS_INDEX) == {b"a1"}
    everything = dump(raw)
    for secret in ("h00k-pa55", "t0k-9f2e", "hook-user", "hooks.example.com"):
        assert secret.encode() not in everything
    for text in (repr(account), repr(parse_account_input(body(webhooks=HOOK)))):
        assert "h00k-pa55" not in text

    await registry.update(AccountInput("a1", name="renamed"))  # not named: kept
    assert await registry.webhook_urls() == {"a1": HOOK}
    other = "http://10.0.0.1:8080/a2"
    await registry.update(parse_account_input({"webhooks": other}, account_id="a2"))
    await registry.update(parse_account_input({"webhooks": None}, account_id="a1"))
    assert await registry.webhook_urls() == {"a2": other}
    assert raw.hget("trimap:{accounts}:a:a1", "webhooks") is None
    await registry.create_or_update(parse_account_input(body("a1", webhooks=HOOK)))
    await registry.update(parse_account_input({"webhooks": ""}, account_id="a2"))
    assert raw.smembers(WEBHOOKS_INDEX) == {b"a1"}
    await registry.delete("a1")
    assert raw.smembers(WEBHOOKS_INDEX) == set() and await registry.webhook_urls() == {}


async def test_a_sealed_webhook_url_moved_to_another_account_does_not_decrypt(
    make_registry: RegistryFactory, raw: redis.Redis
) -> None:
    registry = make_registry()
    await registry.create_or_update(parse_account_input(body("a1", webhooks=HOOK)))
    await registry.create_or_update(parse_account_input(body("a2")))
    raw.hset("trimap:{accounts}:a:a2", "webhooks", raw.hget("trimap:{accounts}:a:a1", "webhooks"))
    with pytest.raises(SecretDecryptError):
        await registry.webhook_url("a2")


def test_an_account_webhook_url_is_validated() -> None:
    assert parse_account_input({"webhooks": HOOK}, account_id="x").webhooks == HOOK
    assert parse_account_input({"webhooks": None}, account_id="x").webhooks is False
    assert parse_account_input({"webhooks": ""}, account_id="x").webhooks is False
    assert parse_account_input({"name": "n"}, account_id="x").webhooks is None
    for bad in ("ftp://h/", "https://", "http://h:0/", "http://h:99999/", "h/x", 7, ["u"]):
        with pytest.raises(InvalidAccount) as refused:
            parse_account_input({"webhooks": bad}, account_id="x")
        assert refused.value.fields == {"webhooks": '"webhooks" must be an http or https URL'}
    with pytest.raises(InvalidAccount) as spaced:
        parse_account_input({"webhooks": "http://h/a b"}, account_id="x")
    assert set(spaced.value.fields) == {"webhooks"}


async def test_listeners_are_awaited_after_each_stored_change(
    make_registry: RegistryFactory,
) -> None:
    registry = make_registry()
    heard: list[tuple[AccountChange, str | None]] = []

    async def listener(change: AccountChange) -> None:
        heard.append((change, await registry.webhook_url(change.id)))  # the change is stored

    registry.add_listener(listener)
    await registry.create_or_update(parse_account_input(body("a1", webhooks=HOOK)))
    assert heard == [(AccountChange("a1", "created"), HOOK)]
    await registry.update(parse_account_input({"webhooks": None}, account_id="a1"))
    await registry.create_or_update(parse_account_input(body("a1")))
    await registry.delete("a1")
    await registry.delete("a1")  # nothing deleted, nothing heard
    assert heard[1:] == [
        (AccountChange("a1", "updated"), None),
        (AccountChange("a1", "updated"), None),
        (AccountChange("a1", "deleted"), None),
    ]

    async def failing(_change: AccountChange) -> None:
        raise RuntimeError("listener failed")

    registry.add_listener(failing)
    with pytest.raises(RuntimeError):
        await registry.create_or_update(parse_account_input(body("a2")))
    assert (await registry.get("a2")).name == "Account a2"  # stored before the listeners ran
