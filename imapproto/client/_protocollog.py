"""The protocol log: every line sent and received, safe to store.

How it works: the session calls a ``ProtocolLog`` hook with a direction
(``"C"`` for client, ``"S"`` for server) and one line of text.  Sent commands
are logged through ``Command.render`` (passwords, tokens and SASL payloads
already replaced by ``***``); answers to authentication challenges are logged
as ``***``.  Received bytes go through ``ReceivedLines``, a small framer that
cuts them into lines and replaces each literal's content by ``{n bytes}``, so
message bodies never reach a log and a log line stays short.

Rules it keeps: a line handed to the hook is at most ``MAX_LOG_LINE``
characters (longer ones are cut, with the number of bytes left out); the
framer holds at most one partial line, and never a literal, in memory.
"""

from __future__ import annotations

from collections.abc import Callable

from imapproto._receivebuffer import literal_size

__all__ = ["MAX_LOG_LINE", "ProtocolLog", "ReceivedLines"]

#: Receives ("C" or "S", text) for every line sent or received.
ProtocolLog = Callable[[str, str], None]
MAX_LOG_LINE = 2048


def _shorten(line: bytes) -> str:
    text = line.decode("utf-8", "replace")
    if len(text) > MAX_LOG_LINE:
        return f"{text[:MAX_LOG_LINE]}... ({len(line)} bytes)"
    return text


class ReceivedLines:
    """Turns received bytes into log lines with literal contents elided."""

    def __init__(self, log: ProtocolLog) -> None:
        self._log = log
        self._partial = bytearray()  # the start of a line not finished yet (bounded)
        self._partial_size = 0
        self._literal_left = 0  # literal bytes still to skip
        self._pending: list[str] = []  # pieces of the current line (literal placeholders)

    def feed(self, data: bytes) -> None:
        position, end = 0, len(data)
        while position < end:
            if self._literal_left:
                skipped = min(self._literal_left, end - position)
                self._literal_left -= skipped
                position += skipped
                continue
            newline = data.find(b"\n", position)
            if newline < 0:
                self._keep(data, position, end)
                return
            self._keep(data, position, newline + 1)
            position = newline + 1
            self._end_line()

    def _keep(self, data: bytes, start: int, stop: int) -> None:
        self._partial_size += stop - start
        room = MAX_LOG_LINE * 4 - len(self._partial)
        if room > 0:
            self._partial += data[start : min(stop, start + room)]

    def _end_line(self) -> None:
        line = bytes(self._partial).rstrip(b"\r\n")
        size = literal_size(line) if self._partial_size == len(self._partial) else None
        self._partial.clear()
        self._partial_size = 0
        if size is not None:
            self._literal_left = size
            self._pending.append(f"{_shorten(line)} {{{size} bytes}}")
            return
        self._pending.append(_shorten(line))
        self._log("S", "".join(self._pending))
        self._pending.clear()
