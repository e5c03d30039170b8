"""The message object of listings, details and ``messageNew``, built from one FETCH.

How it works: ``summary_fetch_items`` names what to FETCH for a message
(the reference's items, plus the ids, labels and MODSEQ the server offers);
``message_summary`` turns the resulting ``imapproto.Fetch`` into the
reference's message object (its spec, section 4.3): keys in the reference's
order, a key left out when its value is unknown, ``unseen``/``flagged``/
``answered``/``draft`` present only when true.  The extended form (message
details, ``messageNew``) adds ``flags``, ``replyTo``, ``sender``, ``bcc`` and,
when the caller fetched the header block, ``headers``.

``classify_parts`` walks the BODYSTRUCTURE leaves and sorts them into text
parts (their numbers go into the text id) and attachments, following the
reference (section 4.2):

* a ``text/*`` leaf without a disposition or ``inline`` is text: plain, html
  or other by subtype, its encoded octets summed per subtype;
* every other leaf is an attachment (``attachment`` disposition, any non-text
  type, a text part with another disposition); inside ``multipart/related``
  it is *embedded*, and *inline* when its disposition says so or, inside
  related, says nothing.

Rules it keeps:

* An attached ``message/rfc822`` is one attachment: its inner text and
  attachments belong to that message, not to the one that carries it (the
  reference merged them, its weakness 11).  ``text_part`` still finds any
  text part in the tree, so text ids that the reference made keep working.
* Nothing here raises on what a sender wrote: a Date header that cannot be
  parsed falls back to INTERNALDATE (the reference failed with a 500, its
  weakness 18); names, subjects and filenames are RFC 2047-decoded tolerantly;
  filenames are RFC 2231-decoded already by imapproto.
* Dates are ISO 8601 in UTC with milliseconds, ``2020-12-17T09:59:58.000Z``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from imapproto import Address, AddressGroup, BodyStructure, Envelope, Fetch
from trimap.events.model import format_date
from trimap.messages.headers import decode_words, parse_headers
from trimap.messages.ids import encode_attachment_id, encode_message_id, encode_text_id

__all__ = [
    "SUMMARY_FETCH_ITEMS",
    "Attachment",
    "MessageParts",
    "classify_parts",
    "message_summary",
    "parse_header_date",
    "summary_fetch_items",
    "text_part",
]

#: What every summary needs, on any server.
SUMMARY_FETCH_ITEMS = ("UID", "FLAGS", "RFC822.SIZE", "BODYSTRUCTURE", "ENVELOPE", "INTERNALDATE")
#: Items fetched too when the server has the capability.
_OPTIONAL_FETCH_ITEMS = (
    ("OBJECTID", ("EMAILID", "THREADID")),
    ("X-GM-EXT-1", ("X-GM-MSGID", "X-GM-THRID", "X-GM-LABELS")),
    ("CONDSTORE", ("MODSEQ",)),
)


def summary_fetch_items(capabilities: frozenset[str]) -> list[str]:
    """The FETCH items for ``message_summary`` on a server with ``capabilities``."""
    offered = {name.upper() for name in capabilities}
    items = list(SUMMARY_FETCH_ITEMS)
    for capability, extra in _OPTIONAL_FETCH_ITEMS:
        if capability in offered:
            items.extend(extra)
    return items


# -- body parts -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attachment:
    """One attachment leaf of a BODYSTRUCTURE (see the module comment)."""

    part: str
    content_type: str
    encoded_size: int | None
    filename: str | None
    embedded: bool
    inline: bool
    content_id: str | None

    def to_json(self, folder_id: int, uid: int) -> dict[str, Any]:
        """The reference's attachment entry, with its attachment id."""
        entry: dict[str, Any] = {
            "id": encode_attachment_id(folder_id, uid, self.part),
            "contentType": self.content_type,
        }
        if self.encoded_size is not None:
            entry["encodedSize"] = self.encoded_size
        entry["filename"] = self.filename if self.filename is not None else False
        entry["embedded"] = self.embedded
        entry["inline"] = self.inline
        if self.content_id is not None:
            entry["contentId"] = self.content_id
        return entry


@dataclass(frozen=True, slots=True)
class MessageParts:
    """A message's attachments and text part numbers, and text octets per subtype."""

    attachments: tuple[Attachment, ...]
    plain: tuple[str, ...]
    html: tuple[str, ...]
    other: tuple[str, ...]
    encoded_size: dict[str, int]


def classify_parts(structure: BodyStructure) -> MessageParts:
    """Sort the leaves of ``structure`` into text parts and attachments."""
    attachments: list[Attachment] = []
    texts: dict[str, list[str]] = {"plain": [], "html": [], "other": []}
    encoded_size: dict[str, int] = {}
    for leaf, related in _leaves(structure, related=False):
        if leaf.type == "text" and leaf.disposition in (None, "inline"):
            texts[leaf.subtype if leaf.subtype in ("plain", "html") else "other"].append(leaf.part)
            encoded_size[leaf.subtype] = encoded_size.get(leaf.subtype, 0) + (leaf.size or 0)
        else:
            attachments.append(_attachment(leaf, related))
    return MessageParts(
        tuple(attachments),
        tuple(texts["plain"]),
        tuple(texts["html"]),
        tuple(texts["other"]),
        encoded_size,
    )


def _leaves(node: BodyStructure, related: bool) -> Iterator[tuple[BodyStructure, bool]]:
    """(leaf, inside multipart/related) for each leaf; a message/rfc822 part is a leaf."""
    if not node.is_multipart:
        yield node, related
        return
    inside_related = related or node.subtype == "related"
    for child in node.children:
        yield from _leaves(child, inside_related)


