"""The OpenAPI 3.1 document of trimap's HTTP API, built from the code's own constants.

How it works: ``build_document(version)`` assembles ``info``, one entry per
route in ``paths`` and the shared ``components`` (the JSON schemas of
``trimap.api.openapi_schemas``).  Each operation is made by ``_operation``
from its parameters, request body, success answers and the error statuses it
can answer; every error answer has the one error schema (``Error``:
``{statusCode, error, message, code, fields?}``), and 500 (a bug, logged)
is listed on every route because its shape is part of the contract too.

Rules it keeps:

* Every route of the app is here and nothing else is:
  ``tests/trimap/test_openapi.py`` compares the document with the app's URL
  map, and ``tests/trimap/test_openapi_fuzz.py`` runs schemathesis against
  the running service, checking every answer against its schema and its
  status against the listed ones.  A new route, answer key or status needs
  its line here.
* Descriptions say what the code does, briefly; docs/api.md has the long
  form and the differences from the reference product.
"""

from __future__ import annotations

from typing import Any

from trimap.accounts.model import ACCOUNT_STATES
from trimap.api.accounts import MAX_PAGE_SIZE as MAX_ACCOUNTS_PAGE
from trimap.api.events import DEFAULT_LIMIT, MAX_LIMIT
from trimap.api.mailboxes import MAX_PATH
from trimap.api.messages import MAX_PAGE, MAX_TEXT_BYTES
from trimap.api.openapi_schemas import (
    ACCOUNT_ID,
    MESSAGE_ID,
    NO_CONTROLS,
    SCHEMAS,
    SchemaDict,
    closed,
    ref,
)
from trimap.api.submit import MAX_IDEMPOTENCY_KEY
from trimap.events import EVENT_KINDS
from trimap.mailbox.details import TEXT_TYPES
from trimap.mailbox.listing import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from trimap.settings import SETTING_KEYS

__all__ = ["build_document"]

JSON = "application/json"
TAGS = (
    *("service", "settings", "accounts", "events", "webhooks"),
    *("mailboxes", "messages", "content", "sending"),
)

_STORE = "`StoreUnavailable`: Redis cannot be reached; try again"
_ACCOUNT_GONE = "`AccountNotFound`"
_INVALID = "`InvalidInput`: `fields` names every problem (unknown keys too)"
_TOO_LARGE = "`PayloadTooLarge`: the body is larger than `api.maxSize`"
#: What a route on the account's IMAP connection can answer besides its own errors.
_IMAP_ERRORS = {
    400: _INVALID,
    404: "`AccountNotFound`; `MailboxNotFound`; `MessageNotFound`",
    502: "`IMAPError`: the IMAP server refused; `message` has its text",
    503: "the account is not connected, and `code` is its state (`connecting`, "
    "`authenticationError` ...); `IMAPUnavailable`: the connection was lost meanwhile; " + _STORE,
    504: "`Timeout`: the IMAP server did not answer in time",
}


# -- building blocks -----------------------------------------------------------------------


def _json(description: str, schema: SchemaDict) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(description, ref("Error"))


def _path_parameter(name: str, description: str, pattern: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "minLength": 1, "pattern": pattern},
    }


def _query(
    name: str, schema: SchemaDict, description: str, *, required: bool = False
) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": name,
        "in": "query",
        "description": description,
        "schema": schema,
    }
    if required:
        parameter["required"] = True
    if schema.get("type") == "array":
        parameter |= {"style": "form", "explode": True}
    return parameter


_ACCOUNT = _path_parameter("account", "the account's id", ACCOUNT_ID)
_MESSAGE = _path_parameter("message", "a message id (`id` of a message object)", MESSAGE_ID)
_FOLDER = _query(
    "path",
    {"type": "string", "minLength": 1, "maxLength": MAX_PATH, "pattern": NO_CONTROLS},
    "the folder",
    required=True,
)


