"""The errors of trimap's HTTP client: one base class, one subclass per way a request fails.

Rules they keep:

* A message names the method and the URL *redacted*: no userinfo, no query string (``?…``),
  and never a header value or a body.  The original low-level exception is not chained
  (``from None``): h11's and ssl's texts can quote the very header value that was refused.
* The split follows h11: ``HttpProtocolError`` is the other side breaking HTTP;
  ``HttpInvalidRequest`` is the caller asking for something that cannot be sent.
* ``HttpConnectError`` means the request never left: retrying it can deliver nothing twice.
  ``HttpTimeout`` after the connect may mean the server got it.  A connect that runs out of
  time is ``HttpConnectTimeout``, which is both.
"""

from __future__ import annotations

__all__ = [
    "HttpConnectError",
    "HttpConnectTimeout",
    "HttpError",
    "HttpInvalidRequest",
    "HttpProtocolError",
    "HttpResponseTooLarge",
    "HttpTimeout",
]


class HttpError(Exception):
    """A request failed; ``method`` and ``url`` (redacted) say which."""

    def __init__(self, method: str, url: str, problem: str) -> None:
        super().__init__(f"{method} {url}: {problem}")
        self.method = method
        self.url = url
        self.problem = problem


class HttpInvalidRequest(HttpError, ValueError):
    """The request cannot be sent as asked: a bad URL, a header with CR/LF, a reserved header."""


class HttpConnectError(HttpError):
    """No connection: name resolution, TCP or the TLS handshake (certificate, host name) failed.
    Nothing of the request was sent."""


class HttpTimeout(HttpError):
    """The connect or the response did not complete in time; the connection was closed."""


class HttpConnectTimeout(HttpConnectError, HttpTimeout):
    """The connect (TCP and TLS handshake) did not complete within the connect timeout."""


class HttpProtocolError(HttpError):
    """The server broke HTTP/1.1 or closed the connection before the response was complete."""


class HttpResponseTooLarge(HttpError):
    """The response body is over the size cap; the connection was closed, the body dropped.

    The status line had arrived: ``status`` and ``reason`` are the server's, so a caller to
    whom only the status matters (a webhook delivery) can still act on it."""

    def __init__(self, method: str, url: str, problem: str, *, status: int, reason: str) -> None:
        super().__init__(method, url, problem)
        self.status = status
        self.reason = reason
