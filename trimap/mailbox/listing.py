"""Paged message listings of a folder, newest first, that stay stable while mail comes and goes.

How it works: ``list_messages`` examines the folder and NOOPs it (a
server shows a session new and expunged messages only when it syncs the
session's view, at the end of a command, and the folder may have been
selected since before an IDLE push that has not come yet: without the NOOP a
message delivered just before the request could be missing).  Then it finds
the UIDs of the page and fetches their summaries with one ``UID FETCH``.
Newest first means highest UID first: the order messages arrived in the
folder.  Finding the page's UIDs:

* a search (``criteria``): ``UID SEARCH`` of every match (ESEARCH answers
  in compact ranges), and the page cut out of that set (``slice_page``,
  arithmetic on the ranges, never a list of every UID);
* a plain listing: no search of every message, which costs the server
  milliseconds on a large folder.  STATUS (of the selected folder: the
  session's view) gives the count; ``UID SEARCH UID low:top`` of a window
  below the newest UID (or below the cursor) gives the page, the window
  growing until it holds enough UIDs.  With a cursor, the page's number is
  told by the sequence number of its newest message.

A page is asked for by number (``page``, clamped into the pages there are,
as the reference did) or by ``cursor``: the ``nextCursor`` of the page
before, which holds the folder's number (``trimap.store.sync``: one per
path and UIDVALIDITY) and the lowest UID that page showed.  The next page
is then the highest UIDs *below* that one (keyset paging), so messages that
arrive or are expunged between two requests shift nothing: no message is
shown twice or skipped (the reference paged by sequence numbers, its
weakness 2).  A cursor of another folder number -- the folder was reset,
re-created or renamed -- is ``StaleCursor``.

Rules it keeps: a plain page costs four short commands whatever the
folder's size (NOOP, STATUS, a window SEARCH, FETCH), plus EXAMINE when
another folder is selected; ``total`` and ``pages`` count the messages (or
matches) when the page was read; a FETCH answer that is not ours (a flag
change pushed meanwhile) touches the folder, so the account's watch still
sees it.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imapproto import Fetch, FetchSection, SequenceSet
from imapproto import search as keys
from imapproto.client import ImapClient
from trimap.engine import AccountSession
from trimap.mailbox.locate import open_folder
from trimap.messages.summary import message_summary, summary_fetch_items
from trimap.store.sync import SyncStore

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "Cursor",
    "InvalidCursor",
    "MessagePage",
    "PageRequest",
    "PageSlice",
    "StaleCursor",
    "fetch_messages",
    "list_messages",
    "slice_page",
]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000

_CURSOR = struct.Struct(">BII")
_CURSOR_VERSION = 1
_EMPTY = SequenceSet()


class InvalidCursor(ValueError):
    """Text that is not a cursor trimap gave out."""


class StaleCursor(LookupError):
    """A cursor of the folder as it was before a reset, re-creation or rename."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the next page starts: below UID ``uid`` of folder number ``folder_id``."""

    folder_id: int
    uid: int

    def encode(self) -> str:
        data = _CURSOR.pack(_CURSOR_VERSION, self.folder_id, self.uid)
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor ``encode`` wrote as ``text``; ``InvalidCursor`` for anything else."""
        try:
            data = base64.urlsafe_b64decode(text.encode("ascii") + b"=" * (-len(text) % 4))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise InvalidCursor("not a cursor") from None
        if len(data) != _CURSOR.size:
            raise InvalidCursor("not a cursor")
        version, folder_id, uid = _CURSOR.unpack(data)
        cursor = cls(folder_id, uid)
        if version != _CURSOR_VERSION or uid == 0 or cursor.encode() != text:
            raise InvalidCursor("not a cursor")
        return cursor


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which page: by number, or (when ``cursor`` is set) the one after a cursor."""

    page_size: int = DEFAULT_PAGE_SIZE
    page: int = 0
    cursor: Cursor | None = None


@dataclass(frozen=True, slots=True)
class PageSlice:
    """One page cut out of a set of UIDs, highest first."""

    uids: SequenceSet  # the page's UIDs
    total: int
    page: int | None  # None: to be told by the page's sequence numbers
    pages: int
    more: bool  # UIDs below the page remain


def _from_top(uids: SequenceSet, skip: int, count: int) -> SequenceSet:
    """``count`` UIDs of ``uids``, going down from the highest after skipping ``skip``."""
    taken: list[tuple[int, int]] = []
    for start, end in reversed(uids.ranges):
        size = end - start + 1
        if skip >= size:
            skip -= size
            continue
        top = end - skip
        skip = 0
        bottom = max(start, top - count + 1)
        taken.append((bottom, top))
        count -= top - bottom + 1
        if count == 0:
            break
    return SequenceSet.from_ranges(taken)


