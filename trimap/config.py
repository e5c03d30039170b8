"""trimap's configuration: one declared model, three sources, strict validation.

How it works: every setting is declared once in ``SETTINGS`` as a ``Setting``
(dotted key, parser, default, environment names, description).  A
configuration is built by layering, later sources winning:

1. the defaults declared here;
2. a TOML file (``--config FILE``), whose tables mirror the dotted keys
   (``[api] port = 3000``);
3. the environment: ``TRIMAP_<SECTION>_<KEY>`` for every key (upper-cased, dots
   become underscores) plus the reference product's short names
   (``REDIS_URL``, ``API_HOST``, ``API_PORT``, ``API_MAX_SIZE``, ``LOG_LEVEL``);
4. dotted command-line overrides (``--api.port=3000``).

Rules it keeps:

* Unknown keys and bad values are refused, from any source, with a
  ``ConfigError`` whose message is one line naming the key and the source.
* Values are parsed into their final types here, once; the rest of trimap
  reads a frozen ``Config`` and never sees strings it must re-validate.
* The same table generates the configuration reference in the docs, so the
  docs cannot drift from the code.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from trimap.secrets import decode_key

__all__ = [
    "DEFAULT_REDIS_URL",
    "SETTINGS",
    "Config",
    "ConfigError",
    "Setting",
    "load_config",
]

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/8"
LOG_LEVELS = ("trace", "debug", "info", "warn", "error", "fatal")
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)b?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
DAY = 86400


class ConfigError(Exception):
    """A configuration value was refused; ``str()`` is one line naming the key."""


Parser = Callable[[Any], Any]


def _parse_port(value: Any) -> int:
    """A TCP port; 0 asks the system for any free port (the bound one is logged)."""
    expected = f"expected a port number from 0 to 65535, got {value!r}"
    if isinstance(value, bool):
        raise ValueError(expected)
    try:
        port = int(str(value).strip())
    except ValueError:
        raise ValueError(expected) from None
    if not 0 <= port <= 65535:
        raise ValueError(expected)
    return port


def _parse_host(value: Any) -> str:
    host = str(value).strip()
    if not host or any(c.isspace() for c in host):
        raise ValueError(f"expected a host name or address, got {value!r}")
    return host


def _parse_redis_url(value: Any) -> str:
    url = str(value).strip()
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.netloc or parts.path):
        raise ValueError("expected a redis://, rediss:// or unix:// URL")
    return url


def _parse_size(value: Any) -> int:
    """Sizes as the reference takes them: ``25M``, ``512k``, ``1GB`` (base 1024) or bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _SIZE_RE.match(str(value))
    if not match:
        raise ValueError(f"expected a size such as 25M or 1048576, got {value!r}")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def _parse_log_level(value: Any) -> str:
    level = str(value).strip().lower()
    if level == "warning":
        level = "warn"
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {value!r}")
    return level


def _parse_path(value: Any) -> Path:
    text = str(value).strip()
    if not text:
        raise ValueError("expected a directory path")
    return Path(text)


