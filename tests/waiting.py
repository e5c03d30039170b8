# Waiting for something to become true, for every test and fixture of the project.
#
# Rules: nothing waits by sleeping a fixed time and hoping. A wait polls a predicate until it
# returns something truthy or a deadline passes; then it raises AssertionError saying what was
# awaited, for how long, and the last value (or exception) seen, so a failure explains itself.
# The interval is only how often to look, never a guess at how long something takes. Tests never
# assert on timing: the timeout is a generous upper bound that only a broken system reaches.
# (ruff's ASYNC109 is silenced for the async variant: a poll loop owns its deadline, and a
# trio.fail_after around it would cut a predicate off mid-call.)
#
#   wait_until(predicate, timeout, interval)              plain (sync) code and fixtures
#   await wait_until_async(predicate, timeout, interval)  trio tests; the predicate may be async
from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

import trio

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0
DEFAULT_INTERVAL = 0.02


Message = str | Callable[[], str] | None


def _describe(predicate: object, message: Message) -> str:
    if callable(message):
        return message()
    if message:
        return message
    return getattr(predicate, "__qualname__", None) or repr(predicate)


def _timeout_error(what: str, timeout: float, last: object, error: BaseException | None) -> str:
    text = f"timed out after {timeout:g}s waiting for {what}; last value: {last!r}"
    if error is not None:
        text += f"; last exception: {error!r}"
    return text


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = DEFAULT_INTERVAL,
    *,
    message: Message = None,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `predicate` until it returns a truthy value and return that value.

    Exceptions of the types in `ignore` count as "not yet" (e.g. ConnectionRefusedError while a
    server starts). Raises AssertionError once `timeout` seconds have passed; `message` (a string,
    or a callable evaluated then) says what was awaited.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    error: BaseException | None = None
    while True:
        try:
            last = predicate()
            error = None
        except ignore as exc:
            last, error = None, exc
        if last:
            return last
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(
                _timeout_error(_describe(predicate, message), timeout, last, error)
            ) from error
        time.sleep(min(interval, remaining))


@overload
async def wait_until_async(
    predicate: Callable[[], Awaitable[T | None]],
    timeout: float = ...,  # noqa: ASYNC109
    interval: float = ...,
    *,
    message: Message = ...,
    ignore: tuple[type[BaseException], ...] = ...,
) -> T: ...
@overload
async def wait_until_async(
    predicate: Callable[[], T | None],
    timeout: float = ...,  # noqa: ASYNC109
    interval: float = ...,
    *,
    message: Message = ...,
    ignore: tuple[type[BaseException], ...] = ...,
) -> T: ...
async def wait_until_async(
    predicate: Callable[[], Any],
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    interval: float = DEFAULT_INTERVAL,
    *,
    message: Message = None,
    ignore: tuple[type[BaseException], ...] = (),
) -> Any:
    """trio variant of `wait_until`; `predicate` may be a plain or an async callable.

    Sleeps with trio between polls and measures the deadline on trio's clock: under a virtual
    (autojump) clock, waiting for a real process or thread would time out at once.
    """
    deadline = trio.current_time() + timeout
    last: object = None
    error: BaseException | None = None
    while True:
        try:
            result = predicate()
            if inspect.isawaitable(result):
                result = await result
            last, error = result, None
        except ignore as exc:
            last, error = None, exc
        if last:
            return last
        remaining = deadline - trio.current_time()
        if remaining <= 0:
            raise AssertionError(
                _timeout_error(_describe(predicate, message), timeout, last, error)
            ) from error
        await trio.sleep(min(interval, remaining))