def _operation(
    operation_id: str,
    tag: str,
    summary: str,
    *,
    answers: dict[int, dict[str, Any]],
    errors: dict[int, str],
    parameters: tuple[dict[str, Any], ...] = (),
    body: SchemaDict | None = None,
    body_required: bool = True,
    description: str | None = None,
) -> dict[str, Any]:
    """One operation: ``answers`` are its success responses, ``errors`` status → when."""
    operation: dict[str, Any] = {"operationId": operation_id, "tags": [tag], "summary": summary}
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = list(parameters)
    listed = dict(errors)
    if body is not None:
        operation["requestBody"] = {
            "required": body_required,
            "content": {JSON: {"schema": body}},
            "description": "JSON, whatever the Content-Type says",
        }
        listed.setdefault(400, _INVALID)
        listed.setdefault(413, _TOO_LARGE)
    listed[500] = "`InternalError`: a bug; it is logged"
    responses = {str(status): answer for status, answer in answers.items()}
    responses |= {str(status): _error(text) for status, text in sorted(listed.items())}
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def _imap(more: dict[int, str] | None = None) -> dict[int, str]:
    """The errors of a route on the IMAP connection, plus (or described more closely) ``more``."""
    return _IMAP_ERRORS | (more or {})


def _numbered_pages(what: str) -> tuple[dict[str, Any], ...]:
    """``page`` and ``pageSize`` of a listing paged by number."""
    return (
        _query("page", {"type": "integer", "minimum": 0, "maximum": MAX_PAGE}, "from 0"),
        _query(
            "pageSize",
            {"type": "integer", "minimum": 1, "maximum": MAX_ACCOUNTS_PAGE},
            f"{what} per page (default 20)",
        ),
    )


def _numbered_page(key: str, items: SchemaDict) -> SchemaDict:
    """One page of a listing paged by number: ``items`` under ``key``, and the counts."""
    return closed(
        {
            key: {"type": "array", "items": items},
            "page": {"type": "integer", "minimum": 0},
            "pages": {"type": "integer", "minimum": 1},
            "total": {"type": "integer", "minimum": 0},
        },
        (key, "page", "pages", "total"),
    )


_NO_QUERY = {400: "`InvalidInput`: this route takes no query parameters", 503: _STORE}


# -- the routes ----------------------------------------------------------------------------


def _service_paths() -> dict[str, dict[str, Any]]:
    return {
        "/health": {
            "get": _operation(
                "health",
                "service",
                "Is this instance able to serve",
                answers={
                    200: _json("Redis answers", ref("Health")),
                    503: _json("Redis does not answer (same body)", ref("Health")),
                },
                errors={},
            )
        },
        "/openapi.json": {
            "get": _operation(
                "openapi",
                "service",
                "This document",
                answers={200: _json("the OpenAPI 3.1 document", {"type": "object"})},
                errors={},
            )
        },
        "/v1/stats": {
            "get": _operation(
                "stats",
                "service",
                "What this instance holds, at a glance (no IMAP is touched)",
                answers={200: _json("counts and states", ref("Stats"))},
                errors=_NO_QUERY,
            )
        },
        "/v1/settings": {
            "get": _operation(
                "readSettings",
                "settings",
                "Read settings: only the keys asked for",
                parameters=tuple(
                    _query(key, {"type": "boolean"}, f"`true`: answer `{key}`")
                    for key in (*SETTING_KEYS, "eventTypes")
                ),
                answers={200: _json("the keys asked for, `null` when unset", ref("Settings"))},
                errors={400: _INVALID, 503: _STORE},
            ),
            "post": _operation(
                "updateSettings",
                "settings",
                "Change settings",
                body=ref("SettingsUpdate"),
                answers={
                    200: _json(
                        "the keys stored",
                        closed(
                            {"updated": {"type": "array", "items": {"type": "string"}}},
                            ("updated",),
                        ),
                    )
                },
                errors={503: _STORE},
            ),
        },
        "/v1/verifyAccount": {
            "post": _operation(
                "verifyAccount",
                "accounts",
                "Would these IMAP and SMTP settings connect? (nothing is saved)",
                description="A failed check is `success: false` inside a 200; a wrong "
                "request is a 400 and nothing is connected then.",
                body=ref("VerifyRequest"),
                answers={200: _json("one key per protocol checked", ref("VerifyAnswer"))},
                errors={503: _STORE},
            )
        },
    }


