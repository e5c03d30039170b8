"""The account model: typed, validated settings of one IMAP/SMTP account.

How it works: ``parse_account_input`` turns a request body in the reference's
JSON shape (``account``, ``name``, ``imap``, ``smtp``, ``copy``,
``notifyFrom``, and ``webhooks``: the account's own webhook URL, used instead
of the global one) into an ``AccountInput``: every field it does not name is
``None``, so an update changes only what the request names (``smtp: false``
removes the SMTP settings, ``webhooks: null`` or ``""`` the account's URL).
``AccountRegistry`` merges inputs into stored ``Account`` records.
``imap``/``smtp`` are replaced as a whole when named, as in the reference.

Rules it keeps:

* Validation collects every problem as ``{field key: message}`` in
  ``InvalidAccount`` (the API answers it as a 400 naming the fields); a
  message never quotes the value of a secret field.
* Passwords and access tokens live in ``Auth``, which leaves them out of its
  ``repr``; ``public_view()``/``to_json()`` never contain them.  Only
  ``ServerSettings.to_json(secrets=...)`` can emit them, and only the store
  calls it, with each secret already sealed.
* The webhook URL may carry credentials (``https://user:pass@host/``), so it
  is a secret too: left out of ``repr``, shown redacted by ``public_view()``
  (no userinfo, the query as ``?…``), sealed at rest by the store.
* ``copy`` is a real boolean and ``notifyFrom`` an aware datetime (UTC), never
  strings that merely look like them (reference weakness 13).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from trimap.fielderrors import InvalidFields
from trimap.httpclient import redact_url
from trimap.urls import check_http_url

__all__ = [
    "ACCOUNT_STATES",
    "DEFAULT_RESYNC_DELAY",
    "Account",
    "AccountError",
    "AccountInput",
    "AccountNotFound",
    "AccountState",
    "AccountSummary",
    "Auth",
    "ImapSettings",
    "InvalidAccount",
    "ServerSettings",
    "SmtpSettings",
    "TlsOptions",
    "parse_account_input",
    "parse_imap",
    "parse_smtp",
]

AccountState = Literal[
    "init",
    "connecting",
    "syncing",
    "connected",
    "authenticationError",
    "connectError",
    "unset",
    "disconnected",
]
ACCOUNT_STATES: tuple[AccountState, ...] = get_args(AccountState)
DEFAULT_RESYNC_DELAY = 900
MAX_ID = 256
MAX_TEXT = 256
MAX_ACCESS_TOKEN = 4096
TLS_VERSIONS = ("TLSv1.2", "TLSv1.3")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")


class AccountNotFound(LookupError):
    """No account has this id."""


class InvalidAccount(InvalidFields):
    """Account settings failed validation; ``fields`` maps each field key to what is wrong."""


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """``tls``: certificate checking and the lowest TLS version accepted."""

    reject_unauthorized: bool = True
    min_version: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rejectUnauthorized": self.reject_unauthorized}
        if self.min_version is not None:
            out["minVersion"] = self.min_version
        return out


@dataclass(frozen=True, slots=True)
class Auth:
    """``auth``: a user with exactly one of a password and an OAuth2 access token."""

    user: str
    password: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """What ``imap`` and ``smtp`` share: where to connect and how to log in."""

    host: str
    port: int
    secure: bool = False
    tls: TlsOptions = TlsOptions()
    auth: Auth | None = None
    use_auth_server: bool = False

    def to_json(self, secrets: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The wire shape; ``auth`` holds only the user unless ``secrets`` gives
        ``pass``/``accessToken`` values to write (the store passes sealed ones)."""
        out: dict[str, Any] = {"host": self.host, "port": self.port, "secure": self.secure}
        out["tls"] = self.tls.to_json()
        if self.auth is not None:
            out["auth"] = {"user": self.auth.user, **(secrets or {})}
        if self.use_auth_server:
            out["useAuthServer"] = True
        return out

    def secrets(self) -> dict[str, str]:
        """The secret values by wire name (``pass``, ``accessToken``), for the store to seal."""
        if self.auth is None:
            return {}
        found = {"pass": self.auth.password, "accessToken": self.auth.access_token}
        return {name: value for name, value in found.items() if value is not None}


@dataclass(frozen=True, slots=True)
class ImapSettings(ServerSettings):
    """``imap``; ``resync_delay`` is seconds between full resyncs of unwatched folders."""

    resync_delay: int = DEFAULT_RESYNC_DELAY

    def to_json(self, secrets: Mapping[str, str] | None = None) -> dict[str, Any]:
        return ServerSettings.to_json(self, secrets) | {"resyncDelay": self.resync_delay}


@dataclass(frozen=True, slots=True)
class SmtpSettings(ServerSettings):
    """``smtp``: where sent mail goes."""


