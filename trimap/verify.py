"""Checking IMAP and SMTP settings without saving them (``POST /v1/verifyAccount``).

How it works: ``verify_imap`` opens a logged-in connection with the code the
account runner connects with (``trimap.engine.login``), lists the folders
and logs out; ``verify_smtp`` connects, secures and authenticates with
``trimap.smtp`` and quits.  Each gives a ``Verification``: success (IMAP:
with the folder count and the special-use folders found), or why not, in
the words the account's ``lastError`` would use: the server's text and code
(``AUTHENTICATIONFAILED``, ``EAUTH`` with the SMTP reply number), an errno
name for a connection failure (``ECONNREFUSED``), ``HTTPRequestError`` for
the auth server.  ``credentials_for`` gives the settings' own ``auth``, or
asks the auth server when they say ``useAuthServer`` (as the runner does).

Rules it keeps: a check never raises for anything a server or the auth
server does (that is its answer); each check ends within ``VERIFY_TIMEOUT`` seconds
whatever the servers do (``ETIMEDOUT``); results never contain a secret:
their texts are the servers' replies and trimap's own messages, never a
line we sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import trio

from imapproto import ProtocolError
from imapproto.client import CommandFailed, ImapConnectionError, Timeouts
from trimap.accounts.authserver import (
    AUTH_SERVER_ERROR_CODE,
    AuthServer,
    AuthServerError,
    Proto,
    resolve_credentials,
)
from trimap.accounts.model import Auth, ImapSettings, ServerSettings, SmtpSettings
from trimap.engine.login import CredentialsSource, LoginFailure, open_account_client
from trimap.smtp import SmtpError, SmtpTimeouts, open_smtp_client

__all__ = ["VERIFY_TIMEOUT", "Verification", "credentials_for", "verify_imap", "verify_smtp"]

VERIFY_TIMEOUT = 20.0
CLOSE_TIMEOUT = 2.0  # LOGOUT / QUIT


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of one check (see the module comment).

    ``status``: the SMTP reply number of a refusal; ``folders`` and
    ``special_use`` (special-use attribute -> folder path): what an IMAP login saw.
    """

    success: bool
    error: str | None = None
    code: str | None = None
    status: int | None = None
    folders: int | None = None
    special_use: Mapping[str, str] = field(default_factory=dict)


def _failed(error: str, code: str | None, status: int | None = None) -> Verification:
    return Verification(False, error, code, status)


def _timed_out() -> Verification:
    return _failed(f"no answer within {VERIFY_TIMEOUT:g} s", "ETIMEDOUT")


def credentials_for(
    settings: ServerSettings, auth_server: AuthServer, account_id: str, proto: Proto
) -> CredentialsSource:
    """The settings' own ``auth``, or the auth server's answer for ``account_id``."""

    async def credentials() -> Auth:
        return await resolve_credentials(settings, account_id, proto, auth_server.credentials)

    return credentials


async def verify_imap(settings: ImapSettings, credentials: CredentialsSource) -> Verification:
    """Log in to the IMAP server of ``settings`` and list its folders."""
    phase = VERIFY_TIMEOUT / 2  # each step's own deadline, so a slow step is named in the error
    timeouts = Timeouts(connect=phase, greeting=phase, read=phase, logout=CLOSE_TIMEOUT)
    with trio.move_on_after(VERIFY_TIMEOUT):
        try:
            async with open_account_client(settings, credentials, timeouts=timeouts) as client:
                folders = await client.list_mailboxes()
        except LoginFailure as failure:
            return _failed(failure.error.response, failure.error.server_response_code)
        except AuthServerError as error:
            return _failed(str(error), AUTH_SERVER_ERROR_CODE)
        except CommandFailed as failure:  # LIST refused after the login
            return _failed(failure.text, failure.code)
        except (ImapConnectionError, ProtocolError) as error:  # lost, or not IMAP at all
            return _failed(str(error), getattr(error, "code", None) or "EPROTOCOL")
        special_use = {f.special_use: f.name for f in folders if f.special_use}
        return Verification(True, folders=len(folders), special_use=special_use)
    return _timed_out()


async def verify_smtp(settings: SmtpSettings, credentials: CredentialsSource) -> Verification:
    """Connect, secure and authenticate to the SMTP server of ``settings``."""
    phase = VERIFY_TIMEOUT / 2
    timeouts = SmtpTimeouts(connect=phase, reply=phase, quit=CLOSE_TIMEOUT)
    with trio.move_on_after(VERIFY_TIMEOUT):
        try:
            async with open_smtp_client(settings, await credentials(), timeouts=timeouts):
                pass
        except SmtpError as error:
            return _failed(error.message, error.code, error.status)
        except AuthServerError as error:
            return _failed(str(error), AUTH_SERVER_ERROR_CODE)
        return Verification(True)
    return _timed_out()
