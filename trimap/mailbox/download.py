"""Downloading a message or one of its parts in windows, so that no download holds a connection.

How it works: a download is a series of partial fetches,
``BODY.PEEK[part]<offset.CHUNK_SIZE>`` (``part`` ``""``: the whole message),
each in a turn of its own on the account's connection:

* ``start_download`` runs in the caller's turn: it locates the message
  (``fetch_located``: ``locate_message``, which refuses stale ids, and one
  FETCH of what the caller names) and that one FETCH gives its size
  (``RFC822.SIZE``, or the part's BODYSTRUCTURE node and encoded size) and
  the first window.  Everything that can be missing is found missing here,
  before the caller answers anything.
* ``Download.decoded(turn)`` yields the body with its transfer encoding
  undone (``trimap.messages.transfer``): the first window, then each next one
  fetched in a new turn (``turn()``: the caller's way of getting one),
  locating the message again (cheap: a folder already selected is not
  selected again), until a window comes back short.  Between two windows the
  connection is free: other requests and the account's own sync go in
  between, so a download of any size delays them by one window at most.

Rules it keeps:

* Memory per download is one window (``CHUNK_SIZE``) plus the decoder's few
  pending bytes.
* ``length`` is the exact number of bytes ``decoded`` gives when it is known
  beforehand (the whole message, or a part without transfer encoding);
  ``decoded`` then never gives more, and raises ``DownloadBroken`` if it
  would give fewer.
* A message that disappears, or whose folder is reset, after the first
  window raises ``DownloadBroken``: the caller has sent part of the body
  already and must end it abruptly, never as if it were complete.
* ``.PEEK`` always: downloading never sets ``\\Seen``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, aclosing
from dataclasses import dataclass

from imapproto import BodyStructure, Fetch, FetchSection
from trimap.engine import AccountSession
from trimap.mailbox.locate import MessageNotFound, locate_message
from trimap.messages.transfer import transfer_decoder, transfer_is_identity
from trimap.store.sync import SyncStore

__all__ = [
    "CHUNK_SIZE",
    "Download",
    "DownloadBroken",
    "PartNotFound",
    "Turn",
    "fetch_located",
    "start_download",
]

#: Bytes per partial fetch: the most one download holds, and the longest it keeps others waiting.
CHUNK_SIZE = 256 * 1024

#: Gives a turn on the account's connection (``async with turn() as session``).
Turn = Callable[[], AbstractAsyncContextManager[AccountSession]]


class PartNotFound(LookupError):
    """The message exists but has no (non-multipart) body part with that number."""


class DownloadBroken(Exception):
    """The download cannot go on after its first window: the body is gone or changed."""


@dataclass(frozen=True, slots=True)
class Download:
    """A download whose first window is fetched; see ``start_download``."""

    store: SyncStore
    message_id: str
    part: str
    #: The part's BODYSTRUCTURE node; None when downloading the whole message.
    node: BodyStructure | None
    #: The encoded size the server announced (RFC822.SIZE or the part's octets).
    size: int | None
    first: bytes

    @property
    def length(self) -> int | None:
        """How many bytes ``decoded`` gives, when that is known beforehand."""
        if self.node is None or transfer_is_identity(self.node.encoding):
            return self.size
        return None

    async def decoded(self, turn: Turn) -> AsyncIterator[bytes]:
        """The body, transfer encoding undone, fetching each window in a turn of its own."""
        decoder = transfer_decoder(None if self.node is None else self.node.encoding)
        length = self.length
        given = 0
        async with aclosing(self._windows(turn)) as windows:
            async for window in windows:
                data = decoder.feed(window)
                given += len(data)
                if length is not None and given > length:
                    raise DownloadBroken(f"{self.message_id} is longer than announced")
                if data:
                    yield data
        data = decoder.finish()
        if data:
            yield data
        if length is not None and given + len(data) != length:
            raise DownloadBroken(f"{self.message_id} is shorter than announced")

    async def _windows(self, turn: Turn) -> AsyncGenerator[bytes, None]:
        window: bytes | None = self.first
        offset = 0
        while window is not None:
            yield window
            offset += len(window)
            if len(window) < CHUNK_SIZE:
                return
            async with turn() as session:
                window = await self._window(session, offset)
        if offset != self.size:  # gone; unless exactly a number of windows was all of it
            raise DownloadBroken(f"{self.message_id} is gone after {offset} bytes")

    async def _window(self, session: AccountSession, offset: int) -> bytes | None:
        """The window at ``offset``, or None if the message is gone."""
        try:
            _, uid = await locate_message(session, self.store, self.message_id)
        except MessageNotFound:
            return None
        chunks = []
        partial = (offset, CHUNK_SIZE)
        async with session.client.fetch_body(uid, self.part, partial=partial) as body:
            async for chunk in body:
                chunks.append(chunk)
        return None if body.size is None else b"".join(chunks)


async def fetch_located(
    session: AccountSession,
    store: SyncStore,
    message_id: str,
    items: Sequence[str | FetchSection],
) -> tuple[int, Fetch]:
    """Locate ``message_id`` and FETCH ``items`` of it: (UID, the answer).

    ``MessageNotFound`` if the id names no message (any more).
    """
    _, uid = await locate_message(session, store, message_id)
    found: Fetch | None = None
    async with session.client.fetch(uid, items) as answers:
        async for answer in answers:
            if isinstance(answer, Fetch) and answer.uid == uid:
                found = answer
    if found is None:
        raise MessageNotFound(message_id)
    return uid, found


async def start_download(
    session: AccountSession, store: SyncStore, message_id: str, part: str = ""
) -> Download:
    """Locate ``message_id`` and fetch the first window of ``part`` (``""``: all of it).

    ``MessageNotFound`` if the message is not there, ``PartNotFound`` if it
    has no such part.
    """
    size_item = "BODYSTRUCTURE" if part else "RFC822.SIZE"
    window = FetchSection(part=part, partial=(0, CHUNK_SIZE))
    _, found = await fetch_located(session, store, message_id, [size_item, window])
    node = None
    size = found.size
    if part:
        node = _part_node(found.bodystructure, part)
        size = node.size
    body = found.section("BODY", part)
    first = body.data if body is not None and isinstance(body.data, bytes) else b""
    return Download(store, message_id, part, node, size, first)


def _part_node(structure: BodyStructure | None, part: str) -> BodyStructure:
    for node in () if structure is None else structure.walk():
        if node.part == part and not node.is_multipart:
            return node
    raise PartNotFound(part)