def slice_page(uids: SequenceSet, request: PageRequest) -> PageSlice:
    """The page of ``uids`` (highest first) that ``request`` asks for."""
    size = request.page_size
    total = len(uids)
    pages = max(1, -(-total // size))
    if request.cursor is None:
        page = min(request.page, pages - 1)
        candidates, skip = uids, page * size
    else:
        below = request.cursor.uid
        candidates = uids & SequenceSet(((1, below - 1),)) if below > 1 else _EMPTY
        page, skip = min((total - len(candidates)) // size, pages - 1), 0
    taken = _from_top(candidates, skip, size)
    return PageSlice(taken, total, page, pages, len(candidates) > skip + len(taken))


@dataclass(frozen=True, slots=True)
class MessagePage:
    """One page of a listing or a search."""

    total: int
    page: int
    pages: int
    messages: list[dict[str, Any]]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "page": self.page,
            "pages": self.pages,
            "messages": self.messages,
            "nextCursor": self.next_cursor,
        }


async def fetch_messages(
    session: AccountSession, path: str, uids: SequenceSet, extra: Sequence[FetchSection] = ()
) -> list[Fetch]:
    """One ``UID FETCH`` of ``uids`` (selected folder ``path``) with the summary items and
    ``extra``; the messages found, highest UID first."""
    client = session.client
    items: list[str | FetchSection] = [*summary_fetch_items(client.capabilities), *extra]
    found: dict[int, Fetch] = {}
    async with client.fetch(uids, items) as answers:
        async for answer in answers:
            if not isinstance(answer, Fetch) or answer.uid is None or answer.envelope is None:
                session.touch(path)  # not an answer: a change pushed meanwhile
            elif answer.uid in uids:
                found[answer.uid] = answer
    return [found[uid] for uid in sorted(found, reverse=True)]


async def _window(client: ImapClient, top: int, wanted: int) -> SequenceSet:
    """The UIDs of a window ending at ``top``, grown (four times each step) until it holds
    ``wanted`` UIDs or starts at 1."""
    span = 2 * wanted
    while True:
        low = max(1, top - span + 1)
        found = await client.search(keys.uid(SequenceSet.from_ranges([(low, top)])))
        if len(found) >= wanted or low == 1:
            return found
        span *= 4


async def _newest(client: ImapClient, path: str, request: PageRequest, uidnext: int) -> PageSlice:
    """The page of a plain listing, without a SEARCH of every message (module comment);
    with a cursor, ``page`` is left for the FETCH's sequence numbers to tell."""
    status = await client.status(path, ("MESSAGES", "UIDNEXT"))
    total = status.messages or 0
    size = request.page_size
    pages = max(1, -(-total // size))
    page: int | None = None
    if request.cursor is None:
        page = min(request.page, pages - 1)
        top, skip = (status.uidnext or uidnext) - 1, page * size
    else:
        top, skip = request.cursor.uid - 1, 0
    found = await _window(client, top, skip + size + 1) if top >= 1 else _EMPTY
    taken = _from_top(found, skip, size)
    return PageSlice(taken, total, page, pages, len(found) > skip + len(taken))


def _page_of(fetched: list[Fetch], cut: PageSlice, size: int) -> int:
    """Where a page after a cursor falls: the messages above its newest one, in pages."""
    if cut.page is not None:
        return cut.page
    if not fetched:
        return cut.pages - 1
    return min((cut.total - fetched[0].seq) // size, cut.pages - 1)


async def list_messages(
    session: AccountSession,
    store: SyncStore,
    path: str,
    request: PageRequest,
    criteria: keys.SearchKey | None = None,
) -> MessagePage:
    """The page ``request`` asks for of the messages of ``path`` matching ``criteria``
    (None: all)."""
    client = session.client
    folder = await open_folder(session, store, path)
    cursor = request.cursor
    if cursor is not None and cursor.folder_id != folder.folder_id:
        raise StaleCursor(path)
    await client.noop()  # see the module comment
    if criteria is None:
        cut = await _newest(client, path, request, folder.selected.uidnext)
    else:
        cut = slice_page(await client.search(criteria), request)
    fetched = await fetch_messages(session, path, cut.uids) if cut.uids else []
    return MessagePage(
        total=cut.total,
        page=_page_of(fetched, cut, request.page_size),
        pages=cut.pages,
        messages=[message_summary(fetch, folder.folder_id) for fetch in fetched],
        next_cursor=Cursor(folder.folder_id, cut.uids.min()).encode() if cut.more else None,
    )
