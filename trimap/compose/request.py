"""A message to compose, as the API describes it: the reference's submit fields, validated.

How it works: ``parse_compose(fields)`` reads the JSON object of a submit or an
upload request -- ``from``, ``to``, ``cc``, ``bcc``, ``subject``, ``text``,
``html``, ``attachments``, ``messageId``, ``headers``, ``reference`` -- into a
``ComposeRequest``, or raises ``InvalidCompose`` whose ``fields`` name every
offending key at once (``to.1.address``, ``attachments.0.filename``,
``headers.X-Tag``).  A route with keys of its own (an upload's ``path``)
takes them out before and reports its problems together with these.
``trimap.compose.build`` turns the request into MIME.

Rules it keeps:

* Nothing that ends up in a header can leave it: line breaks (CR, LF and the
  other characters Python splits lines at), NUL and every other control
  character are refused in subjects, names, addresses, filenames, content
  types, content ids, message ids and custom headers -- a 400 naming the
  field, never an injected header.  Tabs are allowed in free text.
* Addresses are ``{"name"?, "address"}`` objects; an address is
  ``local@domain`` with an RFC 5322 dot-atom local part (ASCII) and a domain
  of DNS labels, a non-ASCII domain IDNA-encoded.
* Custom headers cannot replace what other fields or the MIME structure
  write (``From``, ``Subject``, ``Content-Type`` ...); ``Date`` must be an
  RFC 5322 date; ``In-Reply-To``/``References`` only without ``reference``.
* Attachment content is strict base64 (white space ignored); the content
  type is ``type/subtype``, guessed from the filename when absent.
* Limits: the reference's where it had them (``subject`` 1024 characters,
  strings 256), generous ones elsewhere; the request body as a whole is
  bounded by ``api.maxSize``.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from trimap.fielderrors import InvalidFields

__all__ = [
    "COMPOSE_KEYS",
    "MESSAGE_TYPE",
    "Attachment",
    "ComposeRequest",
    "InvalidCompose",
    "MailAddress",
    "Reference",
    "has_line_break",
    "parse_compose",
]

COMPOSE_KEYS = frozenset(
    {"from", "to", "cc", "bcc", "subject", "text", "html", "attachments", "messageId"}
    | {"headers", "reference"}
)
MAX_SUBJECT = 1024
MAX_STRING = 256
MAX_RECIPIENTS = 1000  # per list
MAX_ATTACHMENTS = 1000
MAX_HEADERS = 100
MAX_HEADER_VALUE = 4096
MAX_MESSAGE_ID = 250
DEFAULT_TYPE = "application/octet-stream"
MESSAGE_TYPE = "message/rfc822"

#: Header fields other fields or the MIME structure write.
RESERVED_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "subject", "message-id", "mime-version"}
    | {"content-type", "content-transfer-encoding", "content-disposition", "content-id"}
)
THREAD_HEADERS = frozenset({"in-reply-to", "references"})

# Control characters, and everything str.splitlines() (and so the email package) breaks at.
_LINE_BREAK = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_WHITE_SPACE = re.compile(r"\s")
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)
_FIELD_NAME = re.compile(r"[!-9;-~]{1,76}")  # RFC 5322 ftext
_TOKEN = r"[A-Za-z0-9!#$&^_.+-]+"
_CONTENT_TYPE = re.compile(f"{_TOKEN}/{_TOKEN}")
_ID_CHARS = re.compile(r"[!-;=?-~]+")  # visible ASCII but "<" and ">"
_DOT_ATOM = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*"
#: RFC 5322 msg-id: dot-atom-text "@" (dot-atom-text / no-fold-literal), brackets optional.
_MESSAGE_ID = re.compile(rf"<?({_DOT_ATOM}@(?:{_DOT_ATOM}|\[[!-Z^-~]*\]))>?")

Disposition = Literal["inline", "attachment"]
_DISPOSITIONS: dict[str, Disposition] = {"inline": "inline", "attachment": "attachment"}
_ATTACHMENT_KEYS = frozenset(
    {"filename", "content", "contentType", "contentDisposition", "cid", "encoding"}
)
Action = Literal["reply", "forward"]


class InvalidCompose(InvalidFields):
    """A compose request failed validation; ``fields`` maps each field key to what is wrong."""


@dataclass(frozen=True, slots=True)
class MailAddress:
    """``{"name", "address"}``; ``address`` is ASCII (a non-ASCII domain IDNA-encoded)."""

    address: str
    name: str = ""

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment, decoded; ``cid`` without angle brackets."""

    content: bytes
    content_type: str
    disposition: Disposition
    filename: str | None = None
    cid: str | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    """The message this one replies to or forwards (a message id of the API)."""

    message: str
    action: Action = "reply"
    attach_original: bool = False  # a forward carries the original as message/rfc822


