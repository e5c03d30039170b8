"""Turning a URL into what a request needs: origin, request target, Host, Basic credentials.

Rules it keeps:

* Only ``http`` and ``https``; a host is required; the port defaults to 80/443.
* Userinfo (``user:pass@``) never travels in the request line or the Host header: it becomes an
  ``Authorization: Basic`` header (percent-decoded, UTF-8), and the URL goes on without it.
* ``redacted`` is the only form of a URL that errors and logs may show: scheme, host, port and
  path; userinfo dropped; a query string shown as ``?…`` (tokens often travel there).  Paths are
  kept: they are how an operator tells two endpoints of one host apart.  A URL whose password
  was not percent-encoded (its tail spills into the path) is withheld after the scheme.
* Host names are IDNA-encoded for the Host header and for connecting, so both are pure ASCII.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

__all__ = ["Origin", "ParsedUrl", "parse_url", "redact_url"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a connection goes; the key of the connection pool."""

    scheme: str  # "http" or "https"
    host: str  # ASCII (IDNA), lower case, no brackets around IPv6
    port: int

    @property
    def tls(self) -> bool:
        return self.scheme == "https"


@dataclass(frozen=True, slots=True)
class ParsedUrl:
    origin: Origin
    target: str  # path and query: what goes in the request line
    host_header: str  # host, with :port when not the default, IPv6 in brackets
    authorization: str | None  # "Basic …" from the userinfo, or None
    redacted: str


class UrlError(ValueError):
    """The URL cannot be used; the message never quotes the URL (it may hold a password)."""


def redact_url(url: str) -> str:
    """``url`` without userinfo and with any query shown as ``?…``: safe for errors and logs.

    A password with an unencoded ``/``, ``?`` or ``#`` ends the authority early, so its tail lands
    in the path (``http://u:pa/ss@host/``): when the authority has no ``@`` and a ``:``, and an
    ``@`` follows it, everything after the scheme is withheld.  Never raises."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    _userinfo, at, hostport = parts.netloc.rpartition("@")
    after_authority = parts.path + parts.query + parts.fragment
    if not at and ":" in hostport and "@" in after_authority:
        return f"{parts.scheme}://…"
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{hostport}{parts.path}{query}"


def parse_url(url: str) -> ParsedUrl:
    """Split ``url`` for a request; raises ``UrlError`` (a ValueError) when it is unusable."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlError("malformed URL (bad port or brackets)") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UrlError("only http:// and https:// URLs are supported")
    if not parts.hostname:
        raise UrlError("the URL has no host")
    if any(ch in url for ch in "\r\n\t\x00 "):
        raise UrlError("the URL contains whitespace or control characters")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise UrlError("the host name is not a valid (IDNA) name") from None
    port = port if port is not None else _DEFAULT_PORTS[scheme]
    shown_host = f"[{host}]" if ":" in host else host
    host_header = shown_host if port == _DEFAULT_PORTS[scheme] else f"{shown_host}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    authorization = None
    if parts.username is not None or parts.password is not None:
        user = unquote(parts.username or "")
        password = unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        authorization = f"Basic {token}"
    return ParsedUrl(
        origin=Origin(scheme, host, port),
        target=target,
        host_header=host_header,
        authorization=authorization,
        redacted=redact_url(url),
    )
