"""MIME from a ``ComposeRequest``, with the standard library's ``email`` package.

How it works: ``build_message(request, original, keep_bcc=...)`` returns the
message's bytes and its Message-ID.  The body is the smallest structure that
holds what was asked for:

==================================  ==========================================
request                             body
==================================  ==========================================
``text`` or ``html`` alone          ``text/plain`` or ``text/html``
both                                ``multipart/alternative`` (text, then html)
``html`` and attachments with cid   the html becomes ``multipart/related``
                                    (html, then the inline parts)
other attachments, or a forward     ``multipart/mixed`` (body, attachments,
                                    then the original as ``message/rfc822``)
nothing                             an empty ``text/plain``
==================================  ==========================================

Headers come first, in this order: From, To, Cc, Bcc (only with
``keep_bcc``: a draft keeps its Bcc, a message handed to SMTP must not),
Subject, Date, Message-ID, In-Reply-To, References, the custom headers, then
MIME-Version and the body's own.  A Date and a Message-ID
(``<uuid@sender's domain>``) are generated unless given.

A reply or a forward (``original``, read from the mailbox by
``trimap.mailbox.reference``) threads as RFC 5322 3.6.4 says: References is
the parent's References (or its In-Reply-To) followed by its Message-ID --
the reference product put the parent first (weakness 12); a reply's
In-Reply-To is the parent's Message-ID; without a subject, ``Re: `` or
``Fwd: `` is put before the parent's unless it is already there.  A forward
attaches the original message byte for byte.  Flags such as ``\\Answered``
are not this module's business.

Encodings (the policy is ``email.policy.SMTP`` with 7-bit transfer
encodings): text bodies are UTF-8, sent as 7bit when they are short-lined
ASCII, otherwise as quoted-printable or base64, whichever is shorter; other
attachments are base64; non-ASCII header text is RFC 2047 encoded words, and
non-ASCII (or long) filenames are RFC 2231 parameters; lines end in CRLF.  A
``message/rfc822`` part is never re-encoded (RFC 2046 allows only 7bit and
8bit there): its bytes are kept, with CRLF line ends.

Rules it keeps: the request is validated (``trimap.compose.request``), and
the ``email`` package refuses line breaks in header values as well, so no
value can add a header; nothing here does I/O.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.generator import BytesGenerator
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime
from io import BytesIO

from trimap.compose.request import MESSAGE_TYPE, Action, Attachment, ComposeRequest, MailAddress

__all__ = ["POLICY", "BuiltMessage", "Original", "build_message", "references_of"]

POLICY = policy.SMTP.clone(cte_type="7bit")
FALLBACK_DOMAIN = "trimap.invalid"
_LINE_END = re.compile(rb"\r?\n")
_PREFIXES = {"reply": ("Re: ", ("re:",)), "forward": ("Fwd: ", ("fwd:", "fw:"))}


@dataclass(frozen=True, slots=True)
class Original:
    """What a reply or a forward takes from the message it refers to."""

    message_id: str | None = None  # "<...>"
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    subject: str = ""
    source: bytes | None = None  # a forward's original, attached as it is


@dataclass(frozen=True, slots=True)
class BuiltMessage:
    raw: bytes
    message_id: str


def references_of(original: Original) -> tuple[str, ...]:
    """The References of a reply to ``original``: its thread, then itself (RFC 5322 3.6.4)."""
    thread = original.references or (
        (original.in_reply_to,) if original.in_reply_to is not None else ()
    )
    ordered = (*thread, *(() if original.message_id is None else (original.message_id,)))
    return tuple(dict.fromkeys(ordered))


def build_message(
    request: ComposeRequest,
    original: Original | None = None,
    *,
    keep_bcc: bool,
    now: datetime | None = None,
) -> BuiltMessage:
    """The message ``request`` describes (see the module comment)."""
    message_id = request.message_id or _new_message_id(request.sender)
    action = request.reference.action if request.reference is not None else "reply"
    message = EmailMessage(policy=POLICY)
    if request.sender is not None:
        message["From"] = _address(request.sender)
    for name, addresses in (("To", request.to), ("Cc", request.cc), ("Bcc", request.bcc)):
        if addresses and (name != "Bcc" or keep_bcc):
            message[name] = [_address(address) for address in addresses]
    subject = _subject(request.subject, original, action)
    if subject is not None:
        message["Subject"] = subject
    if not any(name.lower() == "date" for name, _ in request.headers):
        message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = message_id
    if original is not None:
        if action == "reply" and original.message_id is not None:
            message["In-Reply-To"] = original.message_id
        references = references_of(original)
        if references:
            message["References"] = " ".join(references)
    for name, value in request.headers:
        message[name] = value
    message["MIME-Version"] = "1.0"
    body = _body(request, original.source if original is not None else None)
    for name, value in body.raw_items():
        message[name] = value
    message.set_payload(body.get_payload())
    out = BytesIO()
    _Generator(out, policy=POLICY).flatten(message)
    return BuiltMessage(out.getvalue(), message_id)


class _Generator(BytesGenerator):
    """``BytesGenerator`` writing a ``message/rfc822`` part's string payload back as the
    bytes it was decoded from (``surrogateescape``): the stock one takes ASCII only."""

    def _encode(self, s: str) -> bytes:
        return s.encode("ascii", "surrogateescape")


def _address(address: MailAddress) -> Address:
    return Address(display_name=address.name, addr_spec=address.address)


def _new_message_id(sender: MailAddress | None) -> str:
    domain = sender.domain if sender is not None else FALLBACK_DOMAIN
    return f"<{uuid.uuid4()}@{domain}>"


def _subject(subject: str | None, original: Original | None, action: Action) -> str | None:
    if subject is not None or original is None:
        return subject
    prefix, known = _PREFIXES[action]
    if original.subject.lower().startswith(known):
        return original.subject
    return prefix + original.subject


# -- the body ------------------------------------------------------------------------


def _body(request: ComposeRequest, forwarded: bytes | None) -> MIMEPart:
    related = request.html is not None
    inline = [item for item in request.attachments if related and item.cid]
    others = [item for item in request.attachments if not (related and item.cid)]
    text = _text(request.text, "plain") if request.text is not None else None
    html = _text(request.html, "html") if request.html is not None else None
    if html is not None and inline:
        html = _multipart("related", [html, *map(_attachment, inline)])
    texts = [part for part in (text, html) if part is not None]
    body = _multipart("alternative", texts) if len(texts) == 2 else next(iter(texts), None)
    extra = [_attachment(item) for item in others]
    if forwarded is not None:
        extra.append(_message(forwarded, None))
    if not extra:
        return body if body is not None else _text("", "plain")
    return _multipart("mixed", [body, *extra] if body is not None else extra)


def _text(content: str, subtype: str) -> MIMEPart:
    part = MIMEPart(policy=POLICY)
    part.set_content(content, subtype=subtype, charset="utf-8")
    return part


def _multipart(subtype: str, parts: list[MIMEPart]) -> MIMEPart:
    node = MIMEPart(policy=POLICY)
    node["Content-Type"] = f"multipart/{subtype}"
    for part in parts:
        node.attach(part)
    return node


def _attachment(item: Attachment) -> MIMEPart:
    if item.content_type == MESSAGE_TYPE:
        return _message(item.content, item)
    part = MIMEPart(policy=POLICY)
    maintype, subtype = item.content_type.split("/", 1)
    part.set_content(
        item.content,
        maintype,
        subtype,
        disposition=item.disposition,
        filename=item.filename,
        cid=f"<{item.cid}>" if item.cid else None,
        params={"name": item.filename} if item.filename else None,
    )
    return part


def _message(raw: bytes, item: Attachment | None) -> MIMEPart:
    """A ``message/rfc822`` part holding ``raw`` as it is (CRLF line ends)."""
    part = MIMEPart(policy=POLICY)
    part["Content-Type"] = MESSAGE_TYPE
    part["Content-Transfer-Encoding"] = "7bit" if raw.isascii() else "8bit"
    if item is None:
        part["Content-Disposition"] = "attachment"
    else:
        if item.filename:
            part.add_header("Content-Disposition", item.disposition, filename=item.filename)
        else:
            part["Content-Disposition"] = item.disposition
        if item.cid:
            part["Content-ID"] = f"<{item.cid}>"
    # _Generator writes this string back as the bytes it came from.
    part.set_payload(_LINE_END.sub(b"\r\n", raw).decode("ascii", "surrogateescape"))
    return part