@dataclass(frozen=True, slots=True)
class ComposeRequest:
    """A validated compose request (see the module comment)."""

    sender: MailAddress | None = None
    to: tuple[MailAddress, ...] = ()
    cc: tuple[MailAddress, ...] = ()
    bcc: tuple[MailAddress, ...] = ()
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    message_id: str | None = None  # with angle brackets
    headers: tuple[tuple[str, str], ...] = ()
    reference: Reference | None = None


def has_line_break(value: str) -> bool:
    """Whether ``value`` holds a line break or another control character (tab aside)."""
    return _LINE_BREAK.search(value) is not None


class _Reader:
    """Collects every problem of one request as ``{key: message}``."""

    def __init__(self) -> None:
        self.problems: dict[str, str] = {}

    def fail(self, key: str, message: str) -> None:
        self.problems.setdefault(key, message)

    def string(
        self, value: Any, key: str, *, max_length: int | None = MAX_STRING, header: bool = True
    ) -> str | None:
        """A string (``None`` if absent); ``header`` refuses line breaks and controls."""
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(key, f'"{key}" must be a string')
        elif max_length is not None and len(value) > max_length:
            self.fail(key, f'"{key}" must be at most {max_length} characters')
        elif header and has_line_break(value):
            self.fail(key, f'"{key}" must not contain line breaks or control characters')
        else:
            return value
        return None

    def items(self, value: Any, key: str, max_items: int) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, f'"{key}" must be an array')
            return []
        if len(value) > max_items:
            self.fail(key, f'"{key}" must have at most {max_items} items')
            return []
        return value

    def object(self, value: Any, key: str, allowed: frozenset[str]) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.fail(key, f'"{key}" must be an object')
            return None
        for name in value:
            if name not in allowed:
                self.fail(f"{key}.{name}", f'"{key}.{name}" is not allowed')
        return value

    # -- addresses -------------------------------------------------------------------

    def address(self, value: Any, key: str) -> MailAddress | None:
        fields = self.object(value, key, frozenset({"name", "address"}))
        if fields is None:
            return None
        name = self.string(fields.get("name"), f"{key}.name") or ""
        address = self.string(fields.get("address"), f"{key}.address")
        if address is None:
            if "address" not in fields:
                self.fail(f"{key}.address", f'"{key}.address" is required')
            return None
        checked = _addr_spec(address)
        if checked is None:
            self.fail(f"{key}.address", f'"{key}.address" must be a valid email address')
            return None
        return MailAddress(checked, name)

    def addresses(self, value: Any, key: str) -> tuple[MailAddress, ...]:
        found = (
            self.address(item, f"{key}.{n}")
            for n, item in enumerate(self.items(value, key, MAX_RECIPIENTS))
        )
        return tuple(address for address in found if address is not None)

    # -- attachments -----------------------------------------------------------------

    def attachment(self, value: Any, key: str) -> Attachment | None:
        fields = self.object(value, key, _ATTACHMENT_KEYS)
        if fields is None:
            return None
        before = len(self.problems)
        filename = self.string(fields.get("filename"), f"{key}.filename")
        cid = self.string(fields.get("cid"), f"{key}.cid")
        if cid is not None:
            cid = cid.removeprefix("<").removesuffix(">")
            if not _ID_CHARS.fullmatch(cid):
                self.fail(f"{key}.cid", f'"{key}.cid" must be visible ASCII without "<" or ">"')
        content_type = self.string(fields.get("contentType"), f"{key}.contentType")
        if content_type is None:
            guessed = mimetypes.guess_type(filename)[0] if filename else None
            content_type = guessed if guessed and _attachable(guessed) else DEFAULT_TYPE
        elif not _CONTENT_TYPE.fullmatch(content_type) or not _attachable(content_type):
            self.fail(
                f"{key}.contentType",
                f'"{key}.contentType" must be "type/subtype", not multipart or message '
                "(but message/rfc822)",
            )
        raw_disposition = fields.get("contentDisposition", "inline" if cid else "attachment")
        disposition = (
            _DISPOSITIONS.get(raw_disposition) if isinstance(raw_disposition, str) else None
        )
        if disposition is None:
            self.fail(
                f"{key}.contentDisposition",
                f'"{key}.contentDisposition" must be inline or attachment',
            )
        if fields.get("encoding", "base64") != "base64":
            self.fail(f"{key}.encoding", f'"{key}.encoding" must be base64')
        content = self._base64(fields.get("content"), f"{key}.content")
        if content is None or disposition is None or len(self.problems) > before:
            return None
        return Attachment(content, content_type.lower(), disposition, filename, cid)

    def _base64(self, value: Any, key: str) -> bytes | None:
        if value is None:
            self.fail(key, f'"{key}" is required')
            return None
        if not isinstance(value, str):
            self.fail(key, f'"{key}" must be a base64 string')
            return None
        try:
            return base64.b64decode(_WHITE_SPACE.sub("", value), validate=True)
        except (binascii.Error, ValueError):
            self.fail(key, f'"{key}" must be valid base64')
            return None

    # -- the rest --------------------------------------------------------------------

    def message_id(self, value: Any, key: str) -> str | None:
        text = self.string(value, key, max_length=MAX_MESSAGE_ID)
        if text is None:
            return None
        found = _MESSAGE_ID.fullmatch(text)
        if found is None:
            self.fail(key, f'"{key}" must look like <local@domain>')
            return None
        return f"<{found[1]}>"

    def headers(self, value: Any, key: str, *, threaded: bool) -> tuple[tuple[str, str], ...]:
        if value is None:
            return ()
        if not isinstance(value, Mapping):
            self.fail(key, f'"{key}" must be an object')
            return ()
        if len(value) > MAX_HEADERS:
            self.fail(key, f'"{key}" must have at most {MAX_HEADERS} headers')
            return ()
        found: list[tuple[str, str]] = []
        for name, raw in value.items():
            field = f"{key}.{name}"
            text = self.string(raw, field, max_length=MAX_HEADER_VALUE)
            lowered = name.lower()
            if not _FIELD_NAME.fullmatch(name):
                self.fail(field, f'"{name}" is not a header field name')
            elif lowered in RESERVED_HEADERS:
                self.fail(field, f'"{name}" is set by the message fields, not in "{key}"')
            elif lowered in THREAD_HEADERS and threaded:
                self.fail(field, f'"{name}" is set from "reference"; send one or the other')
            elif text is not None and lowered == "date" and not _is_date(text):
                self.fail(field, f'"{name}" must be an RFC 5322 date')
            elif text is not None:
                found.append((name, text))
        return tuple(found)

    def reference(self, value: Any, key: str) -> Reference | None:
        if value is None:
            return None
        fields = self.object(value, key, frozenset({"message", "action", "attachOriginal"}))
        if fields is None:
            return None
        message = self.string(fields.get("message"), f"{key}.message")
        if message is None and "message" not in fields:
            self.fail(f"{key}.message", f'"{key}.message" is required')
        action = fields.get("action", "reply")
        if action not in ("reply", "forward"):
            self.fail(f"{key}.action", f'"{key}.action" must be reply or forward')
            return None
        attach = fields.get("attachOriginal", False)
        if not isinstance(attach, bool):
            self.fail(f"{key}.attachOriginal", f'"{key}.attachOriginal" must be a boolean')
            return None
        if attach and action != "forward":
            self.fail(f"{key}.attachOriginal", "only a forward can attach the original")
            return None
        return Reference(message, action, attach) if message is not None else None


