"""``GET /v1/logs/{account}``: an account's stored protocol log, as NDJSON.

The answer is ``application/x-ndjson``: one stored entry per line, oldest
first (``{"t", "src", "msg", "cid", "level", "lo"}``, see
``trimap.accounts.protocollog``), read from Redis in batches
(``ProtocolLogStore.ndjson``) and streamed, so a log of a million lines is
never held in memory.  Which accounts are logged is the ``logs`` setting.

Rules it keeps: an unknown account is a 404 (the reference answered
anything); an account without entries is a 200 with an empty body (the
reference sent the text "No logs found for ...", which is not NDJSON and
breaks a client that parses every line); the first batch is read before the
answer starts, so a Redis failure there is a JSON 503, not a cut stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from quart import Blueprint, Response, request

from trimap.accounts import AccountNotFound
from trimap.api.context import runtime
from trimap.api.imap import account_not_found
from trimap.api.query import QueryParser

__all__ = ["blueprint"]

blueprint = Blueprint("logs", __name__)

NDJSON = "application/x-ndjson"


@blueprint.get("/v1/logs/<account>")
async def download_log(account: str) -> Response:
    QueryParser(request.args, allowed=()).check()  # no parameters
    instance = runtime()
    try:
        await instance.accounts.get(account)
    except AccountNotFound:
        raise account_not_found() from None
    batches = instance.protocol_logs.ndjson(account)
    first = await anext(batches, b"")

    async def body() -> AsyncIterator[bytes]:
        if first:
            yield first
            async for batch in batches:
                yield batch

    return Response(body(), mimetype=NDJSON)
