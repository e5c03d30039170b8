"""The account engine: the nursery that will hold one child nursery per account.

How it works: ``AccountEngine.run`` opens the engine's nursery and reports
itself started; it then lives until it is cancelled, which is how the service
stops it.  Account runners (one nursery each: connection, IDLE loop, sync) are
started in that nursery by the account registry; until accounts exist the
nursery is empty and the engine only reports how many runners it holds.

Rules it keeps: nothing it starts outlives it (structured concurrency), and a
failure in one account's nursery must never reach the engine's own.
"""

from __future__ import annotations

import trio

__all__ = ["AccountEngine"]


class AccountEngine:
    """Owns the nursery in which every account runner lives."""

    def __init__(self) -> None:
        self._nursery: trio.Nursery | None = None

    @property
    def running(self) -> bool:
        return self._nursery is not None

    @property
    def runner_count(self) -> int:
        return 0 if self._nursery is None else len(self._nursery.child_tasks)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Hold the engine's nursery open until cancelled."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
