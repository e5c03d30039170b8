"""Errors of the trio client, on top of the core's ``ProtocolError``/``LocalProtocolError``.

* ``ImapConnectionError``: the connection could not be made, or broke, or
  timed out; the one exception type for "the transport is gone".  Once raised
  for a client, that client is unusable.
* ``AuthenticationFailed``: the server refused the credentials; carries the
  server's text and response code (e.g. ``AUTHENTICATIONFAILED``).
* ``CommandFailed``: a tagged NO or BAD; carries the status, code and text.
"""

from __future__ import annotations

__all__ = ["AuthenticationFailed", "CommandFailed", "ImapConnectionError"]


class ImapConnectionError(Exception):
    """The connection to the server failed, broke or timed out.

    ``code`` names the cause where one is known: an errno name such as
    ``ECONNREFUSED`` or ``ETIMEDOUT``, or ``ETLS`` for a failed TLS handshake.
    """

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class CommandFailed(Exception):
    """The server answered a command with NO or BAD."""

    def __init__(self, command: str, status: str, code: str | None, text: str) -> None:
        self.command = command
        self.status = status
        self.code = code
        self.text = text
        super().__init__(f"{command} failed: {status} {'[' + code + '] ' if code else ''}{text}")


class AuthenticationFailed(CommandFailed):
    """The server refused the credentials (LOGIN or AUTHENTICATE answered NO)."""
