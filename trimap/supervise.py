"""Restart long-lived tasks with backoff: the one way trimap keeps work alive.

How it works: ``supervise`` runs a task function in a loop inside the caller's
nursery.  If the task raises, the failure is logged with its reason and the
task is started again after an exponential, jittered backoff; a task that ran
for ``stable_after`` seconds before failing starts over from the smallest
backoff.  A task that returns normally is finished and is not restarted.

Rules it keeps:

* Cancellation is never caught: cancelling the parent scope stops the task
  and the supervisor at once, wherever they are (backoff sleeps included).
* A failure *before the first start* is not retried: the exception
  propagates to whoever called ``nursery.start(supervise, ...)``, so a
  service that cannot start at all fails loudly instead of looping.
* The task receives ``task_status`` on its first run only; restarts are
  quiet for the parent.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import trio

__all__ = ["Backoff", "open_unwrapping_nursery", "supervise"]

log = logging.getLogger("trimap.supervise")

TaskFunction = Callable[..., Awaitable[None]]


@asynccontextmanager
async def open_unwrapping_nursery() -> AsyncIterator[trio.Nursery]:
    """A nursery whose lone failure is raised as itself, not in an ``ExceptionGroup``.

    For a nursery of helper tasks around one main job (the body), so that the
    job's callers can catch its errors with a plain ``except``.  Several
    failures at once stay a group.
    """
    try:
        async with trio.open_nursery() as nursery:
            yield nursery
    except BaseExceptionGroup as group:
        leaves = list(_leaves(group))
        if len(leaves) == 1:
            raise leaves[0] from None
        raise


def _leaves(group: BaseExceptionGroup[BaseException]) -> Iterator[BaseException]:
    for exception in group.exceptions:
        if isinstance(exception, BaseExceptionGroup):
            yield from _leaves(exception)
        else:
            yield exception


class Backoff:
    """Exponential backoff with full jitter between ``minimum`` and ``maximum`` seconds."""

    def __init__(self, minimum: float = 0.5, maximum: float = 60.0, factor: float = 2.0) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.factor = factor
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.minimum * self.factor**self.attempt)
        self.attempt += 1
        return random.uniform(self.minimum, max(self.minimum, ceiling))

    def reset(self) -> None:
        self.attempt = 0


async def supervise(
    name: str,
    task: TaskFunction,
    *,
    backoff: Backoff | None = None,
    stable_after: float = 60.0,
    task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``task(task_status=...)`` until it returns, restarting it when it fails."""
    backoff = backoff or Backoff()
    first_status: trio.TaskStatus[Any] | None = task_status
    started = False

    class _Relay:
        """Forwards the first ``started()`` to the parent and remembers it happened."""

        def started(self, value: Any = None) -> None:
            nonlocal started, first_status
            started = True
            if first_status is not None:
                first_status.started(value)
                first_status = None

    while True:
        began = trio.current_time()
        try:
            await task(task_status=_Relay())
            return
        except Exception as exc:
            if not started:
                raise
            ran_for = trio.current_time() - began
            if ran_for >= stable_after:
                backoff.reset()
            delay = backoff.next_delay()
            log.error(
                "task failed, restarting",
                extra={"task": name, "error": f"{type(exc).__name__}: {exc}", "retryIn": delay},
                exc_info=exc,
            )
        await trio.sleep(delay)
