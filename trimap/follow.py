"""``trimap events --follow``: tail a trimap's ``/v1/stream`` and print each event.

How it works: ``parse_follow`` reads the subcommand's flags; ``follow``
connects to ``<url>/v1/stream`` with ``trio-websocket``, writes each event
frame to stdout as one JSON line and remembers its ``position``.  When the
connection fails or drops (the service restarts, the network blips, Redis is
briefly unreachable) it reconnects after a jittered, growing delay with
``cursor`` set to that position, so nothing is missed or printed twice.

Rules it keeps: usage problems raise ``FollowUsageError`` (the CLI turns them
into one line and exit 2); an error the service says the client must fix
(invalid input, an expired cursor, a 4xx refusing the handshake) ends
``follow`` with ``FollowError`` (one line, exit 1) rather than retrying
forever; SIGINT/SIGTERM stop it cleanly.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TextIO
from urllib.parse import urlencode

import trio
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    HandshakeError,
    open_websocket_url,
)

from trimap.events import EVENT_KINDS
from trimap.supervise import Backoff

__all__ = ["FollowError", "FollowOptions", "FollowUsageError", "follow", "parse_follow"]

DEFAULT_URL = "ws://127.0.0.1:3000"
MAX_FRAME = 64 * 1024 * 1024  # events carry message text up to notifyTextSize
CLIENT_ERRORS = frozenset({400, 410})


class FollowUsageError(Exception):
    """The ``events`` command line is malformed."""


class FollowError(Exception):
    """The service refused the stream for a reason retrying cannot fix."""


@dataclass(slots=True)
class FollowOptions:
    """Where to connect, where to start and what to ask for; ``cursor`` follows the stream."""

    url: str = DEFAULT_URL
    cursor: str | None = None
    account: str | None = None
    kinds: list[str] = field(default_factory=list)


def parse_follow(argv: Sequence[str]) -> FollowOptions:
    """The options of ``trimap events --follow [--url U] [--cursor C] [--account A] [--event E]``"""
    options = FollowOptions()
    args = list(argv)
    following = False
    while args:
        arg = args.pop(0)
        if arg == "--follow":
            following = True
            continue
        name, has_value, value = arg.partition("=")
        if name not in ("--url", "--cursor", "--account", "--event"):
            raise FollowUsageError(f"unexpected argument '{arg}' for 'events'")
        if not has_value:
            if not args or args[0].startswith("--"):
                raise FollowUsageError(f"{name} needs a value")
            value = args.pop(0)
        if name == "--event":
            values = [value]
            while args and not args[0].startswith("--"):  # --event A B C
                values.append(args.pop(0))
            options.kinds += [kind for v in values for kind in v.split(",") if kind]
        else:
            setattr(options, name[2:], value)
    if not following:
        raise FollowUsageError("'events' needs --follow (trimap events --follow [--url URL] ...)")
    if not options.url.startswith(("ws://", "wss://")):
        raise FollowUsageError(f"--url must start with ws:// or wss://, not '{options.url}'")
    unknown = sorted(set(options.kinds) - EVENT_KINDS)
    if unknown:
        raise FollowUsageError(f"--event: unknown kinds {', '.join(unknown)}")
    return options


def _stream_url(options: FollowOptions) -> str:
    query: dict[str, str | list[str]] = {}
    if options.cursor:
        query["cursor"] = options.cursor
    if options.account:
        query["account"] = options.account
    if options.kinds:
        query["event"] = options.kinds
    url = options.url.rstrip("/") + "/v1/stream"
    return f"{url}?{urlencode(query, doseq=True)}" if query else url


async def _tail_once(options: FollowOptions, out: TextIO, backoff: Backoff) -> None:
    """One connection: print events until it drops; raises ``FollowError`` on a client error."""
    async with open_websocket_url(_stream_url(options), max_message_size=MAX_FRAME) as ws:
        backoff.reset()
        while True:
            message = await ws.get_message()
            frame = json.loads(message)
            if "position" not in frame:
                status = frame.get("statusCode")
                text = frame.get("message", "")
                if status in CLIENT_ERRORS:
                    raise FollowError(f"{frame.get('code', 'error')}: {text}")
                raise ConnectionError(f"the service answered {frame.get('code')}: {text}")
            out.write(json.dumps(frame) + "\n")
            out.flush()
            options.cursor = frame["position"]


async def _reconnecting(options: FollowOptions, out: TextIO) -> None:
    backoff = Backoff(minimum=0.2, maximum=10.0)
    while True:
        try:
            await _tail_once(options, out, backoff)
        except (HandshakeError, ConnectionClosed, OSError) as exc:
            if isinstance(exc, ConnectionRejected) and 400 <= exc.status_code < 500:
                # e.g. a 404: this URL is not a trimap, or one without /v1/stream
                raise FollowError(
                    f"the server refused the stream: HTTP {exc.status_code}"
                ) from None
            delay = backoff.next_delay()
            reason = str(exc) or str(exc.__cause__ or "") or exc.__class__.__name__
            print(f"trimap: stream lost: {reason}; reconnecting in {delay:.1f}s", file=sys.stderr)
            await trio.sleep(delay)


async def _cancel_on_signal(signals: AsyncIterator[int], scope: trio.CancelScope) -> None:
    async for _ in signals:
        scope.cancel()


async def follow(options: FollowOptions, out: TextIO = sys.stdout) -> None:
    """Print the stream's events to ``out`` until SIGINT/SIGTERM, reconnecting from the cursor."""
    failure: FollowError | None = None
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_on_signal, signals, nursery.cancel_scope)
            try:
                await _reconnecting(options, out)
            except FollowError as exc:
                failure = exc
            nursery.cancel_scope.cancel()
    if failure is not None:
        raise failure
