"""A tiny blocking HTTP client for tests: status, headers and body, errors included.

Tests call it directly (sync tests) or through ``trio.to_thread.run_sync``
(trio tests).  Unlike ``urllib`` it returns 4xx/5xx answers instead of
raising, so tests can assert on error bodies.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    method: str,
    url: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> HttpAnswer:
    """Send one request and return the answer, whatever its status."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return HttpAnswer(response.status, _lower(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, _lower(error.headers), error.read())


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
