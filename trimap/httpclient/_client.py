"""``HttpClient``: trimap's outbound HTTP/1.1 client (webhooks, the auth server).

How it works: ``request`` parses the URL, builds the h11 request (with ``Host``,
``Content-Length``, ``User-Agent`` and, from the URL's userinfo, ``Authorization: Basic``),
takes an idle connection to the URL's origin from the pool or opens a new one, and runs one
exchange on it.  A connection that ends its exchange reusable goes back to the pool; any other
is closed.  The client starts no tasks: idle connections expire lazily when the pool is used,
and ``aclose`` closes what is left.  Use it as ``async with HttpClient() as client: ...``.

Rules it keeps:

* **Time.**  A new connection has ``connect_timeout`` for TCP and TLS together.  The response
  has ``response_timeout`` from the first byte sent to the last byte of the body, whatever the
  server does (drips bytes, hangs): one deadline, not a per-read timeout.  So ``request``
  returns or raises within ``connect_timeout + response_timeout``; the one retry below shares
  the first attempt's response deadline.  Both are trio cancel scopes; the caller's own
  cancellation works as usual and closes the connection.
* **Size.**  A response body over ``max_response_size`` is an error, ``HttpResponseTooLarge``,
  which still carries the status; the connection is closed and no more is read.  (An error
  rather than a truncated body: a cut JSON document must not be mistaken for a whole one.)
* **No redirects.**  A 3xx, like every other status, is returned, never followed or raised.
* **The one retry.**  A keep-alive connection can be closed by the server while idle.  Before
  use, an idle connection with anything readable (EOF, reset, stray bytes) is dropped, so the
  common case costs nothing.  When the server closes it in the race after that check, the
  request fails on a *reused* connection before a single response byte arrived; exactly then,
  for every method including POST, the request is sent once more on a new connection.  For a
  POST this can deliver twice only if a server read the request and then closed without
  answering a byte; webhook delivery is at-least-once with stable event ids, so that is
  allowed.  A timeout, a new connection, or a response that had started is never retried.
* **Secrets.**  Errors name the method and the redacted URL (no userinfo, no query), never a
  header value or body; the refused header is named, its value is not.
* **Connections.**  Only idle ones are capped (per origin): a request that finds none idle
  opens one, so the number in use is the callers' concurrency (one sender task per webhook
  destination), not something the client limits.
* **Headers.**  The caller may not set ``Host``, ``Content-Length``, ``Transfer-Encoding`` or
  ``Connection`` (the client owns framing and keep-alive), nor ``Authorization`` together with
  userinfo in the URL.  A caller's ``User-Agent`` replaces the default.  Values with CR, LF or
  NUL are refused (``HttpInvalidRequest``).
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType

import h11
import trio

from trimap import __version__
from trimap.httpclient._connection import (
    BrokenResponse,
    ConnectFailed,
    ConnectionLost,
    HttpConnection,
    RawResponse,
    ResponseTooBig,
    open_connection,
)
from trimap.httpclient._errors import (
    HttpConnectError,
    HttpConnectTimeout,
    HttpInvalidRequest,
    HttpProtocolError,
    HttpResponseTooLarge,
    HttpTimeout,
)
from trimap.httpclient._pool import ConnectionPool
from trimap.httpclient._url import Origin, ParsedUrl, UrlError, parse_url, redact_url

__all__ = ["DEFAULT_USER_AGENT", "Headers", "HttpClient", "HttpResponse"]

DEFAULT_USER_AGENT = f"trimap/{__version__}"

Headers = Mapping[str, str] | Iterable[tuple[str, str]]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FORBIDDEN_IN_VALUE = re.compile(r"[\r\n\x00]")
_RESERVED = frozenset({"host", "content-length", "transfer-encoding", "connection"})


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A complete response: whatever the status (1xx are skipped, 3xx are not followed)."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]  # (name in lower case, value), in the order received
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300


class HttpClient:
    """Keep-alive HTTP/1.1 client; see the module comment for its rules.

    ``ca_file`` replaces the system trust store (tests, private CAs); ``ssl_context`` replaces
    the whole TLS configuration.  Host names are always checked unless that context says not."""

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        response_timeout: float = 30.0,
        max_response_size: int = 64 * 1024,
        max_response_head_size: int = 16 * 1024,
        max_idle_per_origin: int = 4,
        idle_timeout: float = 30.0,
        ca_file: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
    ) -> None:
        if ca_file is not None and ssl_context is not None:
            raise ValueError("pass ca_file or ssl_context, not both")
        self.connect_timeout = connect_timeout
        self.response_timeout = response_timeout
        self.max_response_size = max_response_size
        self.max_response_head_size = max_response_head_size
        self.user_agent = user_agent
        if ca_file is not None:  # a configuration mistake shows here, not at the first request
            try:
                ssl_context = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"cannot load the CA file {ca_file}: {exc}") from None
        self._ssl_context = ssl_context  # None: the system store, loaded at the first https use
        self._pool: ConnectionPool[HttpConnection] = ConnectionPool(
            max_idle_per_origin=max_idle_per_origin, idle_timeout=idle_timeout
        )
        self._in_use: set[HttpConnection] = set()
        self._closed = False
        self.connections_opened = 0  # for tests and metrics

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def idle_connections(self, url: str) -> int:
        """How many idle connections the pool holds for the origin of ``url``."""
        return self._pool.idle_count(parse_url(url).origin)

    async def aclose(self) -> None:
        """Close every connection; later requests raise ``trio.ClosedResourceError``.

        Requests in flight in other tasks lose their connection and fail."""
        self._closed = True
        connections = self._pool.take_all() + list(self._in_use)
        self._in_use.clear()
        for connection in connections:
            await connection.aclose()

    async def request(
        self, method: str, url: str, *, headers: Headers = (), body: bytes = b""
    ) -> HttpResponse:
        """Send one request and return the response, whatever its status.

        Raises an ``HttpError``: ``HttpInvalidRequest``, ``HttpConnectError``
        (``HttpConnectTimeout``), ``HttpTimeout``, ``HttpProtocolError`` or
        ``HttpResponseTooLarge``."""
        if self._closed:
            raise trio.ClosedResourceError("this HttpClient is closed")
        method = method.upper()
        try:
            parsed = parse_url(url)
        except UrlError as exc:
            raise HttpInvalidRequest(method, redact_url(url), str(exc)) from None
        h11_request = self._build_request(method, parsed, headers, body)
        response_deadline: float | None = None
        for attempt in (1, 2):
            connection, reused = await self._connection_for(method, parsed, response_deadline)
            if response_deadline is None:
                response_deadline = trio.current_time() + self.response_timeout
            try:
                raw = await self._exchange(connection, h11_request, body, response_deadline)
            except ConnectionLost as lost:
                if reused and not lost.response_started and attempt == 1:
                    continue  # the stale keep-alive case: once more on a new connection
                problem = (
                    "connection closed before the response was complete"
                    if lost.response_started
                    else "connection closed without a response"
                )
                raise HttpProtocolError(method, parsed.redacted, problem) from None
            except BrokenResponse as exc:
                raise HttpProtocolError(
                    method, parsed.redacted, f"invalid HTTP response: {exc}"
                ) from None
            except ResponseTooBig as too_big:
                head = too_big.head
                raise HttpResponseTooLarge(
                    method,
                    parsed.redacted,
                    f"response body over {self.max_response_size} bytes (status {head.status})",
                    status=head.status,
                    reason=head.reason,
                ) from None
            except trio.TooSlowError:
                raise HttpTimeout(
                    method,
                    parsed.redacted,
                    f"no complete response within {self.response_timeout:g} s",
                ) from None
            return HttpResponse(raw.head.status, raw.head.reason, raw.head.headers, raw.body)
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ internals
    def _build_request(
        self, method: str, parsed: ParsedUrl, headers: Headers, body: bytes
    ) -> h11.Request:
        def refuse(problem: str) -> HttpInvalidRequest:
            return HttpInvalidRequest(method, parsed.redacted, problem)

        if not _TOKEN.fullmatch(method):
            raise refuse("the method is not an HTTP token")
        pairs = list(headers.items() if isinstance(headers, Mapping) else headers)
        names = {name.lower() for name, _ in pairs}
        for name, value in pairs:
            if not _TOKEN.fullmatch(name):
                raise refuse(f"header name {name[:40]!r} is not an HTTP token")
            if name.lower() in _RESERVED:
                raise refuse(f"header {name} is set by the client itself")
            if _FORBIDDEN_IN_VALUE.search(value):
                raise refuse(f"the value of header {name} contains CR, LF or NUL")
        if parsed.authorization is not None and "authorization" in names:
            raise refuse("credentials both in the URL and in an Authorization header")
        wire_headers: list[tuple[bytes, bytes]] = [(b"Host", parsed.host_header.encode("ascii"))]
        if "user-agent" not in names:
            wire_headers.append((b"User-Agent", self.user_agent.encode()))
        if parsed.authorization is not None:
            wire_headers.append((b"Authorization", parsed.authorization.encode("ascii")))
        wire_headers.extend((name.encode("ascii"), value.encode()) for name, value in pairs)
        if body or method not in ("GET", "HEAD", "DELETE", "OPTIONS", "TRACE"):
            wire_headers.append((b"Content-Length", str(len(body)).encode("ascii")))
        try:
            return h11.Request(method=method, target=parsed.target, headers=wire_headers)
        except h11.LocalProtocolError:
            # h11's message quotes the offending value: never pass it on
            raise refuse("h11 refused the request line or a header") from None

    async def _connection_for(
        self, method: str, parsed: ParsedUrl, response_deadline: float | None
    ) -> tuple[HttpConnection, bool]:
        """An idle connection to the origin (reused=True), else a new one.

        On a retry (``response_deadline`` set) the connect is bounded by that deadline too."""
        origin = parsed.origin
        if response_deadline is None:
            idle, to_close = self._pool.take(origin, trio.current_time())
            for stale in to_close:
                await stale.aclose()
            if idle is not None:
                self._in_use.add(idle)
                return idle, True
        deadline = trio.current_time() + self.connect_timeout
        if response_deadline is not None:
            deadline = min(deadline, response_deadline)
        try:
            with trio.fail_at(deadline):
                connection = await open_connection(
                    origin, self._tls_context(origin), max_head_size=self.max_response_head_size
                )
        except trio.TooSlowError:
            raise HttpConnectTimeout(
                method,
                parsed.redacted,
                f"connecting timed out after {self.connect_timeout:g} s",
            ) from None
        except ConnectFailed as exc:
            raise HttpConnectError(method, parsed.redacted, f"cannot connect: {exc}") from None
        if self._closed:  # closed while we were connecting
            await connection.aclose()
            raise trio.ClosedResourceError("this HttpClient is closed")
        self.connections_opened += 1
        self._in_use.add(connection)
        return connection, False

    async def _exchange(
        self, connection: HttpConnection, request: h11.Request, body: bytes, deadline: float
    ) -> RawResponse:
        """One exchange under the response deadline; the connection goes back or is closed."""
        done = False
        try:
            with trio.fail_at(deadline):
                raw = await connection.exchange(request, body, max_body_size=self.max_response_size)
            done = True
            return raw
        finally:
            self._in_use.discard(connection)
            if done and connection.reusable and not self._closed:
                for old in self._pool.put(connection, trio.current_time()):
                    await old.aclose()
            else:
                await connection.aclose()

    def _tls_context(self, origin: Origin) -> ssl.SSLContext | None:
        if not origin.tls:
            return None
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context