def _attachable(content_type: str) -> bool:
    """Multipart types are structure, not content; of the message types only
    ``message/rfc822`` can be attached (as it is, never base64-encoded)."""
    lowered = content_type.lower()
    return not lowered.startswith(("multipart/", "message/")) or lowered == MESSAGE_TYPE


def _addr_spec(address: str) -> str | None:
    """``address`` as an ASCII addr-spec, or None if it is not one."""
    local, at, domain = address.rpartition("@")
    if not at or not _LOCAL_PART.fullmatch(local) or len(local) > 64:
        return None
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if not _DOMAIN.fullmatch(domain) or len(domain) > 253:
        return None
    return f"{local}@{domain}"


def _is_date(value: str) -> bool:
    try:
        parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return False
    return True


def parse_compose(fields: Mapping[str, Any]) -> ComposeRequest:
    """The ``ComposeRequest`` of ``fields``; ``InvalidCompose`` names every problem.

    Keys outside ``COMPOSE_KEYS`` are refused: a caller with keys of its own
    removes them first.
    """
    read = _Reader()
    for key in fields:
        if key not in COMPOSE_KEYS:
            read.fail(key, f'"{key}" is not allowed')
    sender = read.address(fields["from"], "from") if fields.get("from") is not None else None
    reference = read.reference(fields.get("reference"), "reference")
    attachments = (
        read.attachment(item, f"attachments.{n}")
        for n, item in enumerate(
            read.items(fields.get("attachments"), "attachments", MAX_ATTACHMENTS)
        )
    )
    request = ComposeRequest(
        sender=sender,
        to=read.addresses(fields.get("to"), "to"),
        cc=read.addresses(fields.get("cc"), "cc"),
        bcc=read.addresses(fields.get("bcc"), "bcc"),
        subject=read.string(fields.get("subject"), "subject", max_length=MAX_SUBJECT),
        text=read.string(fields.get("text"), "text", max_length=None, header=False),
        html=read.string(fields.get("html"), "html", max_length=None, header=False),
        attachments=tuple(item for item in attachments if item is not None),
        message_id=read.message_id(fields.get("messageId"), "messageId"),
        headers=read.headers(
            fields.get("headers"), "headers", threaded=fields.get("reference") is not None
        ),
        reference=reference,
    )
    if read.problems:
        raise InvalidCompose(read.problems)
    return request