@dataclass(frozen=True, slots=True)
class AccountError:
    """Why an account is not connected: the server's (or resolver's) words and a code."""

    response: str
    server_response_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"response": self.response, "serverResponseCode": self.server_response_code}


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """One row of the account list."""

    id: str
    name: str
    state: AccountState
    last_error: AccountError | None = None

    def to_json(self) -> dict[str, Any]:
        """``{"account", "name", "state", "lastError"}``; ``lastError`` is null when connected."""
        error = None if self.state == "connected" or self.last_error is None else self.last_error
        return {
            "account": self.id,
            "name": self.name,
            "state": self.state,
            "lastError": error.to_json() if error else None,
        }


@dataclass(frozen=True, slots=True)
class Account:
    """A registered account as stored, secrets decrypted (``repr`` and views omit them)."""

    id: str
    name: str
    imap: ImapSettings | None
    smtp: SmtpSettings | None
    copy: bool
    notify_from: datetime
    state: AccountState
    last_error: AccountError | None = None
    webhooks: str | None = field(default=None, repr=False)  # may carry credentials

    @property
    def summary(self) -> AccountSummary:
        return AccountSummary(self.id, self.name, self.state, self.last_error)

    def public_view(self) -> dict[str, Any]:
        """Everything an API client may see: the summary plus settings, without secrets."""
        return self.summary.to_json() | {
            "imap": self.imap.to_json() if self.imap else None,
            "smtp": self.smtp.to_json() if self.smtp else None,
            "copy": self.copy,
            "notifyFrom": self.notify_from.isoformat().replace("+00:00", "Z"),
            "webhooks": redact_url(self.webhooks) if self.webhooks else None,
        }


@dataclass(frozen=True, slots=True)
class AccountInput:
    """A create or update request: ``None`` means "not named, keep what is stored".

    ``smtp=False`` removes the SMTP settings, ``webhooks=False`` the account's webhook URL.
    """

    id: str
    name: str | None = None
    imap: ImapSettings | None = None
    smtp: SmtpSettings | Literal[False] | None = None
    copy: bool | None = None
    notify_from: datetime | None = None
    webhooks: str | Literal[False] | None = field(default=None, repr=False)


class _Problems(dict[str, str]):
    """Collects ``{key: message}`` while parsing; values are never quoted in messages."""

    def text(self, raw: Any, key: str, limit: int, *, required: bool = True) -> str | None:
        if raw is None and not required:
            return None
        if not isinstance(raw, str) or not raw or len(raw) > limit or _CONTROL.search(raw):
            self[key] = (
                f'"{key}" must be a string of 1 to {limit} characters, no control characters'
            )
            return None
        return raw

    def boolean(self, raw: Any, key: str, default: bool) -> bool:
        if raw is None:
            return default
        if not isinstance(raw, bool):
            self[key] = f'"{key}" must be a boolean'
            return default
        return raw

    def unknown(self, body: Mapping[str, Any], allowed: frozenset[str], prefix: str) -> None:
        for name in sorted(set(body) - allowed):
            self[prefix + name] = f'"{prefix + name}" is not allowed'

    def mapping(self, raw: Any, key: str) -> Mapping[str, Any] | None:
        if not isinstance(raw, Mapping):
            self[key] = f'"{key}" must be an object'
            return None
        return raw


def _host(raw: Any, key: str, problems: _Problems) -> str:
    if isinstance(raw, str) and len(raw) <= 253:
        try:
            ipaddress.ip_address(raw)
            return raw
        except ValueError:
            if _HOSTNAME.fullmatch(raw):
                return raw
    problems[key] = f'"{key}" must be a host name or an IP address'
    return ""


def _port(raw: Any, key: str, problems: _Problems) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= 65535:
        return raw
    problems[key] = f'"{key}" must be a port number from 1 to 65535'
    return 0


def _tls(raw: Any, key: str, problems: _Problems) -> TlsOptions:
    if raw is None:
        return TlsOptions()
    body = problems.mapping(raw, key)
    if body is None:
        return TlsOptions()
    problems.unknown(body, frozenset({"rejectUnauthorized", "minVersion"}), key + ".")
    min_version = body.get("minVersion")
    if min_version is not None and min_version not in TLS_VERSIONS:
        problems[key + ".minVersion"] = f'"{key}.minVersion" must be one of ' + ", ".join(
            TLS_VERSIONS
        )
        min_version = None
    reject = problems.boolean(body.get("rejectUnauthorized"), key + ".rejectUnauthorized", True)
    return TlsOptions(reject, min_version)


def _auth(raw: Any, key: str, problems: _Problems) -> Auth | None:
    body = problems.mapping(raw, key)
    if body is None:
        return None
    problems.unknown(body, frozenset({"user", "pass", "accessToken"}), key + ".")
    user = problems.text(body.get("user"), key + ".user", MAX_TEXT)
    password = problems.text(body.get("pass"), key + ".pass", MAX_TEXT, required=False)
    token = problems.text(
        body.get("accessToken"), key + ".accessToken", MAX_ACCESS_TOKEN, required=False
    )
    if ("pass" in body) == ("accessToken" in body):
        problems[key] = f'"{key}" must have exactly one of "pass" and "accessToken"'
    return Auth(user or "", password, token)


