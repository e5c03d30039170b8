"""Incremental framing of server bytes into lines and literals.

Theory of operation: IMAP responses are lines (ending in LF, normally CRLF)
that may announce a literal at their very end (``{n}``, ``{n+}`` or ``~{n}``),
after which exactly n raw bytes follow and the response continues with another
line.  ``ReceiveBuffer`` only knows about those two shapes; what a line means
is ``_readers``' business and when to stream a literal is ``_parser``'s.

Rules this module keeps, so that parsing is linear in the input whatever the
chunking:

* Bytes are appended to one ``bytearray``.  Consumed bytes are not deleted at
  once: ``_start`` moves forward and the array is compacted only when the dead
  prefix is large and at least half of the array, so every byte is moved at
  most a constant number of times.
* The search for a line end remembers how far it got (``_scan``): a line that
  arrives in a thousand chunks is searched once, not a thousand times.
* Literal bytes are copied out once, through a ``memoryview`` released at
  once (so the array can still grow), and never looked at.
* ``offset`` counts bytes consumed since the stream began, for error reports.
"""

from __future__ import annotations

import re

__all__ = ["ReceiveBuffer", "literal_size"]

# Compact when this many consumed bytes sit at the front (and they are at
# least half of the buffer).
_COMPACT_AT = 1 << 16

# A literal announcement at the end of a line: ~{n}, {n} or {n+}.
_LITERAL_MARKER = re.compile(rb"\{(\d+)\+?\}")


def literal_size(line: bytes) -> int | None:
    """The size of the literal that ``line`` (line ending removed) announces, or None."""
    if not line.endswith(b"}"):
        return None
    brace = line.rfind(b"{")
    if brace < 0:
        return None
    match = _LITERAL_MARKER.fullmatch(line, brace)
    if match is None:
        return None
    return int(match.group(1))


class ReceiveBuffer:
    """Bytes received and not yet consumed, with line and literal extraction."""

    __slots__ = ("_base", "_buffer", "_scan", "_start")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._start = 0  # first unconsumed byte in _buffer
        self._scan = 0  # no LF in _buffer[_start:_scan]
        self._base = 0  # stream offset of _buffer[0]

    def __len__(self) -> int:
        return len(self._buffer) - self._start

    @property
    def offset(self) -> int:
        """Stream offset of the first unconsumed byte."""
        return self._base + self._start

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_line(self) -> bytes | None:
        """The next line without its CRLF (or bare LF), or None if none is complete."""
        buffer = self._buffer
        newline = buffer.find(b"\n", self._scan)
        if newline < 0:
            self._scan = len(buffer)
            return None
        end = newline
        if end > self._start and buffer[end - 1] == 13:
            end -= 1
        line = bytes(buffer[self._start : end])
        self._consume_to(newline + 1)
        return line

    def take(self, size: int) -> bytes | None:
        """Exactly ``size`` bytes, or None if fewer are buffered."""
        start = self._start
        if len(self._buffer) - start < size:
            return None
        with memoryview(self._buffer) as view:  # one copy, not two
            data = bytes(view[start : start + size])
        self._consume_to(start + size)
        return data

    def take_some(self, limit: int) -> bytes:
        """Up to ``limit`` buffered bytes (maybe none)."""
        start = self._start
        end = min(len(self._buffer), start + limit)
        with memoryview(self._buffer) as view:
            data = bytes(view[start:end])
        self._consume_to(end)
        return data

    def snippet(self) -> bytes:
        """The first unconsumed bytes, for error messages."""
        return bytes(self._buffer[self._start : self._start + 40])

    def _consume_to(self, position: int) -> None:
        buffer = self._buffer
        if position == len(buffer):
            self._base += position
            buffer.clear()
            self._start = self._scan = 0
            return
        self._start = position
        self._scan = max(self._scan, position)
        if position >= _COMPACT_AT and position * 2 >= len(buffer):
            del buffer[:position]
            self._base += position
            self._start = 0
            self._scan -= position
