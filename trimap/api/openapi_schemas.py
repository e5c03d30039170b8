"""The JSON schemas of the OpenAPI document: what the routes take and what they answer.

How it works: each schema is a plain dict in the JSON Schema dialect of
OpenAPI 3.1 (JSON Schema 2020-12: ``type: ["string", "null"]``, ``const``),
built with a few helpers (``ref``, ``closed``, ``nullable``) and collected in
``SCHEMAS``, the document's ``components.schemas``.  Limits, enumerations and
defaults are the code's own constants, imported from the modules that
enforce them, so the document cannot drift from them.

Rules it keeps:

* Answers are closed (``additionalProperties: false``) wherever the code
  builds a fixed set of keys: a key added to an answer without its schema
  fails ``tests/trimap/test_openapi_fuzz.py`` (schemathesis checks every
  answer against its schema).  Open objects are only those whose keys are
  data (headers, event payloads, counters by name).
* Request bodies say what the route accepts, as precisely as JSON Schema
  can; what it cannot say (a host name's syntax, a label's printability,
  that ``useAuthServer`` needs ``account``, that ``1.0`` is no integer here)
  the route still checks, answering a 400 naming the field.
"""

from __future__ import annotations

from typing import Any

from trimap.accounts.model import (
    ACCOUNT_STATES,
    DEFAULT_RESYNC_DELAY,
    MAX_ACCESS_TOKEN,
    MAX_ID,
    MAX_TEXT,
    TLS_VERSIONS,
)
from trimap.api.mailboxes import MAX_PATH
from trimap.api.message_actions import MAX_BULK
from trimap.compose.request import (
    MAX_ATTACHMENTS,
    MAX_HEADER_VALUE,
    MAX_HEADERS,
    MAX_MESSAGE_ID,
    MAX_RECIPIENTS,
    MAX_STRING,
    MAX_SUBJECT,
)
from trimap.events import EVENT_KINDS
from trimap.mailbox import criteria
from trimap.mailbox.actions import MAX_FLAG_LENGTH, MAX_FLAGS
from trimap.settings import MAX_LOG_LINES, MAX_SECRET_LENGTH, SECRET_MASK

__all__ = ["SCHEMAS", "SchemaDict", "closed", "nullable", "ref"]

SchemaDict = dict[str, Any]

#: A string without control characters (what names, paths and search texts must be).
NO_CONTROLS = r"^[^\u0000-\u001f\u007f]*$"
#: Text and attachment ids: base64url without padding.
BASE64URL = r"^[A-Za-z0-9_-]+$"
#: A message id: eight bytes (folder number, UID) in base64url.
MESSAGE_ID = r"^[A-Za-z0-9_-]{10}[AEIMQUYcgkosw048]$"
#: An account id (the path parameter, and ``account`` of a new account).
ACCOUNT_ID = rf"^[^/\u0000-\u001f\u007f]{{1,{MAX_ID}}}$"
_SPECIAL_USES = ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash")


