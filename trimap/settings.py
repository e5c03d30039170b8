"""Runtime settings (the reference's ``/v1/settings``): validation, storage, change notice.

How it works: ``Settings`` validates values with ``validate`` (the reference's
rules for each key, with its conversions: ``"Y"``/``"1"`` are true, ``"42"``
is 42), stores them through ``trimap.store.SettingsStore`` (one JSON value per
key) and then awaits every listener registered with ``add_listener``, in the
caller's task: the webhook supervisor uses this to give a new destination its
cursor *before* the POST that configured it is answered, so no event appended
after that answer can be missed.  A listener receives the ``SettingsChange``:
the keys updated and the accounts whose protocol logs are to start afresh.

Keys handled here: ``webhooks`` (http(s) URL), ``webhookEvents`` (event kinds
or ``*``), ``notifyText`` (bool), ``notifyTextSize`` (int >= 0, 0 = no limit),
``notifyHeaders`` (header names or ``*``), ``webhookSecret`` (the HMAC key
for webhook signatures), ``authServer`` (http(s) URL of the credential
endpoint; ``""`` unsets it, as in the reference) and ``logs`` (which
accounts get a protocol log, and how many lines it keeps: ``{all,
accounts, maxLogLines}``, defaults filled in).  ``None`` unsets a key.

``logs.resetLoggedAccounts`` is the reference's one-shot command, not a
setting: it is never stored; when true, the ``SettingsChange`` names every
account of ``logs.accounts`` so the engine reconnects them and their logs
start with a fresh session.

Rules it keeps:

* Unknown keys and bad values are refused, every problem at once
  (``SettingsError.fields``), and nothing is stored then.
* ``webhookSecret`` never leaves in clear: it is stored encrypted with the
  instance's ``SecretBox`` (AES-GCM, bound to ``SECRET_BINDING``), ``read``
  gives ``SECRET_MASK`` for it, and no log line carries it; only
  ``webhooks()`` decrypts it, for the senders.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from trimap.accounts.model import MAX_ID
from trimap.events import EVENT_KINDS
from trimap.secrets import SecretBox
from trimap.store import SettingsStore
from trimap.urls import check_http_url

__all__ = [
    "DEFAULT_MAX_LOG_LINES",
    "SECRET_MASK",
    "SETTING_KEYS",
    "LogSettings",
    "Settings",
    "SettingsChange",
    "SettingsError",
    "WebhookSettings",
    "validate",
]

SETTING_KEYS = (
    "webhooks",
    "webhookEvents",
    "notifyText",
    "notifyTextSize",
    "notifyHeaders",
    "webhookSecret",
    "authServer",
    "logs",
)
SECRET_MASK = "********"
SECRET_BINDING = "settings:webhookSecret"  # what a stored secret's ciphertext is bound to
MAX_SECRET_LENGTH = 1024
DEFAULT_MAX_LOG_LINES = 10_000
MAX_LOG_LINES = 1_000_000
RESET_LOGS = "resetLoggedAccounts"  # in ``logs``: a command, never stored
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TRUE = frozenset({"true", "1", "y", "yes", "on"})
_FALSE = frozenset({"false", "0", "n", "no", "off"})
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """What one ``update`` did: the keys it stored, the accounts whose logs to reset."""

    keys: tuple[str, ...]
    reset_logged_accounts: frozenset[str] = frozenset()


Listener = Callable[[SettingsChange], Awaitable[None]]


class SettingsError(ValueError):
    """Invalid settings; ``fields`` maps each bad key to what is wrong with it."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("invalid settings: " + ", ".join(sorted(fields)))
        self.fields = fields


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f'"{key}" must be a boolean')


def _size(key: str, value: Any, maximum: int | None = None) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < 0
        or (maximum is not None and value > maximum)
    ):
        limit = "of at least 0" if maximum is None else f"from 0 to {maximum}"
        raise ValueError(f'"{key}" must be an integer {limit}')
    return value


def _strings(key: str, value: Any, check: Callable[[str], bool], what: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f'"{key}" must be a list of strings')
    items = list(dict.fromkeys(item.strip() for item in value))
    bad = [item for item in items if item != "*" and not check(item)]
    if bad:
        raise ValueError(f'"{key}" has {what}: {", ".join(bad)[:200]}')
    return items


def _secret(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_SECRET_LENGTH:
        raise ValueError(f'"webhookSecret" must be a string of 1 to {MAX_SECRET_LENGTH} characters')
    return value


def _account_ids(value: Any) -> list[str]:
    key = "logs.accounts"
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f'"{key}" must be a list of account ids')
    if any(not item or len(item) > MAX_ID or _CONTROL.search(item) for item in value):
        raise ValueError(
            f'"{key}" must hold strings of 1 to {MAX_ID} characters, no control characters'
        )
    return list(dict.fromkeys(value))