def _event_paths() -> dict[str, dict[str, Any]]:
    filters = (
        _query("account", {"type": "string"}, "only this account's events"),
        _query(
            "event",
            {"type": "array", "items": {"type": "string", "enum": sorted(EVENT_KINDS)}},
            "only these kinds (repeat the key, or separate kinds with commas)",
        ),
    )
    cursor = _query("cursor", {"type": "string"}, "go on after this cursor or position")
    return {
        "/v1/events": {
            "get": _operation(
                "listEvents",
                "events",
                "Page through the event log, oldest first",
                parameters=(
                    cursor,
                    *filters,
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                        f"most events in the answer (default {DEFAULT_LIMIT})",
                    ),
                ),
                answers={200: _json("a page of events", ref("EventPage"))},
                errors={
                    400: _INVALID,
                    410: "`CursorExpired`: events after the cursor were trimmed",
                    503: _STORE,
                },
            )
        },
        "/v1/stream": {
            "get": _operation(
                "streamEvents",
                "events",
                "The event log live, over a WebSocket",
                description="A WebSocket: one JSON text frame per `Event`, resumable with "
                "`cursor` (the `position` of the last event received). Errors are one "
                "`Error` frame, then the close (1008 for `InvalidInput` and `CursorExpired`, "
                "1011 for `StoreUnavailable`, 1001 when the service stops). A request that "
                "is not a WebSocket handshake is a 400.",
                parameters=(cursor, *filters),
                answers={101: {"description": "the WebSocket handshake: events follow"}},
                errors={400: "`BadRequest`: not a WebSocket handshake"},
            )
        },
        "/v1/webhooks": {
            "get": _operation(
                "listWebhooks",
                "webhooks",
                "Each webhook destination's progress",
                answers={
                    200: _json(
                        "the destinations",
                        closed(
                            {
                                "destinations": {
                                    "type": "array",
                                    "items": ref("WebhookDestination"),
                                }
                            },
                            ("destinations",),
                        ),
                    )
                },
                errors=_NO_QUERY,
            )
        },
        "/v1/webhooks/replay": {
            "post": _operation(
                "replayWebhooks",
                "webhooks",
                "Send events again: move destinations' cursors",
                body=ref("Replay"),
                answers={
                    200: _json(
                        "the destinations moved and their new cursor",
                        closed(
                            {
                                "destinations": {"type": "array", "items": {"type": "string"}},
                                "cursor": {"type": "string"},
                            },
                            ("destinations", "cursor"),
                        ),
                    )
                },
                errors={503: _STORE},
            )
        },
    }


def _account_paths() -> dict[str, dict[str, Any]]:
    account_errors = {400: _INVALID, 404: _ACCOUNT_GONE, 503: _STORE}
    return {
        "/v1/account": {
            "post": _operation(
                "createAccount",
                "accounts",
                "Register an account, or update it when the id exists",
                body=ref("AccountCreate"),
                answers={
                    200: _json(
                        "registered",
                        closed(
                            {
                                "account": {"type": "string"},
                                "state": {"type": "string", "enum": ["new", "existing"]},
                            },
                            ("account", "state"),
                        ),
                    )
                },
                errors={503: _STORE},
            )
        },
        "/v1/accounts": {
            "get": _operation(
                "listAccounts",
                "accounts",
                "Page through the accounts",
                parameters=(
                    _query("state", {"type": "string", "enum": list(ACCOUNT_STATES)}, "only these"),
                    *_numbered_pages("accounts"),
                ),
                answers={
                    200: _json(
                        "a page of accounts",
                        _numbered_page("accounts", ref("AccountSummary")),
                    )
                },
                errors={400: _INVALID, 503: _STORE},
            )
        },
        "/v1/account/{account}": {
            "get": _operation(
                "readAccount",
                "accounts",
                "An account: settings without secrets, state, last error",
                parameters=(_ACCOUNT,),
                answers={200: _json("the account", ref("Account"))},
                errors=account_errors,
            ),
            "put": _operation(
                "updateAccount",
                "accounts",
                "Change the fields named (only those)",
                parameters=(_ACCOUNT,),
                body=ref("AccountUpdate"),
                answers={
                    200: _json(
                        "updated",
                        closed({"account": {"type": "string"}}, ("account",)),
                    )
                },
                errors=account_errors,
            ),
            "delete": _operation(
                "deleteAccount",
                "accounts",
                "Remove an account and all its data",
                parameters=(_ACCOUNT,),
                answers={
                    200: _json(
                        "deleted",
                        closed(
                            {"account": {"type": "string"}, "deleted": {"const": True}},
                            ("account", "deleted"),
                        ),
                    )
                },
                errors=account_errors,
            ),
        },
        "/v1/account/{account}/reconnect": {
            "put": _operation(
                "reconnectAccount",
                "accounts",
                "Reconnect, in any state",
                parameters=(_ACCOUNT,),
                body=closed({"reconnect": {"type": "boolean"}}),
                body_required=False,
                answers={
                    200: _json(
                        "whether a reconnect was started",
                        closed({"reconnect": {"type": "boolean"}}, ("reconnect",)),
                    )
                },
                errors=account_errors,
            )
        },
        "/v1/logs/{account}": {
            "get": _operation(
                "downloadLog",
                "accounts",
                "The account's protocol log, as NDJSON",
                description="One JSON object per line, oldest first: "
                '`{"t", "src", "msg", "cid", "level", "lo"}`. No entries: an empty body.',
                parameters=(_ACCOUNT,),
                answers={
                    200: {
                        "description": "the log",
                        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                    }
                },
                errors=account_errors,
            )
        },
    }


