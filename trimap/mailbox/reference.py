"""The message a reply or a forward refers to, read for ``trimap.compose``.

How it works: ``read_original(session, store, reference, max_source=...)``
finds the message the reference's id names (``locate_message``: a stale id
is ``MessageNotFound``), fetches its size and the header fields that thread
it -- ``BODY.PEEK[HEADER.FIELDS (MESSAGE-ID IN-REPLY-TO REFERENCES SUBJECT)]``
-- in one ``UID FETCH``, and for a forward with ``attachOriginal`` the whole
message, and returns a
``trimap.compose.Original``.  ``message_ids`` reads the ``<id>`` tokens of
a Message-ID, In-Reply-To or References value.

Rules it keeps: everything is fetched with ``.PEEK`` and nothing is stored,
so reading a reference changes no flag -- in particular it never sets
``\\Answered`` (the reference product set it on uploads and forwards too,
weakness 12: only sending a reply may); a forward's original above
``max_source`` bytes is ``OriginalTooLarge`` before it is fetched, since it
is held in memory.
"""

from __future__ import annotations

import re

from imapproto import Fetch, FetchSection
from trimap.compose import Original
from trimap.compose.request import Reference
from trimap.engine import AccountSession
from trimap.mailbox.locate import MessageNotFound, locate_message
from trimap.messages.headers import decode_words, parse_headers
from trimap.store.sync import SyncStore

__all__ = ["OriginalTooLarge", "message_ids", "read_original"]

_THREAD_FIELDS = FetchSection(
    text="HEADER.FIELDS", fields=("MESSAGE-ID", "IN-REPLY-TO", "REFERENCES", "SUBJECT")
)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


class OriginalTooLarge(ValueError):
    """A forward's original is larger than the caller can hold; ``size`` says how large."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the original message has {size} bytes")
        self.size = size


def message_ids(value: str) -> tuple[str, ...]:
    """The ``<id>`` tokens of a header value, in order."""
    return tuple(_MESSAGE_ID.findall(value))


async def read_original(
    session: AccountSession, store: SyncStore, reference: Reference, *, max_source: int
) -> Original:
    """What a reply to (or a forward of) ``reference.message`` takes from it."""
    _, uid = await locate_message(session, store, reference.message)
    found: Fetch | None = None
    async with session.client.fetch(uid, ["RFC822.SIZE", _THREAD_FIELDS]) as answers:
        async for answer in answers:
            if isinstance(answer, Fetch) and answer.uid == uid:
                found = answer
    if found is None:
        raise MessageNotFound(reference.message)
    section = found.section("BODY", _THREAD_FIELDS.section)
    raw = section.data if section is not None and isinstance(section.data, bytes) else b""
    headers = {name: values[0] for name, values in parse_headers(raw).items() if values}
    own = message_ids(headers.get("message-id", ""))
    parent = message_ids(headers.get("in-reply-to", ""))
    source = None
    if reference.attach_original:
        size = found.size or 0
        if size > max_source:
            raise OriginalTooLarge(size)
        async with session.client.fetch_body(uid) as chunks:
            source = b"".join([chunk async for chunk in chunks])
    return Original(
        message_id=own[0] if own else None,
        in_reply_to=parent[0] if parent else None,
        references=message_ids(headers.get("references", "")),
        subject=decode_words(headers.get("subject", "")),
        source=source,
    )