def _parse_seconds(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number of seconds")
    try:
        seconds = float(str(value).strip())
    except ValueError:
        raise ValueError(f"expected a number of seconds, got {value!r}") from None
    if not 0 < seconds <= 3600:
        raise ValueError(f"expected a number of seconds from 0 to 3600, got {value!r}")
    return seconds


def _duration(value: Any) -> float:
    """Seconds from a number of seconds or a string such as ``90s``, ``30m``, ``12h``, ``7d``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION_RE.match(str(value))
    if not match:
        raise ValueError(f"expected a duration such as 7d, 12h, 30m or 3600, got {value!r}")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]


def _parse_retention(value: Any) -> float:
    seconds = _duration(value)
    if not 60 <= seconds <= 365 * DAY:
        raise ValueError(f"expected a duration from 1 minute to 365 days, got {value!r}")
    return seconds


def _parse_dedupe_window(value: Any) -> float:
    seconds = _duration(value)
    if not 0 <= seconds <= 7 * DAY:
        raise ValueError(f"expected a duration from 0 (off) to 7 days, got {value!r}")
    return seconds


def _parse_max_length(value: Any) -> int:
    expected = f"expected a number of events from 1000 to 1000000000, got {value!r}"
    if isinstance(value, bool):
        raise ValueError(expected)
    try:
        count = int(str(value).strip())
    except ValueError:
        raise ValueError(expected) from None
    if not 1000 <= count <= 1_000_000_000:
        raise ValueError(expected)
    return count


def _parse_secret_key(value: Any) -> bytes | None:
    """32 bytes written as base64; the message never quotes the value (it is a secret)."""
    return None if value is None else decode_key(str(value))


@dataclass(frozen=True, slots=True)
class Setting:
    """One configuration key: how to parse it, its default and where it may come from."""

    key: str
    field: str
    parse: Parser
    default: Any
    description: str
    env_aliases: tuple[str, ...] = ()
    doc_default: str | None = None  # how the docs show the default, when not str(default)

    @property
    def env_name(self) -> str:
        return "TRIMAP_" + self.key.replace(".", "_").upper()

    @property
    def env_names(self) -> tuple[str, ...]:
        return (self.env_name, *self.env_aliases)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "api.host",
        "api_host",
        _parse_host,
        "127.0.0.1",
        "Address the HTTP API listens on.",
        ("API_HOST",),
    ),
    Setting(
        "api.port",
        "api_port",
        _parse_port,
        3000,
        "TCP port of the HTTP API (0: any free port).",
        ("API_PORT",),
    ),
    Setting(
        "api.maxSize",
        "api_max_size",
        _parse_size,
        25 << 20,
        "Largest request body accepted (e.g. 25M).",
        ("API_MAX_SIZE",),
    ),
    Setting(
        "dbs.redis",
        "redis_url",
        _parse_redis_url,
        DEFAULT_REDIS_URL,
        "Redis URL. When it is the default and nothing answers there, trimap runs a "
        "private redis-server under data.dir.",
        ("REDIS_URL",),
    ),
    Setting(
        "data.dir",
        "data_dir",
        _parse_path,
        Path("data"),
        "Directory for trimap's own files, such as the private Redis.",
    ),
    Setting(
        "log.level",
        "log_level",
        _parse_log_level,
        "info",
        "Least severe log level written.",
        ("LOG_LEVEL",),
    ),
    Setting(
        "shutdown.timeout",
        "shutdown_timeout",
        _parse_seconds,
        5.0,
        "Seconds a SIGINT/SIGTERM shutdown may take before remaining work is cancelled.",
    ),
    Setting(
        "events.retention",
        "events_retention",
        _parse_retention,
        7.0 * DAY,
        "How long the event log keeps events (seconds, or 90m, 12h, 7d, 2w); older events "
        "are trimmed, and a cursor from before them is answered as expired.",
        doc_default="7d",
    ),
    Setting(
        "events.maxLength",
        "events_max_length",
        _parse_max_length,
        500_000,
        "Most events the event log holds, whatever their age (approximate: up to one Redis "
        "stream node, 100 events, more); the oldest go first.",
    ),
    Setting(
        "events.dedupeWindow",
        "events_dedupe_window",
        _parse_dedupe_window,
        3600.0,
        "How long an appended event's id is remembered, so the same event detected again "
        "(after a restart or a resync) is stored once; memory grows with events per window. "
        "0 turns it off.",
        doc_default="1h",
    ),
    Setting(
        "webhooks.retryMin",
        "webhooks_retry_min",
        _parse_seconds,
        1.0,
        "Seconds before the first retry of a failed webhook delivery; each retry waits up to "
        "twice as long as the one before (with jitter), up to webhooks.retryMax.",
    ),
    Setting(
        "webhooks.retryMax",
        "webhooks_retry_max",
        _parse_seconds,
        300.0,
        "Longest wait between two attempts at one webhook delivery, in seconds.",
    ),
    Setting(
        "webhooks.connectTimeout",
        "webhooks_connect_timeout",
        _parse_seconds,
        10.0,
        "Seconds a webhook delivery may take to connect (TCP and TLS).",
    ),
    Setting(
        "webhooks.timeout",
        "webhooks_timeout",
        _parse_seconds,
        30.0,
        "Seconds a webhook destination has to answer a delivery in full; then it is retried.",
    ),
    Setting(
        "outbox.retryMin",
        "outbox_retry_min",
        _parse_seconds,
        30.0,
        "Seconds before a queued message that failed for a temporary reason (a 4xx reply, "
        "the server unreachable) is tried again; each retry waits up to twice as long as "
        "the one before (with jitter), up to outbox.retryMax.",
    ),
    Setting(
        "outbox.retryMax",
        "outbox_retry_max",
        _parse_seconds,
        3600.0,
        "Longest wait between two attempts at sending a queued message, in seconds. A "
        "message is given up (messageFailed) once it is older than events.retention.",
    ),
    Setting(
        "secrets.key",
        "secrets_key",
        _parse_secret_key,
        None,
        "Key that encrypts account passwords and tokens at rest: base64 of 32 bytes "
        "(`openssl rand -base64 32`). Unset: trimap generates `<data.dir>/secret.key` "
        "(mode 0600, same format) on the first start and reads it afterwards. Back the "
        "key up, and keep the copy apart from Redis backups: without it the stored "
        "secrets cannot be decrypted, and with a different key trimap refuses to start.",
        doc_default="unset",
    ),
)
_BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}
_BY_ENV: dict[str, Setting] = {name: s for s in SETTINGS for name in s.env_names}


@dataclass(frozen=True, slots=True)
class Config:
    """The validated configuration trimap runs with."""

    api_host: str
    api_port: int
    api_max_size: int
    redis_url: str
    data_dir: Path
    log_level: str
    shutdown_timeout: float
    events_retention: float
    events_max_length: int
    events_dedupe_window: float
    webhooks_retry_min: float
    webhooks_retry_max: float
    webhooks_connect_timeout: float
    webhooks_timeout: float
    outbox_retry_min: float
    outbox_retry_max: float
    secrets_key: bytes | None = field(repr=False)  # repr=False: never printed

    @property
    def redis_url_is_default(self) -> bool:
        return self.redis_url == DEFAULT_REDIS_URL


def _flatten_toml(table: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            yield from _flatten_toml(value, key + ".")
        else:
            yield key, value


def _apply(values: dict[str, Any], key: str, raw: Any, source: str) -> None:
    setting = _BY_KEY.get(key)
    if setting is None:
        raise ConfigError(f"unknown configuration key '{key}' ({source})")
    try:
        values[key] = setting.parse(raw)
    except ValueError as exc:
        raise ConfigError(f"invalid value for '{key}' ({source}): {exc}") from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


#: The environment variable naming the configuration file where no command line can
#: (``hypercorn ... trimap.asgi:app``).
CONFIG_FILE_ENV = "TRIMAP_CONFIG"


def load_config(
    overrides: Mapping[str, str] | None = None,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the ``Config`` from defaults, file, environment and CLI overrides, in that order."""
    values: dict[str, Any] = {s.key: s.default for s in SETTINGS}
    if config_file is not None:
        for key, raw in _flatten_toml(_read_file(config_file)):
            _apply(values, key, raw, f"in {config_file}")
    env = os.environ if environ is None else environ
    for name, raw in env.items():
        setting = _BY_ENV.get(name)
        if setting is not None:
            _apply(values, setting.key, raw, f"environment {name}")
        elif name.startswith("TRIMAP_") and name != CONFIG_FILE_ENV:
            raise ConfigError(f"unknown configuration variable '{name}' (environment)")
    for key, raw in (overrides or {}).items():
        _apply(values, key, raw, f"--{key}")
    return Config(**{_BY_KEY[key].field: value for key, value in values.items()})