def _folder_paths() -> dict[str, dict[str, Any]]:
    return {
        "/v1/account/{account}/mailboxes": {
            "get": _operation(
                "listMailboxes",
                "mailboxes",
                "The folders, live, with counters; INBOX first",
                parameters=(_ACCOUNT,),
                answers={
                    200: _json(
                        "the selectable folders",
                        closed(
                            {"mailboxes": {"type": "array", "items": ref("Mailbox")}},
                            ("mailboxes",),
                        ),
                    )
                },
                errors=_imap(),
            )
        },
        "/v1/account/{account}/mailbox": {
            "post": _operation(
                "createMailbox",
                "mailboxes",
                "Create a folder (`created: false`: it existed)",
                parameters=(_ACCOUNT,),
                body=ref("MailboxCreate"),
                answers={
                    200: _json(
                        "the folder's path",
                        closed(
                            {"path": {"type": "string"}, "created": {"type": "boolean"}},
                            ("path", "created"),
                        ),
                    )
                },
                errors=_imap(),
            ),
            "put": _operation(
                "updateMailbox",
                "mailboxes",
                "Rename a folder and/or (un)subscribe it",
                parameters=(_ACCOUNT,),
                body=ref("MailboxUpdate"),
                answers={
                    200: _json(
                        "the fields asked for",
                        closed(
                            {
                                "path": {"type": "string"},
                                "newPath": {"type": "string"},
                                "subscribed": {"type": "boolean"},
                            },
                            ("path",),
                        ),
                    )
                },
                errors=_imap({409: "`MailboxExists`: `newPath` is taken"}),
            ),
            "delete": _operation(
                "deleteMailbox",
                "mailboxes",
                "Delete a folder",
                parameters=(_ACCOUNT, _FOLDER),
                answers={
                    200: _json(
                        "deleted",
                        closed(
                            {
                                "path": {"type": "string"},
                                "deleted": {"const": True},
                            },
                            ("path", "deleted"),
                        ),
                    )
                },
                errors=_imap(),
            ),
        },
    }


