"""Errors are answers: every failure leaves the API as one JSON shape.

How it works: handlers raise ``ApiError`` (or let Quart raise its HTTP
exceptions, e.g. for an unknown route or an oversized body); the handlers
registered here turn each into ``{"statusCode", "error", "message", "code"}``
with the matching HTTP status.  Anything else that escapes a handler is a bug:
it is logged with its traceback and answered with a generic 500 whose message
reveals nothing of the internals.

Rules it keeps: no response ever carries an error inside a 200; a 4xx means the
client can fix its request; messages never contain secrets (they are written
by trimap, not copied from exceptions of lower layers).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from quart import Quart, Response, jsonify
from werkzeug.exceptions import HTTPException

from trimap.store import StoreUnavailable

__all__ = ["ApiError", "error_body", "error_response", "invalid_input", "register_error_handlers"]

log = logging.getLogger("trimap.api")

_MESSAGES = {
    404: ("Requested page not found", "NotFound"),
    405: ("Method not allowed for this route", "MethodNotAllowed"),
    413: ("Request body is larger than the configured api.maxSize", "PayloadTooLarge"),
}


class ApiError(Exception):
    """An error answer: HTTP status, a human message and a stable machine code."""

    def __init__(self, status: int, message: str, code: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.details = details


def invalid_input(fields: dict[str, str]) -> ApiError:
    """The 400 for a request whose ``fields`` (key: what is wrong with it) failed validation."""
    return ApiError(
        400,
        "Invalid input",
        "InvalidInput",
        fields=[{"message": message, "key": key} for key, message in fields.items()],
    )


def error_body(status: int, message: str, code: str, **details: Any) -> dict[str, Any]:
    """The JSON error shape for ``status``; ``details`` add fields such as ``fields``."""
    return {
        "statusCode": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
        "code": code,
        **details,
    }


def error_response(status: int, message: str, code: str, **details: Any) -> Response:
    """The JSON error response with ``status`` (the body is ``error_body``)."""
    response = jsonify(error_body(status, message, code, **details))
    response.status_code = status
    return response


def _code_for(status: int) -> str:
    return HTTPStatus(status).phrase.title().replace(" ", "").replace("-", "")


def register_error_handlers(app: Quart) -> None:
    """Install the handlers that give every error the one JSON shape."""

    @app.errorhandler(ApiError)
    async def _api_error(error: ApiError) -> Response:
        return error_response(error.status, error.message, error.code, **error.details)

    @app.errorhandler(StoreUnavailable)
    async def _store_unavailable(error: StoreUnavailable) -> Response:
        log.warning("request failed: Redis unavailable", extra={"error": str(error)})
        return error_response(503, "The database is not reachable; try again", "StoreUnavailable")

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        message, code = _MESSAGES.get(status, (error.description or "", _code_for(status)))
        return error_response(status, message, code)

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response:
        log.error("unhandled error in request", exc_info=error)
        return error_response(500, "An internal server error occurred", "InternalError")
