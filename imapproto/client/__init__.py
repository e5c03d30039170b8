"""imapproto.client: the thin trio client over the sans-IO core.

``connect(host, port, Security.TLS, tls=TlsOptions(...))`` opens an
``ImapSession``: ``login``/``authenticate``, ``execute(command)``,
``stream(command)`` for large FETCH bodies, ``idle()`` for push, ``compress()``.
``ImapConnectionError`` is the one error for "the connection is gone";
``AuthenticationFailed`` and ``CommandFailed`` carry the server's answer.
"""

from imapproto.client._errors import AuthenticationFailed, CommandFailed, ImapConnectionError
from imapproto.client._protocollog import ProtocolLog
from imapproto.client._session import (
    CommandResult,
    CommandStream,
    IdleStream,
    ImapSession,
    Timeouts,
    connect,
)
from imapproto.client._transport import Security, TlsOptions

__all__ = [
    "AuthenticationFailed",
    "CommandFailed",
    "CommandResult",
    "CommandStream",
    "IdleStream",
    "ImapConnectionError",
    "ImapSession",
    "ProtocolLog",
    "Security",
    "Timeouts",
    "TlsOptions",
    "connect",
]
