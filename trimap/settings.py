"""Runtime settings (the reference's ``/v1/settings``): validation, storage, change notice.

How it works: ``Settings`` validates values with ``validate`` (the reference's
rules for each key, with its conversions: ``"Y"``/``"1"`` are true, ``"42"``
is 42), stores them through ``trimap.store.SettingsStore`` (one JSON value per
key) and then awaits every listener registered with ``add_listener``, in the
caller's task: the webhook supervisor uses this to give a new destination its
cursor *before* the POST that configured it is answered, so no event appended
after that answer can be missed.

Keys handled here: ``webhooks`` (http(s) URL), ``webhookEvents`` (event kinds
or ``*``), ``notifyText`` (bool), ``notifyTextSize`` (int >= 0, 0 = no limit),
``notifyHeaders`` (header names or ``*``) and ``webhookSecret`` (the HMAC key
for webhook signatures).  ``None`` unsets a key.

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
from typing import Any
from urllib.parse import urlsplit

from trimap.events import EVENT_KINDS
from trimap.secrets import SecretBox
from trimap.store import SettingsStore

__all__ = [
    "SECRET_MASK",
    "SETTING_KEYS",
    "Settings",
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
)
SECRET_MASK = "********"
SECRET_BINDING = "settings:webhookSecret"  # what a stored secret's ciphertext is bound to
MAX_URL_LENGTH = 2048
MAX_SECRET_LENGTH = 1024
_TRUE = frozenset({"true", "1", "y", "yes", "on"})
_FALSE = frozenset({"false", "0", "n", "no", "off"})
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

Listener = Callable[[], Awaitable[None]]


class SettingsError(ValueError):
    """Invalid settings; ``fields`` maps each bad key to what is wrong with it."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("invalid settings: " + ", ".join(sorted(fields)))
        self.fields = fields


def _url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError('"webhooks" must be an http or https URL')
    url = value.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise ValueError('"webhooks" must be an http or https URL')
    if len(url) > MAX_URL_LENGTH or any(c.isspace() for c in url):
        raise ValueError(f'"webhooks" must be a URL of at most {MAX_URL_LENGTH} characters')
    return url


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f'"{key}" must be a boolean')


def _size(value: Any) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError('"notifyTextSize" must be an integer of at least 0')
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


def _validate_one(key: str, value: Any) -> Any:
    if key == "webhooks":
        return _url(value)
    if key == "webhookEvents":
        return _strings(key, value, EVENT_KINDS.__contains__, "unknown event types")
    if key == "notifyText":
        return _bool(key, value)
    if key == "notifyTextSize":
        return _size(value)
    if key == "notifyHeaders":
        return _strings(key, value, _HEADER_NAME.fullmatch, "invalid header names")  # type: ignore[arg-type]
    return _secret(value)


def validate(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` converted to their stored form; ``SettingsError`` lists every problem."""
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


class Settings:
    """The settings service (see the module comment)."""

    def __init__(self, store: SettingsStore, box: SecretBox) -> None:
        self._store = store
        self._box = box
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Await ``listener()`` after every successful update, before ``update`` returns."""
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
        clean = validate(values)
        stored = dict(clean)
        if isinstance(stored.get("webhookSecret"), str):
            stored["webhookSecret"] = self._box.encrypt(
                stored["webhookSecret"], bound_to=SECRET_BINDING
            )
        await self._store.update(stored)
        for listener in self._listeners:
            await listener()
        return list(clean)

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
