"""The auth server: an HTTP endpoint that hands out an account's credentials on demand.

How it works: an account whose ``imap``/``smtp`` settings say ``useAuthServer``
has no stored password; at every connect (and every submit) ``AuthServer``
asks the URL of the ``authServer`` setting, as the reference does:
``GET <url>`` with ``account=<id>`` and ``proto=imap|smtp`` added to its query
(its other parameters are kept; ``account``/``proto`` already there are
replaced), trimap's User-Agent, and Basic auth from credentials in the URL
(the ``HttpClient`` does that).  The answer must be a 2xx JSON object with
``user`` and exactly one of ``pass`` and ``accessToken``; other keys are
ignored.  Nothing is cached: a changed password is used at the next connect.

Rules it keeps:

* One deadline, ``timeout`` (a trio cancel scope), covers the whole call,
  whatever the endpoint does (the reference had none and could hang a
  connect forever).
* Every failure is an ``AuthServerError`` whose message is safe to store as
  the account's ``lastError`` and to log: it shows the URL only redacted
  (``redact_url``: no userinfo, no query) and never quotes the body, so
  neither the URL's credentials nor a returned secret can leak through it.
  Callers record it as ``authenticationError`` with the code
  ``AUTH_SERVER_ERROR_CODE`` (the reference's ``HTTPRequestError``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from urllib.parse import quote, unquote_plus, urlencode, urlsplit, urlunsplit

import trio

from trimap.accounts.model import MAX_ACCESS_TOKEN, MAX_TEXT, Auth, ServerSettings
from trimap.httpclient import DEFAULT_USER_AGENT, HttpClient, HttpError, redact_url

__all__ = [
    "AUTH_SERVER_ERROR_CODE",
    "DEFAULT_TIMEOUT",
    "AuthServer",
    "AuthServerError",
    "CredentialsLookup",
    "Proto",
    "resolve_credentials",
]

AUTH_SERVER_ERROR_CODE = "HTTPRequestError"
DEFAULT_TIMEOUT = 10.0
MAX_REASON = 100  # characters of the server's reason phrase kept in an error
NOT_SET = "Authentication server requested but not set"

Proto = Literal["imap", "smtp"]  # what credentials are for
UrlSource = Callable[[], Awaitable[str | None]]


class AuthServerError(Exception):
    """The auth server gave no usable credentials; the message is safe to store and log."""


def _request_url(url: str, account_id: str, proto: Proto) -> str:
    """``url`` with ``account`` and ``proto`` set in its query, other parameters kept as sent."""
    parts = urlsplit(url)
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and unquote_plus(pair.partition("=")[0]) not in ("account", "proto")
    ]
    ours = urlencode({"account": account_id, "proto": proto}, quote_via=quote)
    return urlunsplit(parts._replace(query="&".join([*kept, ours]), fragment=""))


def _credentials(body: bytes) -> Auth:
    """The ``Auth`` in a response body; ``AuthServerError`` (quoting nothing of it) if none."""
    try:
        answer: Any = json.loads(body)
    except ValueError:
        raise AuthServerError("Invalid response: the body is not JSON") from None
    if not isinstance(answer, dict):
        raise AuthServerError("Invalid response: the body is not a JSON object")
    user = answer.get("user")
    if not isinstance(user, str) or not user or len(user) > MAX_TEXT:
        raise AuthServerError(
            f'Invalid response: "user" must be a string of 1 to {MAX_TEXT} characters'
        )
    secrets = {name: answer[name] for name in ("pass", "accessToken") if name in answer}
    if len(secrets) != 1:
        raise AuthServerError(
            'Invalid response: exactly one of "pass" and "accessToken" is required'
        )
    [(name, secret)] = secrets.items()
    if not isinstance(secret, str) or not secret or len(secret) > MAX_ACCESS_TOKEN:
        raise AuthServerError(
            f'Invalid response: "{name}" must be a string of 1 to {MAX_ACCESS_TOKEN} characters'
        )
    if name == "pass":
        return Auth(user, password=secret)
    return Auth(user, access_token=secret)


class AuthServer:
    """Asks the configured auth server for credentials (see the module comment).

    ``url`` returns the current ``authServer`` setting (``Settings.auth_server``)."""

    def __init__(
        self, client: HttpClient, url: UrlSource, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self._client = client
        self._url = url
        self._timeout = timeout

    async def credentials(self, account_id: str, proto: Proto) -> Auth:
        """The credentials of ``account_id`` for ``proto``; ``AuthServerError`` if none."""
        base = await self._url()
        if not base:
            raise AuthServerError(NOT_SET)
        url = _request_url(base, account_id, proto)
        headers = [("User-Agent", DEFAULT_USER_AGENT), ("Accept", "application/json")]
        with trio.move_on_after(self._timeout):
            try:
                response = await self._client.request("GET", url, headers=headers)
            except HttpError as exc:  # its message names the URL redacted
                raise AuthServerError(str(exc)) from None
            if not response.ok:
                reason = response.reason[:MAX_REASON]
                raise AuthServerError(f"Invalid response: {response.status} {reason}".rstrip())
            return _credentials(response.body)
        raise AuthServerError(f"GET {redact_url(url)}: no answer within {self._timeout:g} s")


CredentialsLookup = Callable[[str, Proto], Awaitable[Auth]]


async def resolve_credentials(
    settings: ServerSettings, account_id: str, proto: Proto, lookup: CredentialsLookup | None
) -> Auth:
    """The settings' own ``auth``, else what the auth server (``lookup``) answers for
    ``account_id``; ``AuthServerError`` when there is no auth server or it fails."""
    if settings.auth is not None:
        return settings.auth
    if lookup is None:
        raise AuthServerError(NOT_SET)
    return await lookup(account_id, proto)
