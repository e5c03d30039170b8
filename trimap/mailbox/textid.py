"""``GET .../text/{text}``'s reading: from a text id to the decoded texts it lists.

How it works: ``read_text`` decodes the text id (``trimap.messages.ids``),
locates its message (``locate_message``: stale ids refused) and fetches its
BODYSTRUCTURE in one go (``fetch_located``), then hands the listed parts to
``trimap.mailbox.text.fetch_texts``: plain and html parts under their kind,
every other text part under its own subtype (``calendar`` ...).  The parts
come from the id, not from classifying the structure again, so the ids the
reference made (which listed the text of attached messages too) keep working.

Rules it keeps: an id that is not a text id, or names a message that is gone,
is ``MessageNotFound``, like a stale one; a listed part the message lacks
gives no text.
"""

from __future__ import annotations

from collections.abc import Collection

from trimap.engine import AccountSession
from trimap.mailbox.download import fetch_located
from trimap.mailbox.locate import MessageNotFound
from trimap.mailbox.text import fetch_texts
from trimap.messages.ids import InvalidId, decode_text_id, encode_message_id
from trimap.messages.summary import text_part
from trimap.store.sync import SyncStore

__all__ = ["TEXT_KINDS", "read_text"]

#: The kinds a text id sorts parts into; "other" parts go under their subtype.
TEXT_KINDS = ("plain", "html", "other")


async def read_text(
    session: AccountSession,
    store: SyncStore,
    text_id: str,
    kinds: Collection[str] = TEXT_KINDS,
    max_bytes: int = 0,
) -> tuple[dict[str, str], bool]:
    """(text by key, hasMore) of the parts of the ``kinds`` that text id ``text_id`` lists;
    ``max_bytes`` (UTF-8 bytes per key, 0: no limit) as ``fetch_texts`` applies it."""
    try:
        decoded = decode_text_id(text_id)
    except InvalidId as invalid:
        raise MessageNotFound(text_id) from invalid
    message_id = encode_message_id(decoded.folder_id, decoded.uid)
    uid, found = await fetch_located(session, store, message_id, ["BODYSTRUCTURE"])
    structure = found.bodystructure
    if structure is None:
        raise MessageNotFound(text_id)
    pairs = [("plain", number) for number in decoded.plain if "plain" in kinds]
    pairs += [("html", number) for number in decoded.html if "html" in kinds]
    for number in decoded.other if "other" in kinds else ():
        leaf = text_part(structure, number)
        if leaf is not None:
            pairs.append((leaf.subtype, number))
    return await fetch_texts(session.client, uid, structure, pairs, max_bytes)
