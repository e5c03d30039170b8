"""A TCP proxy between trimap and the test Dovecot that can hold one command back.

``GatedProxy`` forwards bytes both ways for every connection; once the client of the
*first* connection has sent ``hold_after`` commands containing ``marker``, the proxy stops
forwarding that connection's client bytes, so the client waits for an answer that never
comes. It lets a test stop a sync at an exact point (after N FETCH commands) instead of
racing it with a timer. Later connections pass freely.
"""

from __future__ import annotations

from contextlib import suppress

import trio


class GatedProxy:
    def __init__(self, upstream_port: int, marker: bytes, hold_after: int) -> None:
        self.upstream_port = upstream_port
        self.marker = marker
        self.hold_after = hold_after
        self.port = 0
        self.seen = 0
        self.holding = trio.Event()
        self._connections = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.serve_listeners, self._handle, listeners)
            task_status.started()

    async def _handle(self, client: trio.SocketStream) -> None:
        with suppress(trio.BrokenResourceError, OSError):  # a side went away (trimap killed)
            await self._relay(client)

    async def _relay(self, client: trio.SocketStream) -> None:
        self._connections += 1
        gated = self._connections == 1
        server = await trio.open_tcp_stream("127.0.0.1", self.upstream_port)
        async with client, server, trio.open_nursery() as nursery:

            async def upstream() -> None:
                async for chunk in client:
                    if gated:
                        self.seen += chunk.count(self.marker)
                        if self.seen >= self.hold_after:
                            self.holding.set()
                            await trio.sleep_forever()
                    await server.send_all(chunk)
                nursery.cancel_scope.cancel()

            async def downstream() -> None:
                async for chunk in server:
                    await client.send_all(chunk)
                nursery.cancel_scope.cancel()

            nursery.start_soon(upstream)
            nursery.start_soon(downstream)
