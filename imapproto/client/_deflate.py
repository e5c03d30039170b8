"""COMPRESS=DEFLATE (RFC 4978) as a trio stream wrapper.

How it works: ``DeflateStream`` wraps the session's stream once the server
has answered ``COMPRESS DEFLATE`` with OK.  Outgoing bytes are compressed
with raw DEFLATE (no zlib header, ``wbits=-15``) and flushed with
``Z_SYNC_FLUSH`` on every send, so each command reaches the server whole.
Incoming bytes are inflated as they arrive.

Rules it keeps: inflation is bounded — one ``receive_some`` returns at most
``max_bytes`` (default 64 KiB) of inflated data, and the rest of a
compressed chunk is kept compressed (``unconsumed_tail``) until asked for, so
a hostile server cannot blow up memory with a decompression bomb.  Corrupt
input is a ``trio.BrokenResourceError``, like any broken transport.
"""

from __future__ import annotations

import zlib

import trio

__all__ = ["DeflateStream"]

DEFAULT_RECEIVE_SIZE = 65536


class DeflateStream(trio.abc.Stream):
    """A ``trio.abc.Stream`` that deflates what it sends and inflates what it receives."""

    def __init__(self, transport: trio.abc.Stream, received: bytes = b"") -> None:
        """``received``: compressed bytes that already arrived before the wrapper was in place."""
        self.transport = transport
        self._compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        self._decompressor = zlib.decompressobj(-15)
        self._pending = received  # compressed bytes received but not inflated yet

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        compressed = self._compressor.compress(bytes(data))
        compressed += self._compressor.flush(zlib.Z_SYNC_FLUSH)
        await self.transport.send_all(compressed)

    async def wait_send_all_might_not_block(self) -> None:
        await self.transport.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        limit = max_bytes or DEFAULT_RECEIVE_SIZE
        while True:
            if self._pending:
                try:
                    inflated = self._decompressor.decompress(self._pending, limit)
                except zlib.error as exc:
                    raise trio.BrokenResourceError(f"corrupt DEFLATE data: {exc}") from None
                self._pending = self._decompressor.unconsumed_tail
                if inflated:
                    return inflated
            compressed = await self.transport.receive_some()
            if not compressed:
                return b""
            self._pending += compressed

    async def aclose(self) -> None:
        await self.transport.aclose()
