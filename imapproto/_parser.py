"""ResponseParser: server bytes in, events out (sans-IO, in the style of h11).

Theory of operation: ``feed()`` appends bytes to a ``ReceiveBuffer``;
``next_event()`` frames one response at a time and hands it to ``_readers``.
A response is read only once it is complete: its last line has arrived and
every literal it announced has been received in full.  The framing loop:

1. take the next line (without its CRLF or bare LF);
2. if it ends with ``{n}`` / ``{n+}`` / ``~{n}``, the next n bytes are a
   literal: small ones are kept with the response, then go to 1;
3. otherwise the response is complete: read it into an event.

A literal larger than ``literal_stream_threshold`` that carries a FETCH body
item (``BODY[...]``, ``BINARY[...]``, ``RFC822*``) is not kept: the parser
returns ``FetchLiteralStart``, then ``FetchLiteralData`` for whatever part of
it is buffered each time it is asked (at most ``STREAM_CHUNK_SIZE`` bytes),
then ``FetchLiteralEnd``, and the FETCH event carries a ``StreamedLiteral``
placeholder.  So a 100 MB body is never held twice and never scanned.

Errors: a response that cannot be read raises ``ProtocolError`` (offset =
stream offset near the problem).  The response has been consumed by then, so
the next ``next_event()`` continues with the following response: the parser
resynchronises at the next line.  A line longer than ``max_line_length``
raises once and the rest of that line is skipped.  A literal size that cannot
be valid (over 2^32-1, or 2^63-1 for ``~{n}``) raises and drops the response;
the bytes after it are read as new responses (they may raise too).

The end of the stream is signalled with ``feed(b"")``: complete responses
still buffered are returned, then ``ConnectionClosed`` (once; ``NEED_DATA``
after it), or a ``ProtocolError`` if the stream ended inside a response.
"""

from __future__ import annotations

from ._errors import ProtocolError
from ._events import (
    NEED_DATA,
    ConnectionClosed,
    Event,
    FetchLiteralData,
    FetchLiteralEnd,
    FetchLiteralStart,
    NeedData,
)
from ._readers import FramedResponse, Malformed, read_response, streamed_item
from ._receivebuffer import ReceiveBuffer, literal_size
from ._types import StreamedLiteral

__all__ = [
    "DEFAULT_LITERAL_STREAM_THRESHOLD",
    "DEFAULT_MAX_LINE_LENGTH",
    "MAX_LITERAL_SIZE",
    "STREAM_CHUNK_SIZE",
    "ResponseParser",
]

DEFAULT_LITERAL_STREAM_THRESHOLD = 64 * 1024
DEFAULT_MAX_LINE_LENGTH = 64 * 1024 * 1024
#: literal8 sizes are number64 (RFC 3516); anything larger is not IMAP.
MAX_LITERAL_SIZE = (1 << 63) - 1
#: The most bytes one FetchLiteralData carries, so that a huge fed chunk is
#: never copied whole into an event while the buffer still holds it.
STREAM_CHUNK_SIZE = 1 << 20