def _logs(value: Any) -> dict[str, Any]:
    """``logs`` with its defaults filled in; every bad field at once (``SettingsError``)."""
    if not isinstance(value, Mapping):
        raise ValueError('"logs" must be an object')
    checks: dict[str, Callable[[Any], Any]] = {
        "all": partial(_bool, "logs.all"),
        "accounts": _account_ids,
        "maxLogLines": partial(_size, "logs.maxLogLines", maximum=MAX_LOG_LINES),
        RESET_LOGS: partial(_bool, f"logs.{RESET_LOGS}"),
    }
    problems = {f"logs.{k}": f'"logs.{k}" is not allowed' for k in value if k not in checks}
    clean: dict[str, Any] = {"all": False, "accounts": [], "maxLogLines": DEFAULT_MAX_LOG_LINES}
    for name, check in checks.items():
        if value.get(name) is not None:
            try:
                clean[name] = check(value[name])
            except ValueError as exc:
                problems[f"logs.{name}"] = str(exc)
    if problems:
        raise SettingsError(problems)
    if not clean.get(RESET_LOGS):
        clean.pop(RESET_LOGS, None)
    return clean


def _validate_one(key: str, value: Any) -> Any:
    if key == "webhooks":
        return check_http_url(key, value)
    if key == "authServer":
        return None if value == "" else check_http_url(key, value)
    if key == "logs":
        return _logs(value)
    if key == "webhookEvents":
        return _strings(key, value, EVENT_KINDS.__contains__, "unknown event types")
    if key == "notifyText":
        return _bool(key, value)
    if key == "notifyTextSize":
        return _size(key, value)
    if key == "notifyHeaders":
        return _strings(key, value, _HEADER_NAME.fullmatch, "invalid header names")  # type: ignore[arg-type]
    return _secret(value)


def validate(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` converted to their stored form; ``SettingsError`` lists every problem.

    The one exception to "stored form": ``logs`` keeps ``resetLoggedAccounts: true``
    when it was asked for; ``Settings.update`` takes it out before storing."""
    problems: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if key not in SETTING_KEYS:
            problems[key] = f'"{key}" is not allowed'
        elif value is None:
            clean[key] = None
        else:
            try:
                clean[key] = _validate_one(key, value)
            except SettingsError as exc:
                problems.update(exc.fields)
            except ValueError as exc:
                problems[key] = str(exc)
    if problems:
        raise SettingsError(problems)
    return clean


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """What webhook senders need: the global URL, the event filter and the signing secret."""

    url: str | None = field(repr=False)  # may carry credentials
    events: frozenset[str] | None  # None: every kind
    secret: str | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class LogSettings:
    """Which accounts get a protocol log, and how many lines each log keeps (0: none written)."""

    all: bool = False
    accounts: frozenset[str] = frozenset()
    max_lines: int = DEFAULT_MAX_LOG_LINES

    def logs(self, account_id: str) -> bool:
        """Whether account ``account_id`` is logged (``all``, or it is listed)."""
        return self.all or account_id in self.accounts

    @classmethod
    def from_stored(cls, value: Any) -> LogSettings:
        """From the stored ``logs`` value; the defaults for anything unset or not valid."""
        try:
            clean = _logs(value)
        except ValueError:
            return cls()
        return cls(clean["all"], frozenset(clean["accounts"]), clean["maxLogLines"])


class Settings:
    """The settings service (see the module comment)."""

    def __init__(self, store: SettingsStore, box: SecretBox) -> None:
        self._store = store
        self._box = box
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Await ``listener(change)`` after every successful update, before ``update`` returns."""
        self._listeners.append(listener)

    async def read(self, keys: Collection[str] = SETTING_KEYS) -> dict[str, Any]:
        """The values of ``keys`` (``None`` when unset), the secret masked."""
        stored = await self._store.load()
        values = {key: stored.get(key) for key in keys}
        if values.get("webhookSecret") is not None:
            values["webhookSecret"] = SECRET_MASK
        return values

    async def update(self, values: Mapping[str, Any]) -> list[str]:
        """Validate and store ``values``, tell the listeners; the keys updated."""
        stored = validate(values)
        reset: frozenset[str] = frozenset()
        if stored.get("logs") is not None and stored["logs"].pop(RESET_LOGS, False):
            reset = frozenset(stored["logs"]["accounts"])
        if isinstance(stored.get("webhookSecret"), str):
            stored["webhookSecret"] = self._box.encrypt(
                stored["webhookSecret"], bound_to=SECRET_BINDING
            )
        await self._store.update(stored)
        change = SettingsChange(tuple(stored), reset)
        for listener in self._listeners:
            await listener(change)
        return list(change.keys)

    async def webhooks(self) -> WebhookSettings:
        """The current webhook settings."""
        stored = await self._store.load()
        events = stored.get("webhookEvents")
        secret = stored.get("webhookSecret")
        url = stored.get("webhooks")
        return WebhookSettings(
            url=url if isinstance(url, str) else None,
            events=None if not isinstance(events, list) or "*" in events else frozenset(events),
            secret=self._box.decrypt(secret, bound_to=SECRET_BINDING)
            if isinstance(secret, str) and secret
            else None,
        )

    async def auth_server(self) -> str | None:
        """The credential endpoint's URL (it may carry credentials), or ``None`` when unset."""
        url = (await self._store.load()).get("authServer")
        return url if isinstance(url, str) and url else None

    async def log_settings(self) -> LogSettings:
        """The current protocol-log settings (the defaults while ``logs`` is unset)."""
        return LogSettings.from_stored((await self._store.load()).get("logs"))
