"""Errors of imapproto, split the way h11 splits them.

Theory of operation: there are exactly two ways an IMAP exchange can go wrong
that this library reports as exceptions.

* ``ProtocolError``: the *server* sent bytes that are not IMAP we can make
  sense of.  It carries the offset into the stream where parsing gave up and a
  short snippet of the bytes around it, so a user can paste it into a bug
  report.  The parser raises nothing else, whatever the input.
* ``LocalProtocolError``: *we* (the caller) misused the library: a command in
  the wrong state, an argument that cannot be encoded, a CR/LF in an atom.

Neither carries secrets: snippets come from server data, never from what the
caller sent.
"""

from __future__ import annotations

__all__ = ["LocalProtocolError", "ProtocolError"]

SNIPPET_BYTES = 40


class ProtocolError(Exception):
    """The server broke the IMAP protocol at ``offset`` (bytes since the stream began)."""

    def __init__(self, message: str, offset: int = -1, snippet: bytes = b"") -> None:
        self.message = message
        self.offset = offset
        self.snippet = snippet[:SNIPPET_BYTES]
        detail = message
        if offset >= 0:
            detail += f" at offset {offset}"
        if snippet:
            detail += f" near {self.snippet!r}"
        super().__init__(detail)


class LocalProtocolError(Exception):
    """The caller asked for something this library cannot do in IMAP."""
