"""A message's text, fetched from the parts BODYSTRUCTURE points at, never the whole message.

How it works: ``fetch_message_text`` classifies the message's parts
(``trimap.messages.summary.classify_parts``), then fetches each plain and
html text part with ``BODY.PEEK[part]``, partially (``<0.n>``) when a byte
limit is given: just enough encoded bytes to decode more than ``max_bytes``
(``fetch_budget``).  Each part is decoded (transfer encoding, charset,
format=flowed: ``trimap.messages.text.decode_text_part``); parts of one kind are
joined, and each kind is cut at ``max_bytes`` UTF-8 bytes without splitting a
character.  ``hasMore`` says that a kind was cut, or that a part was
fetched only in part.

Rules it keeps: ``.PEEK`` always (reading never sets ``\\Seen``); memory is
bounded by ``max_bytes`` per part when a limit is given.
"""

from __future__ import annotations

from typing import Any

from imapproto import BodyStructure, Fetch, FetchSection
from imapproto.client import ImapClient
from trimap.messages.summary import classify_parts, text_part
from trimap.messages.text import decode_text_part, fetch_budget, join_texts, limit_utf8

__all__ = ["fetch_message_text"]

KINDS = ("plain", "html")


async def _part_text(
    client: ImapClient, uid: int, structure: BodyStructure, part: str, max_bytes: int
) -> tuple[str, bool]:
    leaf = text_part(structure, part)
    if leaf is None:
        return "", False
    size = leaf.size or 0
    budget = fetch_budget(max_bytes, leaf.encoding) if max_bytes else None
    partial = (0, budget) if budget is not None and budget < size else None
    section = FetchSection(part=part, partial=partial)
    data = b""
    async with client.fetch(uid, [section]) as answers:
        async for answer in answers:
            found = answer.section("BODY", part) if isinstance(answer, Fetch) else None
            if found is not None and isinstance(found.data, bytes):
                data = found.data
    return decode_text_part(data, leaf), partial is not None


async def fetch_message_text(
    client: ImapClient, uid: int, structure: BodyStructure, max_bytes: int = 0
) -> dict[str, Any]:
    """``{"plain": ..., "html": ..., "hasMore": bool}`` for the kinds the message has;
    ``max_bytes`` 0 means no limit."""
    parts = classify_parts(structure)
    result: dict[str, Any] = {}
    has_more = False
    for kind in KINDS:
        numbers = parts.plain if kind == "plain" else parts.html
        if not numbers:
            continue
        texts = []
        for number in numbers:
            text, truncated = await _part_text(client, uid, structure, number, max_bytes)
            texts.append(text)
            has_more = has_more or truncated
        joined, cut = limit_utf8(join_texts(texts), max_bytes)
        result[kind] = joined
        has_more = has_more or cut
    result["hasMore"] = has_more
    return result
