"""A message's text, fetched from the parts BODYSTRUCTURE points at, never the whole message.

How it works: ``fetch_texts`` is given (key, part number) pairs and fetches
all those parts in one ``UID FETCH`` of ``BODY.PEEK[part]`` sections,
partially (``<0.n>``) when a byte limit is given: just enough encoded bytes
to decode more than ``max_bytes`` (``fetch_budget``).  Each part is decoded
(transfer encoding, charset, format=flowed:
``trimap.messages.text.decode_text_part``); the parts of one key are joined,
and each key's text is cut at ``max_bytes`` UTF-8 bytes without splitting a
character.  ``hasMore`` says that a key was cut, or that a part was fetched
only in part.  Two callers choose the pairs:

* ``fetch_message_text`` (``messageNew`` with text, message details): the
  plain and html parts ``trimap.messages.summary.classify_parts`` finds, as
  ``plain`` and ``html``;
* ``trimap.mailbox.textid.read_text`` (``GET .../text/{text}``): the parts a
  text id lists.

Rules it keeps: ``.PEEK`` always (reading never sets ``\\Seen``); memory is
bounded by ``fetch_budget(max_bytes)`` per part when a limit is given; a
part number the message does not have (or that is not ``text/*``) gives no
text rather than an error.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from imapproto import BodyStructure, Fetch, FetchSection
from imapproto.client import ImapClient
from trimap.messages.summary import classify_parts, text_part
from trimap.messages.text import decode_text_part, fetch_budget, join_texts, limit_utf8

__all__ = ["fetch_message_text", "fetch_texts"]


async def fetch_texts(
    client: ImapClient,
    uid: int,
    structure: BodyStructure,
    parts: Sequence[tuple[str, str]],
    max_bytes: int = 0,
) -> tuple[dict[str, str], bool]:
    """(text by key, hasMore) for ``parts``, (key, part number) pairs of message ``uid``.

    Keys come out in the order of their first pair; ``max_bytes`` 0 means no limit.
    """
    sections: dict[str, FetchSection] = {}
    truncated: set[str] = set()
    for _, number in parts:
        leaf = text_part(structure, number)
        if leaf is None or number in sections:
            continue
        budget = fetch_budget(max_bytes, leaf.encoding)
        partial = (0, budget) if budget is not None and budget < (leaf.size or 0) else None
        if partial is not None:
            truncated.add(number)
        sections[number] = FetchSection(part=number, partial=partial)
    bodies: dict[str, bytes] = {}
    if sections:
        async with client.fetch(uid, list(sections.values())) as answers:
            async for answer in answers:
                if isinstance(answer, Fetch) and answer.uid == uid:
                    bodies.update(_bodies(answer, sections))
    grouped: dict[str, list[str]] = {}
    for key, number in parts:
        leaf = text_part(structure, number)
        texts = grouped.setdefault(key, [])
        if leaf is not None:
            texts.append(decode_text_part(bodies.get(number, b""), leaf))
    has_more = bool(truncated)
    result: dict[str, str] = {}
    for key, texts in grouped.items():
        result[key], cut = limit_utf8(join_texts(texts), max_bytes)
        has_more = has_more or cut
    return result, has_more


def _bodies(answer: Fetch, sections: Collection[str]) -> dict[str, bytes]:
    found = {number: answer.section("BODY", number) for number in sections}
    return {
        number: section.data
        for number, section in found.items()
        if section is not None and isinstance(section.data, bytes)
    }


async def fetch_message_text(
    client: ImapClient, uid: int, structure: BodyStructure, max_bytes: int = 0
) -> dict[str, Any]:
    """``{"plain": ..., "html": ..., "hasMore": bool}`` for the kinds the message has;
    ``max_bytes`` 0 means no limit."""
    classified = classify_parts(structure)
    pairs = [("plain", number) for number in classified.plain]
    pairs += [("html", number) for number in classified.html]
    texts, has_more = await fetch_texts(client, uid, structure, pairs, max_bytes)
    return {**texts, "hasMore": has_more}
