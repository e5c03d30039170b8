"""Open a logged-in IMAP connection for an account, or say in the account's words why not.

How it works: ``open_account_client`` resolves the credentials (the account's
own, or the auth server's when ``useAuthServer`` is set), connects with the
security the settings ask for, logs in (LOGIN, or AUTHENTICATE XOAUTH2 /
OAUTHBEARER for an access token), ENABLEs CONDSTORE/QRESYNC where offered
and yields the ``ImapClient``; leaving the block sends LOGOUT and closes.
Security: ``secure`` is implicit TLS; otherwise STARTTLS, required, except
towards a loopback address, which is spoken to in plain text.

Every failure up to a logged-in client is a ``LoginFailure`` carrying the account state it means
(``authenticationError`` or ``connectError``) and an ``AccountError``
``{response, serverResponseCode}`` as the reference reports it: the
server's own text and code for a refused login (``AUTHENTICATIONFAILED``),
an errno name for a connection failure (``ECONNREFUSED``), ``HTTPRequestError``
for the auth server.

Rules it keeps: credentials live only in this call's frame and the
connection's login command (whose protocol-log line is masked by
imapproto); no message built here contains a secret.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from imapproto import commands
from imapproto.client import (
    AuthenticationFailed,
    CommandFailed,
    ImapClient,
    ImapConnectionError,
    ProtocolLog,
    Security,
    Timeouts,
    TlsOptions,
    connect,
    is_loopback,
)
from trimap.accounts.model import AccountError, Auth, ImapSettings

__all__ = ["CredentialsSource", "LoginFailure", "open_account_client"]

CredentialsSource = Callable[[], Awaitable[Auth]]


@dataclass
class LoginFailure(Exception):
    """Connecting or logging in failed; ``state`` is what the account's state becomes."""

    state: Literal["authenticationError", "connectError"]
    error: AccountError

    def __str__(self) -> str:
        return f"{self.state}: {self.error.response}"


def _tls(settings: ImapSettings) -> TlsOptions:
    return TlsOptions(verify=settings.tls.reject_unauthorized, min_version=settings.tls.min_version)


def _security(settings: ImapSettings) -> Security:
    if settings.secure:
        return Security.TLS
    return Security.PLAIN if is_loopback(settings.host) else Security.STARTTLS


async def _log_in(client: ImapClient, auth: Auth) -> None:
    if auth.password is not None:
        if client.has("LOGINDISABLED") and client.has("AUTH=PLAIN"):
            await client.authenticate(commands.authenticate_plain(auth.user, auth.password))
        else:
            await client.login(auth.user, auth.password)
        return
    token = auth.access_token or ""
    if client.has("AUTH=XOAUTH2"):
        await client.authenticate(commands.authenticate_xoauth2(auth.user, token))
    elif client.has("AUTH=OAUTHBEARER"):
        await client.authenticate(
            commands.authenticate_oauthbearer(auth.user, token, client.host, None)
        )
    else:
        raise AuthenticationFailed(
            "AUTHENTICATE", "NO", None, "the server offers no OAuth2 mechanism"
        )


@asynccontextmanager
async def open_account_client(
    settings: ImapSettings,
    credentials: CredentialsSource,
    *,
    timeouts: Timeouts | None = None,
    protocol_log: ProtocolLog | None = None,
    ignored_capabilities: frozenset[str] = frozenset(),
) -> AsyncIterator[ImapClient]:
    """A connected, logged-in client for ``settings``; see the module comment.

    ``ignored_capabilities`` (upper case) are never used, as if the server lacked them.
    """
    auth = await credentials()
    logged_in = False
    try:
        async with connect(
            settings.host,
            settings.port,
            _security(settings),
            tls=_tls(settings),
            timeouts=timeouts,
            protocol_log=protocol_log,
        ) as client:
            client.ignored_capabilities = ignored_capabilities
            try:
                await client.refresh_capabilities()
                await _log_in(client, auth)
                await client.enable()
            except AuthenticationFailed as failure:
                raise LoginFailure(
                    "authenticationError",
                    AccountError(failure.text, failure.code or "AUTHENTICATIONFAILED"),
                ) from None
            except CommandFailed as failure:
                raise LoginFailure(
                    "connectError", AccountError(failure.text, failure.code)
                ) from None
            logged_in = True
            yield client
    except ImapConnectionError as failure:
        if logged_in:
            raise  # the connection broke later: not a failure to connect
        raise LoginFailure(
            "connectError", AccountError(str(failure), failure.code or "EIMAP")
        ) from None
