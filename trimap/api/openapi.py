"""``GET /openapi.json``: the OpenAPI 3.1 document of this API.

The document is built once per process by ``trimap.api.openapi_spec`` (title
"trimap", trimap's version) and served as it is: no query parameters are
read, and no Redis or IMAP is touched, so it answers even when both are
down.  The web panel renders it with Swagger UI; clients may generate code
from it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from quart import Blueprint

from trimap import __version__
from trimap.api.openapi_spec import build_document

__all__ = ["blueprint", "document"]

blueprint = Blueprint("openapi", __name__)


@cache
def document() -> dict[str, Any]:
    """The OpenAPI document of this trimap (built on first use)."""
    return build_document(__version__)


@blueprint.get("/openapi.json")
async def openapi() -> dict[str, Any]:
    return document()
