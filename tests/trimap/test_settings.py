"""The settings service on a real Redis: ``authServer`` and ``logs`` (the webhook keys and the
HTTP routes are covered end to end in test_webhooks.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from trimap.secrets import SecretBox
from trimap.settings import (
    DEFAULT_MAX_LOG_LINES,
    LogSettings,
    Settings,
    SettingsChange,
    SettingsError,
)
from trimap.store import RedisStore, SettingsStore


@pytest.fixture
def settings(redis_url: str) -> Iterator[Settings]:
    store = RedisStore(redis_url)
    yield Settings(SettingsStore(store), SecretBox(os.urandom(32)))
    store.close()


@pytest.fixture
def raw(redis_server: Any, redis_url: str) -> Iterator[redis.Redis]:
    with redis_server.client() as client:
        yield client


def stored(raw: redis.Redis, key: str) -> Any:
    value = raw.hget("trimap:settings", key)
    return None if value is None else json.loads(value)


async def refused(settings: Settings, values: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        await settings.update(values)
    return caught.value.fields


# ---------------------------------------------------------------- authServer


async def test_auth_server_is_stored_read_and_unset_by_an_empty_string(
    settings: Settings, raw: redis.Redis
) -> None:
    assert await settings.auth_server() is None
    url = "https://user:pw@auth.example.com/creds?tenant=7"
    assert await settings.update({"authServer": f"  {url} "}) == ["authServer"]
    assert await settings.auth_server() == url
    assert await settings.read(["authServer"]) == {"authServer": url}
    assert await settings.update({"authServer": ""}) == ["authServer"]
    assert await settings.auth_server() is None
    assert stored(raw, "authServer") is None


@pytest.mark.parametrize("value", ["ftp://example.com/", "example.com", "http://", 7, "   "])
async def test_a_bad_auth_server_url_is_refused_naming_the_field(
    settings: Settings, raw: redis.Redis, value: Any
) -> None:
    fields = await refused(settings, {"authServer": value, "notifyText": True})
    assert fields == {"authServer": '"authServer" must be an http or https URL'}
    assert raw.hgetall("trimap:settings") == {}  # nothing stored


# ---------------------------------------------------------------- logs


async def test_logs_default_to_nobody_and_fill_in_missing_fields(
    settings: Settings, raw: redis.Redis
) -> None:
    assert await settings.log_settings() == LogSettings(False, frozenset(), DEFAULT_MAX_LOG_LINES)
    await settings.update({"logs": {"accounts": ["a1", "a2", "a1"]}})
    assert stored(raw, "logs") == {"all": False, "accounts": ["a1", "a2"], "maxLogLines": 10_000}
    await settings.update({"logs": {"all": "Y", "maxLogLines": "0"}})
    assert stored(raw, "logs") == {"all": True, "accounts": [], "maxLogLines": 0}
    assert await settings.read(["logs"]) == {"logs": stored(raw, "logs")}


async def test_log_settings_say_which_accounts_are_logged(settings: Settings) -> None:
    await settings.update({"logs": {"accounts": ["a1"], "maxLogLines": 1_000_000}})
    listed = await settings.log_settings()
    assert listed == LogSettings(False, frozenset({"a1"}), 1_000_000)
    assert listed.logs("a1") and not listed.logs("a2")
    await settings.update({"logs": {"all": True}})
    assert (await settings.log_settings()).logs("a2")
    await settings.update({"logs": None})
    assert await settings.log_settings() == LogSettings()


async def test_a_stored_logs_value_that_is_not_valid_reads_as_the_defaults(
    settings: Settings, raw: redis.Redis
) -> None:
    raw.hset("trimap:settings", "logs", json.dumps({"all": "perhaps"}))
    assert await settings.log_settings() == LogSettings()


@pytest.mark.parametrize(
    ("logs", "fields"),
    [
        ("everything", {"logs": '"logs" must be an object'}),
        (
            {"all": "maybe", "maxLogLines": 1_000_001, "accounts": "a1", "colour": "red"},
            {
                "logs.all": '"logs.all" must be a boolean',
                "logs.maxLogLines": '"logs.maxLogLines" must be an integer from 0 to 1000000',
                "logs.accounts": '"logs.accounts" must be a list of account ids',
                "logs.colour": '"logs.colour" is not allowed',
            },
        ),
        (
            {"maxLogLines": -1, "accounts": ["a1", ""], "resetLoggedAccounts": 3},
            {
                "logs.maxLogLines": '"logs.maxLogLines" must be an integer from 0 to 1000000',
                "logs.accounts": '"logs.accounts" must hold strings of 1 to 256 characters, '
                "no control characters",
                "logs.resetLoggedAccounts": '"logs.resetLoggedAccounts" must be a boolean',
            },
        ),
        ({"maxLogLines": 2.5, "accounts": ["a\n1"]}, {"logs.maxLogLines", "logs.accounts"}),
    ],
)
async def test_bad_logs_values_are_refused_every_field_at_once(
    settings: Settings, raw: redis.Redis, logs: Any, fields: Any
) -> None:
    got = await refused(settings, {"logs": logs, "webhooks": "nope"})
    assert "webhooks" in got
    del got["webhooks"]
    assert (got if isinstance(fields, dict) else set(got)) == fields
    assert raw.hgetall("trimap:settings") == {}


async def test_reset_logged_accounts_is_never_stored_and_reaches_the_listeners(
    settings: Settings, raw: redis.Redis
) -> None:
    changes: list[SettingsChange] = []

    async def listener(change: SettingsChange) -> None:
        changes.append(change)

    settings.add_listener(listener)
    updated = await settings.update(
        {"logs": {"accounts": ["a1", "a2"], "resetLoggedAccounts": True}, "notifyText": True}
    )
    assert updated == ["logs", "notifyText"]
    assert stored(raw, "logs") == {"all": False, "accounts": ["a1", "a2"], "maxLogLines": 10_000}
    await settings.update({"logs": {"all": True, "resetLoggedAccounts": False}})
    await settings.update({"webhooks": "http://example.com/"})
    assert changes == [
        SettingsChange(("logs", "notifyText"), frozenset({"a1", "a2"})),
        SettingsChange(("logs",), frozenset()),
        SettingsChange(("webhooks",), frozenset()),
    ]
    assert "resetLoggedAccounts" not in json.dumps(await settings.read(["logs"]))