def _server_fields(body: Mapping[str, Any], key: str, problems: _Problems) -> dict[str, Any]:
    auth = _auth(body["auth"], key + ".auth", problems) if "auth" in body else None
    use_auth_server = problems.boolean(body.get("useAuthServer"), key + ".useAuthServer", False)
    if auth is None and not use_auth_server and key + ".auth" not in problems:
        problems[key] = f'"{key}" needs "auth" or "useAuthServer": true'
    elif auth is not None and use_auth_server:
        problems[key] = f'"{key}" takes "auth" or "useAuthServer": true, not both'
    return {
        "host": _host(body.get("host"), key + ".host", problems),
        "port": _port(body.get("port"), key + ".port", problems),
        "secure": problems.boolean(body.get("secure"), key + ".secure", False),
        "tls": _tls(body.get("tls"), key + ".tls", problems),
        "auth": auth,
        "use_auth_server": use_auth_server,
    }


_SERVER_KEYS = frozenset({"host", "port", "secure", "tls", "auth", "useAuthServer"})


def _imap(raw: Any, problems: _Problems, key: str = "imap") -> ImapSettings | None:
    body = problems.mapping(raw, key)
    if body is None:
        return None
    problems.unknown(body, _SERVER_KEYS | {"resyncDelay"}, key + ".")
    fields = _server_fields(body, key, problems)
    delay = body.get("resyncDelay", DEFAULT_RESYNC_DELAY)
    if isinstance(delay, bool) or not isinstance(delay, int) or not 1 <= delay <= 86400 * 365:
        problems[key + ".resyncDelay"] = f'"{key}.resyncDelay" must be whole seconds, at least 1'
        delay = DEFAULT_RESYNC_DELAY
    return ImapSettings(**fields, resync_delay=delay)


def _smtp(raw: Any, problems: _Problems, key: str = "smtp") -> SmtpSettings | None:
    body = problems.mapping(raw, key)
    if body is None:
        return None
    problems.unknown(body, _SERVER_KEYS, key + ".")
    return SmtpSettings(**_server_fields(body, key, problems))


def _parse_one(parse: Callable[[Any, _Problems], Any], raw: Any) -> Any:
    problems = _Problems()
    settings = parse(raw, problems)
    if problems:
        raise InvalidAccount(problems)
    return settings


def parse_imap(raw: Any) -> ImapSettings:
    """An ``imap`` object in the wire shape; ``InvalidAccount`` when it does not validate."""
    settings: ImapSettings = _parse_one(_imap, raw)
    return settings


def parse_smtp(raw: Any) -> SmtpSettings:
    """An ``smtp`` object in the wire shape; ``InvalidAccount`` when it does not validate."""
    settings: SmtpSettings = _parse_one(_smtp, raw)
    return settings


def _notify_from(raw: Any, problems: _Problems) -> datetime | None:
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    problems["notifyFrom"] = '"notifyFrom" must be an ISO 8601 date'
    return None


def _webhooks(raw: Any, problems: _Problems) -> str | Literal[False] | None:
    if raw is None or raw == "":
        return False
    try:
        return check_http_url("webhooks", raw)
    except ValueError as exc:
        problems["webhooks"] = str(exc)
        return None


def parse_account_input(body: Any, *, account_id: str | None = None) -> AccountInput:
    """An ``AccountInput`` from a request body in the reference's shape.

    Without ``account_id`` (create, ``POST /v1/account``) the body names the id
    in ``account`` and must have ``name``; with it (update, ``PUT``) the id
    comes from the path and every field is optional.
    """
    problems = _Problems()
    if not isinstance(body, Mapping):
        raise InvalidAccount({"value": '"value" must be an object'})
    allowed = {"name", "imap", "smtp", "copy", "notifyFrom", "webhooks"}
    if account_id is None:
        allowed.add("account")
        account_id = problems.text(body.get("account"), "account", MAX_ID) or ""
    else:
        problems.text(account_id, "account", MAX_ID)  # the id from the path
    problems.unknown(body, frozenset(allowed), "")
    name = problems.text(body.get("name"), "name", MAX_TEXT, required="account" in allowed)
    imap = _imap(body["imap"], problems) if "imap" in body else None
    smtp: SmtpSettings | Literal[False] | None = None
    if body.get("smtp") is False:
        smtp = False
    elif "smtp" in body:
        smtp = _smtp(body["smtp"], problems)
    copy = None if "copy" not in body else problems.boolean(body["copy"], "copy", True)
    notify_from = _notify_from(body["notifyFrom"], problems) if "notifyFrom" in body else None
    webhooks = _webhooks(body["webhooks"], problems) if "webhooks" in body else None
    if problems:
        raise InvalidAccount(dict(problems))
    return AccountInput(account_id, name, imap, smtp, copy, notify_from, webhooks)
