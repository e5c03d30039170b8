"""imapproto.client: the thin trio client over the sans-IO core.

``connect(host, port, Security.TLS, tls=TlsOptions(...))`` opens an
``ImapClient``: an ``ImapSession`` (``login``/``authenticate``,
``execute(command)``, ``stream(command)``, ``idle()`` for push, ``compress()``)
with one typed method per command (``list_mailboxes``, ``select``, ``fetch``,
``fetch_body``, ``search``, ``store``, ``move``, ``append`` ...); untagged
data no method consumed waits in ``take_unsolicited()``.
``ImapConnectionError`` is the one error for "the connection is gone";
``AuthenticationFailed`` and ``CommandFailed`` carry the server's answer.
The transport (``open_transport``, ``start_tls``, ``TlsOptions``) knows no
IMAP: other line protocols over TCP/TLS may use it.
"""

from imapproto.client._client import (
    BodyStream,
    FetchStream,
    ImapClient,
    MailboxInfo,
    QuotaRoots,
    SelectedMailbox,
    StoreResult,
    connect,
)
from imapproto.client._errors import AuthenticationFailed, CommandFailed, ImapConnectionError
from imapproto.client._protocollog import ProtocolLog
from imapproto.client._session import (
    CommandResult,
    CommandStream,
    IdleStream,
    ImapSession,
    Timeouts,
)
from imapproto.client._transport import (
    Security,
    TlsOptions,
    is_loopback,
    open_transport,
    start_tls,
)

__all__ = [
    "AuthenticationFailed",
    "BodyStream",
    "CommandFailed",
    "CommandResult",
    "CommandStream",
    "FetchStream",
    "IdleStream",
    "ImapClient",
    "ImapConnectionError",
    "ImapSession",
    "MailboxInfo",
    "ProtocolLog",
    "QuotaRoots",
    "Security",
    "SelectedMailbox",
    "StoreResult",
    "Timeouts",
    "TlsOptions",
    "connect",
    "is_loopback",
    "open_transport",
    "start_tls",
]
