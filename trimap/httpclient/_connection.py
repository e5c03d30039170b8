"""One HTTP/1.1 connection: a trio stream and the h11 state machine of the requests on it.

How it works: ``open_connection`` connects TCP (and TLS for https) within the connect timeout.
``HttpConnection.exchange`` writes a whole request in one ``send_all`` and reads events from h11
until the response's ``EndOfMessage``; then, when h11 says both sides are ``DONE`` (no
``Connection: close``, a framed body), it starts the next cycle and the connection may carry
another request.  It knows no URLs and no timeouts: the client wraps every call in its cancel
scopes and turns the exceptions below into ``HttpError``\\s naming the request.

Rules it keeps:

* Memory is bounded: the response head by h11's ``max_incomplete_event_size``, the body by
  ``max_body_size`` (a declared ``Content-Length`` over it fails before a byte of body is read),
  and each read by ``RECEIVE_SIZE``.  Nothing reads "until EOF" unbounded.
* ``ConnectionLost.response_started`` records whether a single response byte had arrived when
  the connection failed: the client's retry rule depends on it and on nothing else.
* A connection that failed, timed out or was cancelled is never reused; its owner closes it.
* ``peer_has_spoken`` looks at an *idle* connection without reading it: anything readable (EOF,
  a reset, stray bytes such as a 408 sent before closing) means it must not carry a request.
"""

from __future__ import annotations

import select
import ssl
from collections.abc import Iterable
from dataclasses import dataclass

import h11
import trio

from trimap.httpclient._url import Origin

__all__ = ["BrokenResponse", "ConnectionLost", "HttpConnection", "ResponseHead", "ResponseTooBig"]

RECEIVE_SIZE = 64 * 1024


class ConnectionLost(Exception):
    """The connection closed or broke before the response was complete."""

    def __init__(self, *, response_started: bool) -> None:
        super().__init__("response started" if response_started else "no response byte")
        self.response_started = response_started


class BrokenResponse(Exception):
    """The server broke HTTP/1.1 (h11 says so); the message is h11's, about the server's bytes."""


class ConnectFailed(Exception):
    """TCP or TLS failed; the message names the cause, never request data."""


class ResponseTooBig(Exception):
    def __init__(self, head: ResponseHead) -> None:
        super().__init__(f"status {head.status}")
        self.head = head


@dataclass(frozen=True, slots=True)
class ResponseHead:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]  # names in lower case, in the order received


@dataclass(frozen=True, slots=True)
class RawResponse:
    head: ResponseHead
    body: bytes


def _raw_socket(stream: trio.abc.Stream) -> trio.socket.SocketType | None:
    while isinstance(stream, trio.SSLStream):
        stream = stream.transport_stream
    return stream.socket if isinstance(stream, trio.SocketStream) else None


async def open_connection(
    origin: Origin, ssl_context: ssl.SSLContext | None, *, max_head_size: int
) -> HttpConnection:
    """Connect to ``origin`` (TLS for https); the caller's cancel scope bounds the time.

    Raises ``ConnectFailed``; a stream opened before a failed handshake is closed."""
    try:
        stream: trio.abc.Stream = await trio.open_tcp_stream(origin.host, origin.port)
    except OSError as exc:
        raise ConnectFailed(exc.strerror or str(exc)) from None
    if origin.tls:
        assert ssl_context is not None
        secured = trio.SSLStream(stream, ssl_context, server_hostname=origin.host)
        try:
            await secured.do_handshake()
        except (trio.BrokenResourceError, ssl.SSLError, OSError) as exc:
            await trio.aclose_forcefully(stream)
            raise ConnectFailed(f"TLS handshake failed: {_tls_failure(exc)}") from None
        except BaseException:  # cancelled or timed out mid-handshake
            await trio.aclose_forcefully(stream)
            raise
        stream = secured
    return HttpConnection(stream, origin, max_head_size=max_head_size)


def _tls_failure(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {cause.verify_message}"
    if isinstance(cause, ssl.SSLError) and cause.reason:
        return str(cause.reason)
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return type(cause).__name__


class HttpConnection:
    """A keep-alive connection to one origin; see the module comment."""

    def __init__(self, stream: trio.abc.Stream, origin: Origin, *, max_head_size: int) -> None:
        self.origin = origin
        self._stream = stream
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=max_head_size)
        self.idle_since = 0.0  # trio.current_time() when last put back in the pool
        self.closed = False

    @property
    def reusable(self) -> bool:
        """True when h11 has started a new cycle: the last exchange ended cleanly, keep-alive."""
        return not self.closed and self._h11.our_state is h11.IDLE

    def peer_has_spoken(self) -> bool:
        """True when the idle connection has something to read (EOF, reset, stray bytes)."""
        sock = _raw_socket(self._stream)
        if sock is None or sock.fileno() < 0:
            return sock is not None  # a closed socket has "spoken"; an unknown stream: assume not
        poller = select.poll()  # not select.select: descriptors above 1023 are normal here
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(0))

    async def aclose(self) -> None:
        """Close at once (no TLS close_notify wait): an unresponsive peer never delays it."""
        self.closed = True
        await trio.aclose_forcefully(self._stream)

    async def exchange(
        self, request: h11.Request, body: bytes, *, max_body_size: int
    ) -> RawResponse:
        """Send ``request`` with ``body``, return the complete response.

        Raises ``ConnectionLost``, ``BrokenResponse`` or ``ResponseTooBig``; after any of them
        (or a cancellation) the connection is not reusable and must be closed."""
        wire = self._h11.send(request)
        if body:
            wire += self._h11.send(h11.Data(data=body))
        wire += self._h11.send(h11.EndOfMessage())
        try:
            await self._stream.send_all(wire)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self.closed = True
            raise ConnectionLost(response_started=False) from None
        return await self._receive_response(max_body_size)

    async def _receive_response(self, max_body_size: int) -> RawResponse:
        response_started = False
        head: ResponseHead | None = None
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                self.closed = True
                if not response_started:
                    raise ConnectionLost(response_started=False) from None
                raise BrokenResponse(str(exc)) from None
            if event is h11.NEED_DATA:
                try:
                    data = await self._stream.receive_some(RECEIVE_SIZE)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    self.closed = True
                    raise ConnectionLost(response_started=response_started) from None
                if data:
                    response_started = True
                self._h11.receive_data(bytes(data))  # b"" is EOF: h11 judges the body
            elif isinstance(event, h11.Response):
                head = ResponseHead(
                    status=event.status_code,
                    reason=event.reason.decode("latin-1"),
                    headers=tuple(
                        (name.decode("latin-1"), value.decode("latin-1"))
                        for name, value in event.headers
                    ),
                )
                declared = _content_length(event.headers)
                if declared is not None and declared > max_body_size:
                    self.closed = True
                    raise ResponseTooBig(head)
            elif isinstance(event, h11.Data):
                assert head is not None
                size += len(event.data)
                if size > max_body_size:
                    self.closed = True
                    raise ResponseTooBig(head)
                chunks.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
                    self._h11.start_next_cycle()
                return RawResponse(head, b"".join(chunks))
            elif isinstance(event, h11.ConnectionClosed):  # pragma: no cover (h11 raises first)
                self.closed = True
                raise ConnectionLost(response_started=response_started)
            # h11.InformationalResponse (100 Continue, 103 Early Hints): skipped


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            return int(value)  # h11 has validated it
    return None
