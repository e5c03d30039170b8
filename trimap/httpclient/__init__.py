"""trimap's outbound HTTP client: small, keep-alive, on h11 over trio streams.

``HttpClient.request(method, url, headers=..., body=...)`` returns an ``HttpResponse`` for any
status and raises an ``HttpError`` subclass when there is no complete response.  Modules:

* ``_url``: URL → origin, request target, Host header, Basic credentials, redacted form;
* ``_connection``: one connection (stream + h11), bounded reads, the "lost before any byte" signal;
* ``_pool``: idle connections per origin, lazy expiry, per-origin cap;
* ``_client``: timeouts, the one retry, header rules, error mapping;
* ``_errors``: the exceptions.
"""

from trimap.httpclient._client import DEFAULT_USER_AGENT, Headers, HttpClient, HttpResponse
from trimap.httpclient._errors import (
    HttpConnectError,
    HttpConnectTimeout,
    HttpError,
    HttpInvalidRequest,
    HttpProtocolError,
    HttpResponseTooLarge,
    HttpTimeout,
)
from trimap.httpclient._url import redact_url

__all__ = [
    "DEFAULT_USER_AGENT",
    "Headers",
    "HttpClient",
    "HttpConnectError",
    "HttpConnectTimeout",
    "HttpError",
    "HttpInvalidRequest",
    "HttpProtocolError",
    "HttpResponse",
    "HttpResponseTooLarge",
    "HttpTimeout",
    "redact_url",
]