def _paging() -> tuple[dict[str, Any], ...]:
    return (
        _ACCOUNT,
        _FOLDER,
        _query(
            "page",
            {"type": "integer", "minimum": 0, "maximum": MAX_PAGE},
            "page number from 0; past the end: the last page",
        ),
        _query(
            "pageSize",
            {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            f"messages per page (default {DEFAULT_PAGE_SIZE})",
        ),
        _query(
            "cursor",
            {"type": "string", "pattern": "^[A-Za-z0-9_-]{12}$"},
            "the `nextCursor` of the previous page: the page after it (not with `page`)",
        ),
    )


def _message_paths() -> dict[str, dict[str, Any]]:
    listing_errors = _imap(
        {410: "`StaleCursor`: the folder was reset, re-created or renamed since the cursor"}
    )
    text_query = (
        _query(
            "textType",
            {"type": "string", "enum": list(TEXT_TYPES)},
            "add the decoded text of this kind (`*`: plain and html)",
        ),
        _query(
            "maxBytes",
            {"type": "integer", "minimum": 0, "maximum": MAX_TEXT_BYTES},
            "most UTF-8 bytes of each kind of text; 0: no limit",
        ),
    )
    return {
        "/v1/account/{account}/messages": {
            "get": _operation(
                "listMessages",
                "messages",
                "A page of a folder's messages, newest first",
                parameters=_paging(),
                answers={200: _json("the page", ref("MessagePage"))},
                errors=listing_errors,
            ),
            "put": _operation(
                "updateMessages",
                "messages",
                "Change the flags or labels of many messages of one folder",
                parameters=(_ACCOUNT, _FOLDER),
                body=ref("BulkUpdate"),
                answers={200: _json("how many matched, what was applied", ref("BulkUpdated"))},
                errors=_imap({422: "`LabelsUnsupported`: labels exist only on Gmail"}),
            ),
        },
        "/v1/account/{account}/messages/move": {
            "put": _operation(
                "moveMessages",
                "messages",
                "Move many messages of one folder",
                parameters=(_ACCOUNT, _FOLDER),
                body=ref("BulkMove"),
                answers={200: _json("where they went", ref("BulkMoved"))},
                errors=_imap({422: "`UidplusRequired`: the server cannot move these alone"}),
            )
        },
        "/v1/account/{account}/search": {
            "post": _operation(
                "searchMessages",
                "messages",
                "A page of the messages matching every criterion, newest first",
                parameters=_paging(),
                body=closed({"search": ref("SearchCriteria")}, ("search",)),
                answers={200: _json("the page", ref("MessagePage"))},
                errors=listing_errors,
            )
        },
        "/v1/account/{account}/message": {
            "post": _operation(
                "uploadMessage",
                "messages",
                "Build a message and append it to a folder",
                parameters=(_ACCOUNT,),
                body=ref("Upload"),
                answers={200: _json("where it was stored", ref("Uploaded"))},
                errors=_imap(
                    {
                        404: "`AccountNotFound`; `MailboxNotFound`; `ReferenceNotFound`",
                        413: f"{_TOO_LARGE}; `ReferenceTooLarge`: the forwarded original is",
                    }
                ),
            )
        },
        "/v1/account/{account}/message/{message}": {
            "get": _operation(
                "readMessage",
                "messages",
                "One message in full, with its text if asked",
                parameters=(_ACCOUNT, _MESSAGE, *text_query),
                answers={200: _json("the message", ref("Message"))},
                errors=_imap(),
            ),
            "put": _operation(
                "updateMessage",
                "messages",
                "Change a message's flags or labels",
                parameters=(_ACCOUNT, _MESSAGE),
                body=ref("MessageUpdate"),
                answers={200: _json("what was applied", ref("MessageUpdated"))},
                errors=_imap({422: "`LabelsUnsupported`: labels exist only on Gmail"}),
            ),
            "delete": _operation(
                "deleteMessage",
                "messages",
                "Move a message to Trash, or expunge it (in Trash, or with `force`)",
                parameters=(
                    _ACCOUNT,
                    _MESSAGE,
                    _query("force", {"type": "boolean"}, "expunge, wherever it is"),
                ),
                answers={200: _json("what was done", ref("Deleted"))},
                errors=_imap({422: "`UidplusRequired`: the server cannot expunge it alone"}),
            ),
        },
        "/v1/account/{account}/message/{message}/move": {
            "put": _operation(
                "moveMessage",
                "messages",
                "Move a message to another folder",
                parameters=(_ACCOUNT, _MESSAGE),
                body=ref("Move"),
                answers={200: _json("where it went", ref("Moved"))},
                errors=_imap({422: "`UidplusRequired`: the server cannot move it alone"}),
            )
        },
        "/v1/account/{account}/message/{message}/source": {
            "get": _operation(
                "downloadSource",
                "content",
                "The message exactly as stored (streamed)",
                parameters=(_ACCOUNT, _MESSAGE),
                answers={
                    200: {
                        "description": "the message; `Content-Length` is its size",
                        "content": {"message/rfc822": {"schema": {"type": "string"}}},
                    }
                },
                errors=_imap(),
            )
        },
        "/v1/account/{account}/text/{text}": {
            "get": _operation(
                "readText",
                "content",
                "The decoded text parts a text id lists",
                parameters=(
                    _ACCOUNT,
                    _path_parameter(
                        "text", "a text id (`text.id` of a message)", "^[A-Za-z0-9_-]{16,}$"
                    ),
                    *text_query,
                ),
                answers={200: _json("text by kind", ref("Text"))},
                errors=_imap(),
            )
        },
        "/v1/account/{account}/attachment/{attachment}": {
            "get": _operation(
                "downloadAttachment",
                "content",
                "One attachment's bytes, transfer encoding undone (streamed)",
                parameters=(
                    _ACCOUNT,
                    _path_parameter(
                        "attachment",
                        "an attachment id (`attachments[].id`)",
                        "^[A-Za-z0-9_-]{12,}$",
                    ),
                ),
                answers={
                    200: {
                        "description": "the part, with its own Content-Type",
                        "content": {"*/*": {"schema": {"type": "string"}}},
                    }
                },
                errors=_imap({404: "`AccountNotFound`; `MessageNotFound`; `AttachmentNotFound`"}),
            )
        },
    }


def _sending_paths() -> dict[str, dict[str, Any]]:
    return {
        "/v1/account/{account}/submit": {
            "post": _operation(
                "submitMessage",
                "sending",
                "Send a message: at once, or queued (`sendAt`, `queue`)",
                description="A reply or forward (`reference`) is threaded, and the original "
                "flagged after the send; a copy goes to Sent. An `Idempotency-Key` makes a "
                "retried request send once.",
                parameters=(
                    _ACCOUNT,
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "description": "the first answer is kept for 24 h and given again",
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_IDEMPOTENCY_KEY,
                            "pattern": "^[!-~]+$",
                        },
                    },
                ),
                body=ref("Submit"),
                answers={
                    200: _json("sent", ref("Sent")),
                    202: _json("queued", ref("Queued")),
                },
                errors=_imap(
                    {
                        404: "`AccountNotFound`; `ReferenceNotFound`: nothing was sent",
                        409: "`InProgress`: a request with this Idempotency-Key is running",
                        422: "`NoSmtpSettings`",
                        502: "the SMTP server refused or could not be reached: `message` has "
                        "its reason, `code` says why (`ECONNREFUSED`, `EAUTH`, `EENVELOPE` ...),"
                        " `responseCode` its reply; `IMAPError` reading the reference",
                    }
                ),
            )
        },
        "/v1/outbox": {
            "get": _operation(
                "listOutbox",
                "sending",
                "Page through the queued messages, by next attempt (no bodies)",
                parameters=_numbered_pages("messages"),
                answers={
                    200: _json(
                        "a page of queued messages",
                        _numbered_page("messages", ref("OutboxEntry")),
                    )
                },
                errors={400: _INVALID, 503: _STORE},
            )
        },
        "/v1/outbox/{queue_id}": {
            "delete": _operation(
                "cancelQueued",
                "sending",
                "Cancel a queued message",
                parameters=(_path_parameter("queue_id", "a `queueId`", "^[^/]+$"),),
                answers={
                    200: _json(
                        "cancelled",
                        closed(
                            {"queueId": {"type": "string"}, "deleted": {"const": True}},
                            ("queueId", "deleted"),
                        ),
                    )
                },
                errors={
                    404: "`QueuedMessageNotFound`: sent, failed or cancelled already",
                    503: _STORE,
                },
            )
        },
    }


def build_document(version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route, for trimap ``version``."""
    paths: dict[str, dict[str, Any]] = {}
    groups = (_service_paths, _event_paths, _account_paths, _folder_paths, _message_paths)
    for group in (*groups, _sending_paths):
        paths |= group()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "trimap",
            "version": version,
            "description": "A REST API and webhooks over IMAP and SMTP accounts. Every error "
            "is one JSON shape, `Error`; docs/api.md describes each route at length.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [{"name": name} for name in TAGS],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": SCHEMAS},
    }