def ref(name: str) -> SchemaDict:
    """A reference to schema ``name`` of ``SCHEMAS``."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: SchemaDict) -> SchemaDict:
    """``schema`` or ``null``."""
    return {"anyOf": [schema, {"type": "null"}]}


def closed(
    properties: dict[str, SchemaDict], required: tuple[str, ...] = (), **more: Any
) -> SchemaDict:
    """An object with exactly these ``properties`` (``required`` ones always present)."""
    schema: SchemaDict = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    return schema | more


def _string(min_length: int = 0, max_length: int | None = None, **more: Any) -> SchemaDict:
    schema: SchemaDict = {"type": "string"}
    if min_length:
        schema["minLength"] = min_length
    if max_length is not None:
        schema["maxLength"] = max_length
    return schema | more


def _text(max_length: int, **more: Any) -> SchemaDict:
    """A non-empty string of at most ``max_length`` characters, no control characters."""
    return _string(1, max_length, pattern=NO_CONTROLS, **more)


def _integer(minimum: int = 0, maximum: int | None = None, **more: Any) -> SchemaDict:
    schema: SchemaDict = {"type": "integer", "minimum": minimum}
    if maximum is not None:
        schema["maximum"] = maximum
    return schema | more


def _array(items: SchemaDict, max_items: int | None = None, **more: Any) -> SchemaDict:
    schema: SchemaDict = {"type": "array", "items": items}
    if max_items is not None:
        schema["maxItems"] = max_items
    return schema | more


_BOOLEAN: SchemaDict = {"type": "boolean"}
_TRUE: SchemaDict = {"const": True}
_DATE_TIME = _string(format="date-time")
_EVENT_KIND: SchemaDict = {"type": "string", "enum": sorted(EVENT_KINDS)}
_STRINGS = _array({"type": "string"})


# -- errors -----------------------------------------------------------------------------

_ERROR = closed(
    {
        "statusCode": _integer(400, 599, description="the HTTP status again"),
        "error": _string(description="the status' reason phrase (`Bad Request`)"),
        "message": _string(description="what went wrong, for people"),
        "code": _string(description="what went wrong, for programs: stable across versions"),
        "fields": _array(
            closed({"message": _string(), "key": _string()}, ("message", "key")),
            description="with `InvalidInput`: every offending field, by its key path",
        ),
        "responseCode": _integer(description="with an SMTP failure: the server's reply number"),
    },
    ("statusCode", "error", "message", "code"),
    description="Every error, on every route.",
)


# -- accounts ---------------------------------------------------------------------------

_STATE: SchemaDict = {"type": "string", "enum": list(ACCOUNT_STATES)}
_TLS = closed(
    {
        "rejectUnauthorized": {"type": "boolean", "default": True},
        "minVersion": {"type": "string", "enum": list(TLS_VERSIONS)},
    }
)
_AUTH_INPUT = closed(
    {
        "user": _text(MAX_TEXT),
        "pass": _text(MAX_TEXT, description="a password; never answered"),
        "accessToken": _text(MAX_ACCESS_TOKEN, description="an OAuth2 token; never answered"),
    },
    ("user",),
    oneOf=[{"required": ["pass"]}, {"required": ["accessToken"]}],
)
_SERVER_INPUT: dict[str, SchemaDict] = {
    "host": _string(1, 253, description="host name or IP address"),
    "port": _integer(1, 65535),
    "secure": {"type": "boolean", "default": False, "description": "TLS from the start"},
    "tls": _TLS,
    "auth": _AUTH_INPUT,
    "useAuthServer": {
        "type": "boolean",
        "description": "ask the `authServer` setting for credentials at every connect",
    },
}
#: ``auth``, or ``useAuthServer: true``: one of the two.
_LOGIN_CHOICE: SchemaDict = {
    "oneOf": [
        {"required": ["auth"], "properties": {"useAuthServer": {"const": False}}},
        {
            "required": ["useAuthServer"],
            "properties": {"useAuthServer": _TRUE},
            "not": {"required": ["auth"]},
        },
    ]
}
_IMAP_INPUT = closed(
    _SERVER_INPUT | {"resyncDelay": _integer(1, 86400 * 365, default=DEFAULT_RESYNC_DELAY)},
    ("host", "port"),
    **_LOGIN_CHOICE,
)
_SMTP_INPUT = closed(_SERVER_INPUT, ("host", "port"), **_LOGIN_CHOICE)
_WEBHOOK_URL = _string(
    1, 2048, format="uri", description="an http(s) URL; credentials in it are sent as Basic auth"
)
_ACCOUNT_FIELDS: dict[str, SchemaDict] = {
    "name": _text(MAX_TEXT),
    "imap": ref("ImapSettings"),
    "smtp": {
        "anyOf": [ref("SmtpSettings"), {"const": False}],
        "description": "`false` removes the SMTP settings",
    },
    "copy": {"type": "boolean", "description": "keep a copy of sent mail in Sent"},
    "notifyFrom": _string(format="date-time", description="announce messages newer than this"),
    "webhooks": nullable(_WEBHOOK_URL)
    | {"description": 'the account\'s own webhook URL; `null` or `""` removes it'},
}
_ACCOUNT_CREATE = closed(
    {"account": _text(MAX_ID, description="the account's id, chosen by you")} | _ACCOUNT_FIELDS,
    ("account", "name"),
)
_ACCOUNT_UPDATE = closed(_ACCOUNT_FIELDS)

_SERVER_VIEW = closed(
    {
        "host": _string(),
        "port": _integer(1, 65535),
        "secure": _BOOLEAN,
        "tls": _TLS,
        "auth": closed({"user": _string()}, ("user",)),
        "useAuthServer": _TRUE,
        "resyncDelay": _integer(1),
    },
    ("host", "port", "secure", "tls"),
)
_LAST_ERROR = nullable(
    closed(
        {"response": _string(), "serverResponseCode": {"type": ["string", "null"]}},
        ("response", "serverResponseCode"),
    )
)
_ACCOUNT_ROW: dict[str, SchemaDict] = {
    "account": _string(),
    "name": _string(),
    "state": _STATE,
    "lastError": _LAST_ERROR | {"description": "why it is not connected; null when connected"},
    "stateChanged": _string(format="date-time", description="when `state` was entered"),
}
_ACCOUNT_SUMMARY = closed(_ACCOUNT_ROW, ("account", "name", "state", "lastError"))
_ACCOUNT = closed(
    _ACCOUNT_ROW
    | {
        "imap": nullable(_SERVER_VIEW),
        "smtp": nullable(_SERVER_VIEW),
        "copy": _BOOLEAN,
        "notifyFrom": _DATE_TIME,
        "webhooks": {"type": ["string", "null"], "description": "redacted: no credentials"},
        "counters": closed({"connectionAttempts": _integer()}, ("connectionAttempts",)),
    },
    ("account", "name", "state", "lastError", "imap", "smtp", "copy", "notifyFrom", "webhooks"),
    description="An account, without secrets (`auth` shows only the user).",
)


# -- events, settings, webhooks, stats --------------------------------------------------

_POSITION = _string(pattern=r"^[0-9]+-[0-9]+$", description="the event's place in the log")
_EVENT = closed(
    {
        "account": _string(),
        "date": _DATE_TIME,
        "path": _string(),
        "specialUse": _string(),
        "event": _EVENT_KIND,
        "data": {"type": "object", "description": "what happened; depends on `event`"},
        "id": _string(description="stable: the same change detected twice has the same id"),
        "position": _POSITION,
    },
    ("account", "date", "event", "data", "id", "position"),
    description="An event: the webhook payload plus its `position` in the log.",
)
_EVENT_PAGE = closed(
    {
        "events": _array(ref("Event")),
        "cursor": {"type": ["string", "null"], "description": "where to go on from"},
        "hasMore": {"type": "boolean", "description": "true: ask again at once"},
    },
    ("events", "cursor", "hasMore"),
)

_LOGS_SETTING = closed(
    {
        "all": _BOOLEAN,
        "accounts": _array(_text(MAX_ID)),
        "maxLogLines": _integer(0, MAX_LOG_LINES),
        "resetLoggedAccounts": {"type": "boolean", "description": "a command, never stored"},
    }
)
_SETTINGS_INPUT = closed(
    {
        "webhooks": nullable(_WEBHOOK_URL),
        "webhookEvents": nullable(_array({"anyOf": [_EVENT_KIND, {"const": "*"}]})),
        "notifyText": nullable(_BOOLEAN),
        "notifyTextSize": nullable(_integer(0)),
        "notifyHeaders": nullable(
            _array(_string(1, 256, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"))
        ),
        "webhookSecret": nullable(_string(1, MAX_SECRET_LENGTH)),
        "authServer": nullable({"anyOf": [_WEBHOOK_URL, {"const": ""}]}),
        "logs": nullable(_LOGS_SETTING),
    },
    description="Any subset of the settings; `null` unsets a key.",
)
_SETTINGS = closed(
    {
        "webhooks": {"type": ["string", "null"]},
        "webhookEvents": nullable(_STRINGS),
        "notifyText": {"type": ["boolean", "null"]},
        "notifyTextSize": {"type": ["integer", "null"]},
        "notifyHeaders": nullable(_STRINGS),
        "webhookSecret": {"enum": [SECRET_MASK, None], "description": "never in clear"},
        "authServer": {"type": ["string", "null"]},
        "logs": nullable(
            closed(
                {"all": _BOOLEAN, "accounts": _STRINGS, "maxLogLines": _integer()},
                ("all", "accounts", "maxLogLines"),
            )
        ),
        "eventTypes": _array(_EVENT_KIND),
    },
    description="The keys asked for; `null` for unset ones.",
)

_LAG_SECONDS: SchemaDict = {"type": "number", "minimum": 0}
_DESTINATION = closed(
    {
        "destination": _string(description="`global`, or `account:<id>`"),
        "url": _string(description="redacted: no credentials, the query as `?…`"),
        "state": {
            "type": "string",
            "enum": ["starting", "idle", "delivering", "retrying", "stopped"],
        },
        "cursor": {"type": ["string", "null"]},
        "lag": closed({"events": _integer(), "seconds": _LAG_SECONDS}, ("events", "seconds")),
        "oldestUndelivered": nullable(
            closed(
                {
                    "id": _string(),
                    "position": _POSITION,
                    "event": _EVENT_KIND,
                    "account": _string(),
                    "loggedAt": {"type": ["string", "null"], "format": "date-time"},
                },
                ("id", "position", "event", "account", "loggedAt"),
            )
        ),
        "attempts": _integer(),
        "delivered": _integer(),
        "lastError": nullable(
            closed(
                {"message": _string(), "at": {"type": ["string", "null"], "format": "date-time"}},
                ("message", "at"),
            )
        ),
    },
    (
        "destination",
        "url",
        "state",
        "cursor",
        "lag",
        "oldestUndelivered",
        "attempts",
        "delivered",
        "lastError",
    ),
)
_REPLAY_INPUT = closed(
    {
        "from": {
            "anyOf": [_POSITION, _DATE_TIME],
            "description": "an event `position` (restart with it) or an ISO 8601 time",
        },
        "destination": _string(1, 1024, description="one destination; absent: all of them"),
    },
    ("from",),
)

_STATS = closed(
    {
        "version": _string(),
        "license": {"type": ["string", "null"]},
        "uptime": {"type": "number", "minimum": 0, "description": "seconds"},
        "accounts": _integer(description="registered accounts"),
        "connections": closed(
            {state: _integer() for state in ACCOUNT_STATES},
            ACCOUNT_STATES,
            description="account connections in each state",
        ),
        "events": closed(
            {"latest": {"type": ["string", "null"], "description": "the newest event's position"}},
            ("latest",),
        ),
        "webhooks": {
            "type": "object",
            "additionalProperties": closed(
                {
                    "state": _string(),
                    "lagEvents": _integer(),
                    "lagSeconds": _LAG_SECONDS,
                },
                ("state", "lagEvents", "lagSeconds"),
            ),
            "description": "by destination",
        },
    },
    ("version", "license", "uptime", "accounts", "connections", "events", "webhooks"),
)
_HEALTH = closed(
    {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "version": _string(),
        "uptime": {"type": "number", "minimum": 0},
        "redis": closed(
            {
                "reachable": _BOOLEAN,
                "version": {"type": ["string", "null"]},
                "latencyMs": {"type": ["number", "null"]},
                "private": {"type": "boolean", "description": "trimap runs its own redis-server"},
                "error": _string(description="why Redis is unreachable"),
            },
            ("reachable", "version", "latencyMs", "private"),
        ),
    },
    ("status", "version", "uptime", "redis"),
)


# -- verifyAccount ------------------------------------------------------------------------

_VERIFY_INPUT = closed(
    {
        "imap": {"anyOf": [ref("ImapSettings"), {"enum": [False, None]}]},
        "smtp": {"anyOf": [ref("SmtpSettings"), {"enum": [False, None]}]},
        "account": _string(
            0, MAX_ID, description="the id the auth server is asked about (`useAuthServer`)"
        ),
    },
    anyOf=[
        {"required": ["imap"], "properties": {"imap": {"type": "object"}}},
        {"required": ["smtp"], "properties": {"smtp": {"type": "object"}}},
    ],
)
_VERIFICATION: SchemaDict = {
    "oneOf": [
        closed(
            {
                "success": _TRUE,
                "folders": _integer(description="IMAP: how many folders LIST returned"),
                "specialUse": {
                    "type": "object",
                    "additionalProperties": _string(),
                    "description": "IMAP: special-use attribute → folder path",
                },
            },
            ("success",),
        ),
        closed(
            {
                "success": {"const": False},
                "error": _string(),
                "code": {"type": ["string", "null"]},
                "cod": {"type": ["string", "null"], "description": "`code` again, misspelt"},
                "statusCode": _integer(description="SMTP: the reply number"),
            },
            ("success", "error", "code", "cod"),
        ),
    ]
}
_VERIFY = closed({"imap": _VERIFICATION, "smtp": _VERIFICATION})


# -- folders ------------------------------------------------------------------------------

_PATH = _text(MAX_PATH, description="a folder path, as listed")
_PATH_OR_SEGMENTS: SchemaDict = {
    "anyOf": [_PATH, _array(_PATH, minItems=1)],
    "description": "a whole path, or segments joined with the server's delimiter",
}
_MAILBOX = closed(
    {
        "path": _string(),
        "name": _string(),
        "delimiter": {"type": ["string", "null"]},
        "parentPath": _string(),
        "specialUse": _string(examples=["\\Inbox", *_SPECIAL_USES]),
        "listed": _TRUE,
        "subscribed": _BOOLEAN,
        "messages": _integer(),
        "unseen": _integer(),
        "uidNext": _integer(1),
    },
    ("path", "name", "delimiter", "listed", "subscribed"),
)
_MAILBOX_CREATE = closed({"path": _PATH_OR_SEGMENTS}, ("path",))
_MAILBOX_UPDATE = closed(
    {"path": _PATH, "newPath": _PATH_OR_SEGMENTS, "subscribed": _BOOLEAN},
    ("path",),
    anyOf=[{"required": ["newPath"]}, {"required": ["subscribed"]}],
)


# -- messages -----------------------------------------------------------------------------

_ADDRESS = closed({"name": _string(), "address": {"type": ["string", "null"]}}, ("name", "address"))
_ATTACHMENT = closed(
    {
        "id": _string(pattern=BASE64URL, description="for `GET .../attachment/{attachment}`"),
        "contentType": _string(),
        "encodedSize": _integer(),
        "filename": {"anyOf": [_string(), {"const": False}]},
        "embedded": _BOOLEAN,
        "inline": _BOOLEAN,
        "contentId": _string(),
    },
    ("id", "contentType", "filename", "embedded", "inline"),
)
_ENCODED_SIZE: SchemaDict = {
    "type": "object",
    "additionalProperties": _integer(),
    "description": "encoded bytes of the text parts, by subtype",
}
_SUMMARY_FIELDS: dict[str, SchemaDict] = {
    "id": _string(pattern=MESSAGE_ID),
    "uid": _integer(1),
    "emailId": _string(),
    "threadId": _string(),
    "labels": _STRINGS,
    "date": _DATE_TIME,
    "unseen": _TRUE,
    "flagged": _TRUE,
    "answered": _TRUE,
    "draft": _TRUE,
    "size": _integer(),
    "subject": _string(),
    "from": ref("Address"),
    "to": _array(ref("Address")),
    "cc": _array(ref("Address")),
    "attachments": _array(ref("Attachment")),
    "messageId": _string(),
    "inReplyTo": _string(),
    "text": closed(
        {"id": _string(pattern=BASE64URL), "encodedSize": _ENCODED_SIZE}, ("id", "encodedSize")
    ),
}
_MESSAGE_SUMMARY = closed(_SUMMARY_FIELDS, ("id", "uid"))
_MESSAGE = closed(
    _SUMMARY_FIELDS
    | {
        "flags": _STRINGS,
        "replyTo": ref("Address"),
        "sender": ref("Address"),
        "bcc": _array(ref("Address")),
        "headers": {
            "type": "object",
            "additionalProperties": _STRINGS,
            "description": "lower-case name → raw values",
        },
        "text": closed(
            {
                "id": _string(pattern=BASE64URL),
                "encodedSize": _ENCODED_SIZE,
                "plain": _string(),
                "html": _string(),
                "hasMore": _BOOLEAN,
            },
            ("id", "encodedSize"),
        ),
    },
    ("id", "uid"),
    description="A message in full: the summary plus flags, more addresses and headers.",
)
_MESSAGE_PAGE = closed(
    {
        "total": _integer(description="messages (or matches) when the page was read"),
        "page": _integer(),
        "pages": _integer(1),
        "messages": _array(ref("MessageSummary")),
        "nextCursor": {"type": ["string", "null"], "description": "the page after this one"},
    },
    ("total", "page", "pages", "messages", "nextCursor"),
)
_TEXT = {
    "type": "object",
    "properties": {"plain": _string(), "html": _string(), "hasMore": _BOOLEAN},
    "required": ["hasMore"],
    "additionalProperties": _string(),
    "description": "decoded text by kind; other text subtypes under their own name",
}

_SEARCH_TEXT = _text(criteria.MAX_TEXT)
_MESSAGE_SET: SchemaDict = {
    "anyOf": [
        _string(
            1,
            4096,
            pattern=r"^(\*|[1-9][0-9]{0,8})(:(\*|[1-9][0-9]{0,8}))?"
            r"(,(\*|[1-9][0-9]{0,8})(:(\*|[1-9][0-9]{0,8}))?)*$",
        ),
        _integer(1, 4294967295),
    ]
}
_SEARCH_DATE: SchemaDict = {
    "anyOf": [_string(format="date"), _DATE_TIME, _integer(0, 253402300799999)],
    "description": "ISO 8601 (UTC), or milliseconds since the epoch; IMAP compares whole days",
}
_CRITERIA = closed(
    {"seq": _MESSAGE_SET, "uid": _MESSAGE_SET}
    | {flag: _BOOLEAN for flag in ("answered", "deleted", "draft", "flagged", "seen", "unseen")}
    | {field: _SEARCH_TEXT for field in ("from", "to", "cc", "bcc", "subject", "body")}
    | {"larger": _integer(0, criteria.MAX_SIZE), "smaller": _integer(0, criteria.MAX_SIZE)}
    | {"modseq": _integer(0, criteria.MAX_MODSEQ)}
    | {field: _SEARCH_DATE for field in ("before", "since", "sentBefore", "sentSince")}
    | {
        "emailId": _string(1, criteria.MAX_TEXT, pattern=BASE64URL),
        "threadId": _string(1, criteria.MAX_TEXT, pattern=BASE64URL),
        "header": {
            "type": "object",
            "propertyNames": {"pattern": r"^[!-9;-~]+$"},
            "additionalProperties": {"anyOf": [_SEARCH_TEXT, _TRUE]},
            "description": "header name → a value it contains, or `true`: it is present",
        },
    },
    description="Every criterion must match; `{}` matches every message.",
)

#: An IMAP flag: an atom, optionally after one backslash (``\\Seen``, ``$Work``).
_FLAG = _string(1, MAX_FLAG_LENGTH, pattern=r"^\\?[!#$&'+,\-./0-9:;<=>?@A-Z\[^_`a-z|}~]+$")
_LABEL = _string(1, MAX_FLAG_LENGTH)


def _flag_change(item: SchemaDict) -> SchemaDict:
    items = _array(item, MAX_FLAGS)
    return closed(
        {"add": items, "delete": items, "set": items},
        description="`set` replaces them all and wins over `add` and `delete`",
    )


_APPLIED = closed({"add": _TRUE, "delete": _TRUE, "set": _TRUE})
_MESSAGE_UPDATE = closed({"flags": _flag_change(_FLAG), "labels": _flag_change(_LABEL)})
_MESSAGE_UPDATED = closed({"flags": _APPLIED, "labels": _APPLIED})
_MOVE_INPUT = closed({"path": _PATH}, ("path",))
_NEW_PLACE: dict[str, SchemaDict] = {
    "id": _string(pattern=MESSAGE_ID, description="the new id, where the server has UIDPLUS"),
    "uid": _integer(1),
}
_MOVED = closed({"path": _string()} | _NEW_PLACE, ("path",))
_DELETED: SchemaDict = {
    "oneOf": [
        closed({"deleted": _TRUE}, ("deleted",)),
        closed(
            {
                "deleted": {"const": False},
                "moved": closed({"destination": _string()} | _NEW_PLACE, ("destination",)),
            },
            ("deleted", "moved"),
        ),
    ]
}
_SELECTION: dict[str, SchemaDict] = {
    "ids": _array(_string(pattern=MESSAGE_ID), MAX_BULK, minItems=1),
    "search": ref("SearchCriteria"),
}
_ONE_SELECTION = [{"required": ["ids"]}, {"required": ["search"]}]
_BULK_UPDATE = closed(
    _SELECTION | {"flags": _flag_change(_FLAG), "labels": _flag_change(_LABEL)},
    oneOf=_ONE_SELECTION,
)
_BULK_UPDATED = closed({"matched": _integer(), "flags": _APPLIED, "labels": _APPLIED}, ("matched",))
_BULK_MOVE = closed(_SELECTION | {"path": _PATH}, ("path",), oneOf=_ONE_SELECTION)
_BULK_MOVED = closed(
    {
        "path": _string(),
        "moved": _integer(),
        "ids": {"type": "object", "additionalProperties": _string(), "description": "old → new"},
    },
    ("path", "moved"),
)


# -- composing (upload; submit takes the same fields) -------------------------------------

_HEADER_SAFE = r"^[^\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]*$"
_ADDRESS_INPUT = closed(
    {
        "name": _string(0, MAX_STRING, pattern=_HEADER_SAFE),
        "address": _string(1, MAX_STRING, format="email"),
    },
    ("address",),
)
_ADDRESSES = _array(ref("AddressInput"), MAX_RECIPIENTS)
_ATTACHMENT_INPUT = closed(
    {
        "filename": _string(0, MAX_STRING, pattern=_HEADER_SAFE),
        "content": _string(
            pattern=r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
            contentEncoding="base64",
            description="base64 (white space is ignored)",
        ),
        "contentType": _string(
            1, MAX_STRING, pattern=r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$"
        ),
        "contentDisposition": {"type": "string", "enum": ["inline", "attachment"]},
        "cid": _string(1, MAX_STRING, pattern=r"^<?[!-;=?-~]+>?$"),
        "encoding": {"const": "base64"},
    },
    ("content",),
)
_COMPOSE_FIELDS: dict[str, SchemaDict] = {
    "from": ref("AddressInput"),
    "to": _ADDRESSES,
    "cc": _ADDRESSES,
    "bcc": _ADDRESSES,
    "subject": _string(0, MAX_SUBJECT, pattern=_HEADER_SAFE),
    "text": _string(),
    "html": _string(),
    "attachments": _array(ref("AttachmentInput"), MAX_ATTACHMENTS),
    "messageId": _string(1, MAX_MESSAGE_ID, pattern=r"^<?[!-;=?-~]+@[!-;=?-~]+>?$"),
    "headers": {
        "type": "object",
        "maxProperties": MAX_HEADERS,
        "propertyNames": {"pattern": r"^[!-9;-~]{1,76}$"},
        "additionalProperties": _string(0, MAX_HEADER_VALUE, pattern=_HEADER_SAFE),
        "description": "more header fields; not those other fields set",
    },
    "reference": closed(
        {
            "message": _string(
                pattern=MESSAGE_ID, description="the message id replied to or forwarded"
            ),
            "action": {"type": "string", "enum": ["reply", "forward"], "default": "reply"},
            "attachOriginal": {"type": "boolean", "description": "a forward only"},
        },
        ("message",),
    ),
}
_UPLOAD = closed(
    _COMPOSE_FIELDS
    | {
        "path": _PATH,
        "flags": _array(_FLAG, MAX_FLAGS),
        "internalDate": _DATE_TIME,
    },
    ("path",),
)
_UPLOADED = closed(
    {
        "path": _string(),
        "id": _string(pattern=MESSAGE_ID),
        "uid": _integer(1),
        "uidValidity": _string(pattern=r"^[0-9]+$"),
        "messageId": _string(),
    },
    ("path", "messageId"),
)

_SUBMIT = closed(
    _COMPOSE_FIELDS
    | {
        "sendAt": _string(format="date-time", description="send later (queued)"),
        "queue": {"type": "boolean", "description": "send in the background now (queued)"},
    },
    anyOf=[
        {"required": [field], "properties": {field: {"minItems": 1}}}
        for field in ("to", "cc", "bcc")
    ],
    description="At least one recipient; `from` defaults to the SMTP login.",
)
_SENT = closed(
    {
        "response": _string(description="the SMTP server's final reply"),
        "messageId": _string(),
        "refused": _array(
            closed({"address": _string(), "response": _string()}, ("address", "response"))
        ),
        "flagged": _string(description="the flag set on the original (`\\Answered` ...)"),
        "sentCopy": _string(description="the folder the copy went to"),
    },
    ("response", "messageId"),
)
_QUEUED = closed(
    {"queueId": _string(), "messageId": _string(), "sendAt": _DATE_TIME},
    ("queueId", "messageId", "sendAt"),
)
_OUTBOX_ENTRY = closed(
    {
        "queueId": _string(),
        "account": _string(),
        "messageId": _string(),
        "sendAt": _DATE_TIME,
        "created": _DATE_TIME,
        "attempts": _integer(),
        "lastError": {"type": ["object", "null"], "description": "the last failure"},
    },
    ("queueId", "account", "messageId", "sendAt", "created", "attempts", "lastError"),
)

#: ``components.schemas`` of the document.
SCHEMAS: dict[str, SchemaDict] = {
    "Error": _ERROR,
    "Health": _HEALTH,
    "ImapSettings": _IMAP_INPUT,
    "SmtpSettings": _SMTP_INPUT,
    "AccountCreate": _ACCOUNT_CREATE,
    "AccountUpdate": _ACCOUNT_UPDATE,
    "Account": _ACCOUNT,
    "AccountSummary": _ACCOUNT_SUMMARY,
    "Event": _EVENT,
    "EventPage": _EVENT_PAGE,
    "SettingsUpdate": _SETTINGS_INPUT,
    "Settings": _SETTINGS,
    "WebhookDestination": _DESTINATION,
    "Replay": _REPLAY_INPUT,
    "Stats": _STATS,
    "VerifyRequest": _VERIFY_INPUT,
    "Verification": _VERIFICATION,
    "VerifyAnswer": _VERIFY,
    "Mailbox": _MAILBOX,
    "MailboxCreate": _MAILBOX_CREATE,
    "MailboxUpdate": _MAILBOX_UPDATE,
    "Address": _ADDRESS,
    "Attachment": _ATTACHMENT,
    "MessageSummary": _MESSAGE_SUMMARY,
    "Message": _MESSAGE,
    "MessagePage": _MESSAGE_PAGE,
    "Text": _TEXT,
    "SearchCriteria": _CRITERIA,
    "MessageUpdate": _MESSAGE_UPDATE,
    "MessageUpdated": _MESSAGE_UPDATED,
    "Move": _MOVE_INPUT,
    "Moved": _MOVED,
    "Deleted": _DELETED,
    "BulkUpdate": _BULK_UPDATE,
    "BulkUpdated": _BULK_UPDATED,
    "BulkMove": _BULK_MOVE,
    "BulkMoved": _BULK_MOVED,
    "AddressInput": _ADDRESS_INPUT,
    "AttachmentInput": _ATTACHMENT_INPUT,
    "Upload": _UPLOAD,
    "Uploaded": _UPLOADED,
    "Submit": _SUBMIT,
    "Sent": _SENT,
    "Queued": _QUEUED,
    "OutboxEntry": _OUTBOX_ENTRY,
}
