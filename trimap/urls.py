"""Checking a URL someone configured for trimap to call (webhooks, the auth server).

How it works: ``check_http_url(key, value)`` accepts a string that, stripped of
surrounding blanks, is an ``http`` or ``https`` URL with a host, a valid port
if it names one, no whitespace inside and at most ``MAX_URL_LENGTH``
characters; it returns the stripped URL.  Anything else is a ``ValueError``
whose message names ``key``, the field the value came from.

Rules it keeps: a message never quotes the value (a URL may carry
credentials, ``https://user:password@host/``); nothing is fetched or resolved.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

__all__ = ["MAX_URL_LENGTH", "check_http_url"]

MAX_URL_LENGTH = 2048


def check_http_url(key: str, value: Any) -> str:
    """``value`` stripped when it is a usable http(s) URL; else ``ValueError`` naming ``key``."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f'"{key}" must be an http or https URL')
    url = value.strip()
    try:
        parts = urlsplit(url)
        # ``port`` raises ValueError for a port that is not a number from 0 to 65535
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        usable = False
    if not usable:
        raise ValueError(f'"{key}" must be an http or https URL')
    if len(url) > MAX_URL_LENGTH or any(c.isspace() for c in url):
        raise ValueError(f'"{key}" must be a URL of at most {MAX_URL_LENGTH} characters')
    return url