def _attachment(leaf: BodyStructure, related: bool) -> Attachment:
    filename = leaf.disposition_params.get("filename") or leaf.params.get("name")
    return Attachment(
        part=leaf.part,
        content_type=leaf.mime_type,
        encoded_size=leaf.size,
        filename=decode_words(filename) if filename else None,
        embedded=related,
        inline=leaf.disposition == "inline" or (leaf.disposition is None and related),
        content_id=leaf.id,
    )


def text_part(structure: BodyStructure, part: str) -> BodyStructure | None:
    """The ``text/*`` leaf numbered ``part`` anywhere in ``structure`` (to decode its body)."""
    for node in structure.walk():
        if node.part == part and node.type == "text":
            return node
    return None


# -- the message object -----------------------------------------------------------

_NO_ENVELOPE = Envelope(None, None, (), (), (), (), (), (), None, None)
#: (key, flag, whether the key shows the flag's presence or its absence)
_FLAG_KEYS = (
    ("unseen", "\\seen", False),
    ("flagged", "\\flagged", True),
    ("answered", "\\answered", True),
    ("draft", "\\draft", True),
)


def message_summary(
    fetch: Fetch, folder_id: int, *, extended: bool = False, headers: bytes | None = None
) -> dict[str, Any]:
    """The message object of ``fetch`` (a message in folder number ``folder_id``).

    ``headers`` is the fetched header block, shown (parsed) in the extended
    form only.  Raises ``ValueError`` if the FETCH has no UID.
    """
    if fetch.uid is None:
        raise ValueError("a message summary needs the UID: FETCH it")
    uid = fetch.uid
    envelope = fetch.envelope or _NO_ENVELOPE
    summary: dict[str, Any] = {"id": encode_message_id(folder_id, uid), "uid": uid}
    _put(summary, "emailId", _object_id(fetch.email_id, fetch.gm_msgid))
    _put(summary, "threadId", _object_id(fetch.thread_id, fetch.gm_thrid))
    _put(summary, "labels", None if fetch.gm_labels is None else list(fetch.gm_labels))
    _put(summary, "date", _message_date(envelope.date, fetch.internaldate))
    if fetch.flags is not None:
        summary.update(_flag_keys(fetch.flags, extended))
    _put(summary, "size", fetch.size)
    _put(summary, "subject", None if envelope.subject is None else decode_words(envelope.subject))
    _put(summary, "from", _first_address(envelope.from_))
    if extended:
        _put(summary, "replyTo", _first_address(envelope.reply_to))
        _put(summary, "sender", _first_address(envelope.sender))
    _put(summary, "to", _address_list(envelope.to))
    _put(summary, "cc", _address_list(envelope.cc))
    if extended:
        _put(summary, "bcc", _address_list(envelope.bcc))
    parts = None if fetch.bodystructure is None else classify_parts(fetch.bodystructure)
    if parts is not None and parts.attachments:
        summary["attachments"] = [item.to_json(folder_id, uid) for item in parts.attachments]
    _put(summary, "messageId", (envelope.message_id or "").strip() or None)
    _put(summary, "inReplyTo", (envelope.in_reply_to or "").strip() or None)
    if extended and headers is not None:
        summary["headers"] = parse_headers(headers)
    if parts is not None:
        text_id = encode_text_id(folder_id, uid, parts.plain, parts.html, parts.other)
        summary["text"] = {"id": text_id, "encodedSize": dict(parts.encoded_size)}
    return summary


def _put(summary: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        summary[key] = value


def _object_id(object_id: str | None, gmail_id: int | None) -> str | None:
    """RFC 8474 EMAILID/THREADID, else Gmail's X-GM-MSGID/X-GM-THRID as text."""
    if object_id is not None:
        return object_id
    return None if gmail_id is None else str(gmail_id)


def _flag_keys(flags: tuple[str, ...], extended: bool) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    shown = [flag for flag in flags if flag.lower() != "\\recent"]
    if extended and shown:
        keys["flags"] = shown
    present = {flag.lower() for flag in flags}
    for key, flag, when_present in _FLAG_KEYS:
        if (flag in present) == when_present:
            keys[key] = True
    return keys


# -- dates and addresses ----------------------------------------------------------


def parse_header_date(value: str | None) -> datetime | None:
    """A Date header as an aware UTC datetime, or None if it cannot be read.

    Lenient as ``email.utils`` is (day names, comments, two-digit years); a
    date without a usable zone (``-0000``) is taken as UTC.  A year before
    1000 counts as unreadable: no mail has it, and ISO 8601 wants four digits.
    """
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        utc = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    return utc if utc.year >= 1000 else None


def _message_date(header_date: str | None, internaldate: datetime | None) -> str | None:
    date = parse_header_date(header_date)
    if date is None and internaldate is not None:
        date = internaldate.astimezone(UTC)
    return None if date is None else format_date(date)


def _addresses(items: tuple[Address | AddressGroup, ...]) -> Iterator[dict[str, str]]:
    """``{name, address}`` for each address, group members in place of their group."""
    for item in items:
        for address in item.members if isinstance(item, AddressGroup) else (item,):
            name = decode_words(address.name) if address.name else ""
            if name or address.email:
                yield {"name": name, "address": address.email}


def _first_address(items: tuple[Address | AddressGroup, ...]) -> dict[str, str] | None:
    return next(_addresses(items), None)


def _address_list(items: tuple[Address | AddressGroup, ...]) -> list[dict[str, str]] | None:
    return list(_addresses(items)) or None