class ResponseParser:
    """Incremental parser of the server side of an IMAP connection.

    ``literal_stream_threshold``: body literals in FETCH responses larger than
    this are streamed as events instead of being kept.  ``max_line_length``:
    a line (not counting literals) longer than this is an error.
    ``utf8_accept``: set it once ``ENABLE UTF8=ACCEPT`` succeeded; mailbox
    names are then read as UTF-8 instead of modified UTF-7.
    """

    def __init__(
        self,
        *,
        literal_stream_threshold: int = DEFAULT_LITERAL_STREAM_THRESHOLD,
        max_line_length: int = DEFAULT_MAX_LINE_LENGTH,
        utf8_accept: bool = False,
    ) -> None:
        self.literal_stream_threshold = literal_stream_threshold
        self.max_line_length = max_line_length
        self.utf8_accept = utf8_accept
        self._buffer = ReceiveBuffer()
        self._eof = False
        self._closed_reported = False
        # The response being framed.
        self._lines: list[bytes] = []
        self._literals: list[bytes | StreamedLiteral] = []
        self._response_offset = 0
        self._literal_pending: int | None = None  # size of the literal to take next
        self._stream_remaining = 0  # bytes of a streamed literal still to return
        self._stream_end_pending = False
        self._skipping_line = False

    @property
    def offset(self) -> int:
        """Bytes of the stream consumed so far (where the next response starts or continues)."""
        return self._buffer.offset

    def feed(self, data: bytes) -> None:
        """Add received bytes; ``b""`` means the stream ended."""
        if not data:
            self._eof = True
        else:
            self._buffer.feed(data)

    def next_event(self) -> Event | NeedData:
        """The next event, or ``NEED_DATA``.  Raises ``ProtocolError`` only."""
        buffer = self._buffer
        while True:
            if self._stream_remaining:
                data = buffer.take_some(min(self._stream_remaining, STREAM_CHUNK_SIZE))
                if not data:
                    return self._need_data()
                self._stream_remaining -= len(data)
                self._stream_end_pending = not self._stream_remaining
                return FetchLiteralData(data)
            if self._stream_end_pending:
                self._stream_end_pending = False
                return FetchLiteralEnd()
            if self._literal_pending is not None:
                literal = buffer.take(self._literal_pending)
                if literal is None:
                    return self._need_data()
                self._literals.append(literal)
                self._literal_pending = None
            if not self._lines:
                self._response_offset = buffer.offset
            line = buffer.next_line()
            if line is None:
                if len(buffer) > self.max_line_length:
                    self._abandon_line()
                    raise ProtocolError("line too long", buffer.offset, buffer.snippet())
                return self._need_data()
            if self._skipping_line:
                self._skipping_line = False
                continue
            if len(line) > self.max_line_length:
                self._reset_response()
                raise ProtocolError("line too long", buffer.offset - len(line), line[:40])
            if not line and not self._lines:
                continue  # tolerate empty lines between responses
            size = literal_size(line)
            if size is None:
                return self._complete(line)
            if size > MAX_LITERAL_SIZE or (size > 0xFFFFFFFF and not _is_literal8(line)):
                self._reset_response()
                raise ProtocolError("literal too large", buffer.offset, line[-40:])
            self._lines.append(line)
            if size > self.literal_stream_threshold:
                item = streamed_item(self._lines[0], line)
                if item is not None:
                    self._literals.append(StreamedLiteral(size))
                    self._stream_remaining = size
                    seq, name, section, origin = item
                    return FetchLiteralStart(seq, name, section, origin, size)
            self._literal_pending = size

    def _need_data(self) -> Event | NeedData:
        if not self._eof:
            return NEED_DATA
        if self._lines or len(self._buffer) or self._stream_remaining:
            offset = self._buffer.offset
            snippet = self._buffer.snippet()
            self._reset_response()
            self._buffer.take_some(len(self._buffer))
            raise ProtocolError("stream ended inside a response", offset, snippet)
        if self._closed_reported:
            return NEED_DATA
        self._closed_reported = True
        return ConnectionClosed()

    def _abandon_line(self) -> None:
        """Forget the response being framed and skip the rest of the current line."""
        self._reset_response()
        self._buffer.take_some(len(self._buffer))
        self._skipping_line = True

    def _reset_response(self) -> None:
        self._lines = []
        self._literals = []
        self._literal_pending = None
        self._stream_remaining = 0
        self._stream_end_pending = False

    def _complete(self, last_line: bytes) -> Event:
        if last_line.endswith(b" "):
            last_line = last_line.rstrip(b" ")
        lines = self._lines
        if lines:
            lines.append(last_line)
            literal_ends: list[int] = []
            position = -1
            for line in lines[:-1]:
                position += len(line) + 1
                literal_ends.append(position + 1)
            text = b"\n".join(lines)
            literals = self._literals
            self._lines = []
            self._literals = []
        else:
            text = last_line
            literals = []
            literal_ends = []
        response = FramedResponse(text, literals, literal_ends)
        try:
            return read_response(response, self.utf8_accept)
        except Malformed as error:
            raise ProtocolError(
                error.message,
                self._offset_of(response, error.position),
                text[error.position : error.position + 40],
            ) from None
        except Exception as error:  # a reader met a shape it did not expect
            raise ProtocolError(
                f"malformed response ({type(error).__name__}: {error})",
                self._response_offset,
                text[:40],
            ) from None

    def _offset_of(self, response: FramedResponse, position: int) -> int:
        """Stream offset of ``position`` in the response text (literals counted)."""
        offset = self._response_offset + position
        for end, literal in zip(response.literal_ends, response.literals, strict=True):
            if end > position:
                break
            offset += literal.size if isinstance(literal, StreamedLiteral) else len(literal)
        return offset


def _is_literal8(line: bytes) -> bool:
    brace = line.rfind(b"{")
    return brace > 0 and line[brace - 1 : brace] == b"~"
