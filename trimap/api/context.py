"""How request handlers reach the running instance: ``runtime()``."""

from __future__ import annotations

from quart import current_app

from trimap.runtime import Runtime

__all__ = ["EXTENSION_KEY", "runtime"]

EXTENSION_KEY = "trimap"


def runtime() -> Runtime:
    """The ``Runtime`` of the app serving the current request."""
    value: Runtime = current_app.extensions[EXTENSION_KEY]
    return value
