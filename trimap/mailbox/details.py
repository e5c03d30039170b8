"""One message in full: the extended message object, its headers and, if asked, its text.

How it works: ``message_details`` finds the message its id names
(``locate_message``: stale ids refused), fetches the summary items and the
header block (``BODY.PEEK[HEADER]``) in one ``UID FETCH``, and builds the
extended message object (``message_summary(extended=True)``).  With
``text_type`` (``plain``, ``html`` or ``*``) the decoded text is added to its
``text`` object (``fetch_message_text``: each text part fetched on its own,
partially when ``max_bytes`` limits it; ``hasMore`` when something was cut).

Rules it keeps: ``.PEEK`` always (reading never sets ``\\Seen``); a UID that
no longer exists is ``MessageNotFound``, like an id that names no folder.
"""

from __future__ import annotations

from typing import Any, Literal

from imapproto import FetchSection, SequenceSet
from trimap.engine import AccountSession
from trimap.mailbox.listing import fetch_messages
from trimap.mailbox.locate import MessageNotFound, locate_message
from trimap.mailbox.text import fetch_message_text
from trimap.messages.summary import message_summary
from trimap.store.sync import SyncStore

__all__ = ["TEXT_TYPES", "TextType", "message_details"]

TextType = Literal["plain", "html", "*"]
TEXT_TYPES: tuple[TextType, ...] = ("plain", "html", "*")

_HEADER = FetchSection(text="HEADER")


async def message_details(
    session: AccountSession,
    store: SyncStore,
    message_id: str,
    *,
    text_type: TextType | None = None,
    max_bytes: int = 0,
) -> dict[str, Any]:
    """The extended message object of ``message_id``; with ``text_type``, its text
    (``max_bytes`` UTF-8 bytes at most per kind, 0: no limit)."""
    folder, uid = await locate_message(session, store, message_id)
    await session.client.noop()  # a UID expunged meanwhile is gone (trimap.mailbox.listing)
    found = await fetch_messages(session, folder.path, SequenceSet.from_iterable((uid,)), [_HEADER])
    if not found:
        raise MessageNotFound(message_id)
    fetch = found[0]
    header = fetch.section("BODY", "HEADER")
    details = message_summary(
        fetch,
        folder.folder_id,
        extended=True,
        headers=header.data if header is not None and isinstance(header.data, bytes) else None,
    )
    if text_type is not None and fetch.bodystructure is not None:
        text = await fetch_message_text(session.client, uid, fetch.bodystructure, max_bytes)
        if text_type != "*":
            text = {text_type: text.get(text_type, ""), "hasMore": text["hasMore"]}
        details.setdefault("text", {}).update(text)
    return details
