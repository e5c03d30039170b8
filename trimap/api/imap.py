"""Request handlers' access to an account's IMAP connection, and what its failures answer.

How it works: ``account_session(account_id)`` is an async context giving an
``AccountSession`` (a turn on the account's connection, see
``trimap.engine``) under a deadline of ``IMAP_DEADLINE`` seconds, and turning
every failure into the API's one error shape:

==============================  =====  ====================================
failure                         status code
==============================  =====  ====================================
unknown account                 404    AccountNotFound
account without a connection    503    the account's state (``connecting`` ...)
connection lost meanwhile       503    IMAPUnavailable (also while waiting for it)
folder / message not found      404    MailboxNotFound / MessageNotFound
IMAP server refused (NO/BAD)    502    IMAPError, with the server's text
deadline passed                 504    Timeout
==============================  =====  ====================================

Rules it keeps: the deadline covers waiting for the connection too, and
nothing else cancels a turn (a client hanging up mid-command would otherwise
break the account's connection); the
server's text is passed on (it is the server's answer, not ours), nothing
else of a lower layer's exception is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import trio

from imapproto.client import CommandFailed, ImapConnectionError
from trimap.accounts import AccountNotFound
from trimap.api.context import runtime
from trimap.api.errors import ApiError
from trimap.engine import AccountNotConnected, AccountSession
from trimap.mailbox.locate import FolderNotFound, MessageNotFound

__all__ = [
    "IMAP_DEADLINE",
    "account_not_found",
    "account_session",
    "imap_errors",
    "not_connected",
    "require_account",
]

IMAP_DEADLINE = 30.0

_NOT_CONNECTED = {
    "init": "Account is not yet initialized",
    "connecting": "Account is not yet connected",
    "syncing": "Account is not yet connected",
    "authenticationError": "Account can not be authenticated",
    "connectError": "Can not establish server connection",
    "unset": "Account has no IMAP settings",
    "disconnected": "Account is disconnected; it is reconnecting",
}


def account_not_found() -> ApiError:
    return ApiError(404, "Account record was not found for requested ID", "AccountNotFound")


def _connection_lost() -> ApiError:
    return ApiError(503, "IMAP connection temporarily not available", "IMAPUnavailable")


def not_connected(refused: AccountNotConnected) -> ApiError:
    """The 503 for an account without a usable connection: its state as the code, unless
    the state still says ``connected`` (the connection was lost while the request waited
    for its turn, before the runner noticed): then it is ``IMAPUnavailable``."""
    if refused.state == "connected":
        return _connection_lost()
    message = _NOT_CONNECTED.get(refused.state, "Account is currently not available")
    return ApiError(503, message, refused.state)


@asynccontextmanager
async def account_session(account_id: str) -> AsyncIterator[AccountSession]:
    """A turn on ``account_id``'s connection; failures become ``ApiError`` (module comment)."""
    instance = runtime()
    await require_account(account_id)
    # Shielded: a client that goes away mid-request must not cancel an IMAP command
    # half-way (that would break the account's connection); the deadline still holds.
    with imap_errors(), trio.CancelScope(shield=True), trio.fail_after(IMAP_DEADLINE):
        async with instance.engine.session(account_id) as session:
            yield session


async def require_account(account_id: str) -> None:
    """The 404 ``AccountNotFound`` unless the account exists."""
    instance = runtime()
    if instance.engine.runner(account_id) is None:
        try:
            await instance.accounts.get(account_id)
        except AccountNotFound:
            raise account_not_found() from None


@contextmanager
def imap_errors() -> Iterator[None]:
    """Turn what working on a connection can raise into ``ApiError`` (module comment)."""
    try:
        yield
    except AccountNotConnected as refused:
        raise not_connected(refused) from None
    except ImapConnectionError:
        raise _connection_lost() from None
    except FolderNotFound:
        raise ApiError(404, "Mailbox was not found", "MailboxNotFound") from None
    except MessageNotFound:
        raise ApiError(404, "Requested message was not found", "MessageNotFound") from None
    except CommandFailed as refused:
        raise ApiError(502, f"IMAP server refused: {refused.text}", "IMAPError") from None
    except trio.TooSlowError:
        raise ApiError(504, "Timeout waiting for the IMAP server", "Timeout") from None
