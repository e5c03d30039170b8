"""One IMAP session over a trio stream: the I/O half of imapproto.

How it works: an ``ImapSession`` owns a byte stream (``_transport``) and a
sans-IO ``ClientConnection``.  Every exchange is a loop of "ask the
connection for the next event; when it needs data, write what it has queued
and read from the stream under a deadline".  On top of that loop:

* ``execute(command)`` sends one command and returns a ``CommandResult``: the
  tagged completion plus every untagged event that arrived meanwhile;
  ``stream(command)`` yields those events as they arrive (large FETCH bodies
  as ``FetchLiteralData`` chunks, never held whole);
* ``idle()`` runs IDLE as a context: iterate it for EXISTS, EXPUNGE, FETCH,
  VANISHED ...; ``done()`` ends it.  IDLE is re-issued every
  ``Timeouts.idle_refresh`` seconds (servers drop it at 30 minutes), and a
  server without IDLE is polled with NOOP instead;
* ``starttls``, ``compress``, ``login``, ``authenticate``, ``logout``.

Rules it keeps:

* One command on the wire at a time: a ``trio.Lock`` serialises ``execute``,
  ``stream`` and ``idle``, so commands never interleave.
* Untagged data is never dropped: what arrives outside any command (while
  IDLE drains, say) is kept and handed out with the next result, up to
  ``MAX_PENDING_UNTAGGED`` events; beyond that the server is misbehaving and
  the session fails.
* Every wait has a deadline (``Timeouts``).  A timeout, a broken or closed
  stream, a BYE, or a cancellation in the middle of an exchange all leave
  the session *broken* (a NO/BAD answer or a command refused locally before
  anything was sent do not): later calls raise ``ImapConnectionError`` at once,
  and the owner reconnects.  That is the one exception type for "the
  connection is gone".
* A response the parser cannot read is skipped (noted in the protocol log):
  one odd response from a quirky server does not end the session.
* Nothing large is copied on the way out: the connection hands over a big
  APPEND literal as the caller's own object, and it is written in
  ``SEND_WINDOW`` slices (memoryviews), so TLS or DEFLATE never hold more than
  one window of it either.
* ``aclose`` sends LOGOUT (shielded from cancellation, bounded by
  ``Timeouts.logout``) when the session is still usable, then closes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import NoReturn, TypeVar

import trio

from imapproto._commands import Command, capability, compress, idle, login, logout
from imapproto._commands import noop as noop_command
from imapproto._commands import starttls as starttls_command
from imapproto._connection import (
    PAUSED,
    AuthenticationChallenge,
    ClientConnection,
    CommandCompleted,
    ConnectionState,
    IdleStarted,
)
from imapproto._errors import LocalProtocolError, ProtocolError
from imapproto._events import NEED_DATA, ConnectionClosed, Event, UntaggedCondition
from imapproto.client._deflate import DeflateStream
from imapproto.client._errors import AuthenticationFailed, CommandFailed, ImapConnectionError
from imapproto.client._protocollog import ProtocolLog, ReceivedLines
from imapproto.client._transport import Security, TlsOptions, open_transport, start_tls

__all__ = [
    "MAX_PENDING_UNTAGGED",
    "CommandResult",
    "CommandStream",
    "IdleStream",
    "ImapSession",
    "Timeouts",
    "open_session",
]

RECEIVE_SIZE = 65536
SEND_WINDOW = 256 * 1024
MAX_PENDING_UNTAGGED = 100_000


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Deadlines, in seconds, for each phase of a session."""

    connect: float = 30.0  # TCP connect and TLS handshake
    greeting: float = 30.0  # the server's first line
    read: float = 120.0  # longest silence while a command is in flight
    idle_refresh: float = 600.0  # IDLE is re-issued this often (servers stop at 30 min)
    noop_poll: float = 30.0  # NOOP interval for servers without IDLE
    logout: float = 5.0  # LOGOUT when closing


@dataclass(frozen=True, slots=True)
class CommandResult:
    """A completed command: its tagged response and the untagged events that came with it."""

    completed: CommandCompleted
    untagged: tuple[Event, ...]

    @property
    def ok(self) -> bool:
        return self.completed.ok


class ImapSession:
    """An IMAP session on a connected stream; see the module comment.

    ``ignored_capabilities`` are treated as absent by ``has`` (and so never
    used or enabled): a way around a server's broken extension.
    """

    ignored_capabilities: frozenset[str] = frozenset()

    def __init__(
        self,
        transport: trio.abc.Stream,
        host: str,
        *,
        timeouts: Timeouts | None = None,
        protocol_log: ProtocolLog | None = None,
    ) -> None:
        self.host = host
        self.timeouts = timeouts or Timeouts()
        self.greeting: UntaggedCondition | None = None
        self._transport = transport
        self._connection = ClientConnection()
        self._lock = trio.Lock()  # one exchange on the wire at a time
        self._send_lock = trio.Lock()  # DONE may be sent while the reader waits
        self._pending: deque[Event] = deque()
        self._log = protocol_log
        self._received = ReceivedLines(protocol_log) if protocol_log else None
        self._broken: ImapConnectionError | None = None

    # -- state ----------------------------------------------------------------------

    @property
    def capabilities(self) -> frozenset[str]:
        return self._connection.capabilities

    @property
    def enabled(self) -> frozenset[str]:
        return self._connection.enabled

    @property
    def state(self) -> ConnectionState:
        return self._connection.state

    @property
    def usable(self) -> bool:
        """Whether commands can still be sent (not broken, not logged out)."""
        return self._broken is None and self.state is not ConnectionState.LOGOUT

    def has(self, capability_name: str) -> bool:
        name = capability_name.upper()
        return name in self._connection.capabilities and name not in self.ignored_capabilities

    # -- the exchange loop ----------------------------------------------------------

    def _fail(self, reason: str) -> NoReturn:
        self._broken = ImapConnectionError(f"{self.host}: {reason}")
        raise self._broken

    def _check_usable(self) -> None:
        if self._broken is not None:
            raise ImapConnectionError(str(self._broken))
        if self.state is ConnectionState.LOGOUT:
            self._fail("the session has logged out or the server said BYE")

    async def _flush(self) -> None:
        async with self._send_lock:
            for piece in self._connection.data_to_send_with_passthrough():
                with memoryview(piece) as view:
                    for start in range(0, len(view), SEND_WINDOW):
                        await self._send_all(view[start : start + SEND_WINDOW])

    async def _send_all(self, data: memoryview) -> None:
        try:
            with trio.fail_after(self.timeouts.read):
                await self._transport.send_all(data)
        except trio.TooSlowError:
            self._fail(f"sending stalled for {self.timeouts.read:g}s")
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._fail(f"connection lost while sending ({exc or type(exc).__name__})")

    async def _receive(self, deadline: float) -> None:
        try:
            with trio.fail_at(deadline):
                data = bytes(await self._transport.receive_some(RECEIVE_SIZE))
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            self._fail(f"connection lost ({exc or type(exc).__name__})")
        if self._received is not None:
            self._received.feed(data)
        self._connection.receive_data(data)

    async def _next_event(self, silence: float | None = None) -> Event:
        """The next event, reading as needed; at most ``silence`` seconds without bytes.

        Raises ``trio.TooSlowError`` when the silence deadline passes (the
        caller decides whether that is an error), ``ImapConnectionError``
        when the stream breaks or closes.
        """
        silence = self.timeouts.read if silence is None else silence
        while True:
            try:
                event = self._connection.next_event()
            except ProtocolError as exc:
                if self._log is not None:
                    self._log("S", f"! unreadable response skipped: {exc}")
                continue
            if event is NEED_DATA:
                await self._flush()
                await self._receive(trio.current_time() + silence)
                continue
            if event is PAUSED:
                return self._fail("transport switch pending")  # a bug: never reached
            if isinstance(event, ConnectionClosed):
                self._fail("the server closed the connection")
            return event

    async def _next_event_or_fail(self) -> Event:
        try:
            return await self._next_event()
        except trio.TooSlowError:
            self._fail(f"no answer from the server for {self.timeouts.read:g}s")

    def _send(self, command: Command) -> str:
        self._check_usable()
        tag = self._connection.send_command(command)
        if self._log is not None:
            self._log("C", command.render(tag, self._connection.encoding_options))
        return tag

    def _answer(self, challenge: AuthenticationChallenge) -> None:
        """A challenge the mechanism does not answer by itself aborts AUTHENTICATE."""
        if not challenge.answered:
            self._connection.cancel_authentication()
        if self._log is not None:
            self._log("C", "***" if challenge.answered else "*")

    def _take_pending(self) -> list[Event]:
        events = list(self._pending)
        self._pending.clear()
        return events

    def _keep(self, event: Event) -> None:
        if len(self._pending) >= MAX_PENDING_UNTAGGED:
            self._fail("too much unsolicited data from the server")
        self._pending.append(event)

    @asynccontextmanager
    async def _exchange(self) -> AsyncIterator[None]:
        """Hold the wire; anything escaping mid-exchange (cancellation too) breaks the session."""
        async with self._lock:
            self._check_usable()
            try:
                yield
            except BaseException as exc:
                if self._broken is None and not isinstance(exc, CommandFailed | LocalProtocolError):
                    self._broken = ImapConnectionError(
                        f"{self.host}: exchange interrupted ({type(exc).__name__})"
                    )
                    await trio.aclose_forcefully(self._transport)
                raise

    async def _run(self, command: Command) -> CommandResult:
        """Send ``command`` and collect events up to its completion (lock held)."""
        tag = self._send(command)
        untagged = self._take_pending()
        while True:
            event = await self._next_event_or_fail()
            if isinstance(event, CommandCompleted) and event.tag == tag:
                return CommandResult(event, tuple(untagged))
            if isinstance(event, AuthenticationChallenge):
                self._answer(event)
                continue
            untagged.append(event)

    # -- commands ---------------------------------------------------------------------

    async def execute(self, command: Command, *, check: bool = True) -> CommandResult:
        """Run ``command``; a NO/BAD raises ``CommandFailed`` unless ``check`` is false."""
        async with self._exchange():
            result = await self._run(command)
        if check and not result.ok:
            raise _failure(command, result.completed)
        return result

    @asynccontextmanager
    async def stream(self, command: Command, *, check: bool = True) -> AsyncIterator[CommandStream]:
        """Run ``command`` and iterate its untagged events as they arrive.

        Leaving the block early reads the rest of the command's responses
        (kept for the next result), so the session stays usable.
        """
        async with self._exchange():
            events = CommandStream(self, self._send(command), self._take_pending())
            yield events
            await events.drain()
        completed = events.completed
        assert completed is not None
        if check and not completed.ok:
            raise _failure(command, completed)

    @asynccontextmanager
    async def idle(self) -> AsyncIterator[IdleStream]:
        """IDLE (or NOOP polling without it) as a context; iterate it, ``done()`` ends it.

        The server is idling once the block starts; leaving the block sends
        DONE and reads up to IDLE's completion (events kept for the next result).
        """
        async with self._exchange():
            stream = IdleStream(self, self._take_pending())
            await stream.begin()
            yield stream
            await stream.finish()

    # -- session set-up ---------------------------------------------------------------

    async def read_greeting(self) -> UntaggedCondition:
        """Wait for the server's greeting; a BYE greeting is an ``ImapConnectionError``."""
        async with self._exchange():
            try:
                event = await self._next_event(self.timeouts.greeting)
            except trio.TooSlowError:
                self._fail(f"no greeting within {self.timeouts.greeting:g}s")
        if not isinstance(event, UntaggedCondition) or event.status not in ("OK", "PREAUTH"):
            text = event.text if isinstance(event, UntaggedCondition) else type(event).__name__
            self._fail(f"the server refused the connection: {text}")
        self.greeting = event
        return event

    async def refresh_capabilities(self) -> frozenset[str]:
        """CAPABILITY, when the server has not announced them since the last change."""
        if not self.capabilities:
            await self.execute(capability())
        return self.capabilities

    async def starttls(self, tls: TlsOptions) -> None:
        """Upgrade to TLS with STARTTLS; the capabilities are read again afterwards."""
        await self.refresh_capabilities()
        if not self.has("STARTTLS"):
            self._fail("the server does not offer STARTTLS")
        await self._switch_transport(starttls_command(), tls)
        await self.refresh_capabilities()

    async def compress(self) -> bool:
        """COMPRESS=DEFLATE when the server offers it; returns whether it is on."""
        if not self.has("COMPRESS=DEFLATE") or isinstance(self._transport, DeflateStream):
            return False
        await self._switch_transport(compress(), None)
        return True

    async def _switch_transport(self, command: Command, tls: TlsOptions | None) -> None:
        async with self._exchange():
            result = await self._run(command)
            if not result.ok:
                raise _failure(command, result.completed)
            self._pending.extend(result.untagged)
            try:
                trailing = self._connection.transport_switched()
            except ProtocolError as exc:
                self._fail(f"refusing the session: {exc}")
            if tls is not None:
                self._transport = await start_tls(
                    self._transport, self.host, tls, handshake_timeout=self.timeouts.connect
                )
            else:
                self._transport = DeflateStream(self._transport, trailing)

    async def login(self, user: str, password: str) -> None:
        """LOGIN; a refusal is ``AuthenticationFailed`` with the server's text and code."""
        if self.has("LOGINDISABLED"):
            raise AuthenticationFailed("LOGIN", "NO", None, "the server disables LOGIN")
        await self._authenticate(login(user, password))

    async def authenticate(self, command: Command) -> None:
        """AUTHENTICATE with a command built by ``imapproto`` (PLAIN, XOAUTH2, OAUTHBEARER)."""
        await self._authenticate(command)

    async def _authenticate(self, command: Command) -> None:
        try:
            await self.execute(command)
        except CommandFailed as exc:
            raise AuthenticationFailed(exc.command, exc.status, exc.code, exc.text) from None
        await self.refresh_capabilities()

    async def aclose(self) -> None:
        """LOGOUT if still usable (shielded, bounded), then close the stream."""
        with trio.CancelScope(shield=True):
            if self.usable and not self._lock.locked():
                with trio.move_on_after(self.timeouts.logout):
                    with suppress(ImapConnectionError):
                        await self.execute(logout(), check=False)
            self._broken = self._broken or ImapConnectionError(f"{self.host}: session closed")
            with trio.move_on_after(1.0):
                await self._transport.aclose()
            await trio.aclose_forcefully(self._transport)


def _failure(command: Command, completed: CommandCompleted) -> CommandFailed:
    code = completed.code.name if completed.code is not None else None
    return CommandFailed(command.name, completed.status, code, completed.text)


class CommandStream:
    """The untagged events of one command, as they arrive; see ``ImapSession.stream``."""

    def __init__(self, session: ImapSession, tag: str, pending: list[Event]) -> None:
        self._session = session
        self._tag = tag
        self._ready: deque[Event] = deque(pending)
        self.completed: CommandCompleted | None = None

    def __aiter__(self) -> CommandStream:
        return self

    async def __anext__(self) -> Event:
        if self._ready:
            return self._ready.popleft()
        while self.completed is None:
            event = await self._session._next_event_or_fail()
            if isinstance(event, CommandCompleted) and event.tag == self._tag:
                self.completed = event
            elif isinstance(event, AuthenticationChallenge):
                self._session._answer(event)
            else:
                return event
        raise StopAsyncIteration

    async def drain(self) -> None:
        """Read up to the completion; events not taken are kept for the next result."""
        for event in self._ready:
            self._session._keep(event)
        self._ready.clear()
        async for event in self:
            self._session._keep(event)


class IdleStream:
    """Events pushed by the server while idling; see ``ImapSession.idle``.

    With IDLE, ``await done()`` (from any task) sends DONE and iteration ends
    at IDLE's completion, after the events that came before it.  Without IDLE
    the server is polled with NOOP every ``Timeouts.noop_poll`` seconds.
    """

    def __init__(self, session: ImapSession, pending: list[Event]) -> None:
        self._session = session
        self._ready: deque[Event] = deque(pending)
        self._polling = not session.has("IDLE")
        self._tag: str | None = None  # the IDLE command in flight
        self._done_sent = False  # DONE queued for the IDLE in flight
        self._stop = trio.Event()
        self._refresh_at = 0.0
        #: Set once the server idles (or polling has begun).
        self.started = trio.Event()

    def __aiter__(self) -> IdleStream:
        return self

    async def done(self) -> None:
        """Stop idling: iteration ends once the server has confirmed."""
        self._stop.set()
        self._send_done()
        await self._session._flush()

    def _send_done(self) -> None:
        if self._tag is not None and not self._done_sent:
            self._done_sent = True
            self._session._connection.done()
            if self._session._log is not None:
                self._session._log("C", "DONE")

    async def begin(self) -> None:
        """Enter IDLE (or polling) before the caller's block runs."""
        if self._polling:
            self.started.set()
        else:
            await self._start()

    async def _start(self) -> None:
        session = self._session
        self._tag = session._send(idle())
        self._done_sent = False
        while True:
            event = await session._next_event_or_fail()
            if isinstance(event, IdleStarted):
                break
            if isinstance(event, CommandCompleted) and event.tag == self._tag:
                self._tag = None
                self._polling = True  # refused: poll instead
                return
            self._ready.append(event)
        self._refresh_at = trio.current_time() + session.timeouts.idle_refresh
        self.started.set()
        if self._stop.is_set():
            self._send_done()

    async def __anext__(self) -> Event:
        session = self._session
        while True:
            if self._ready:
                return self._ready.popleft()
            if self._tag is None:
                if self._stop.is_set():
                    raise StopAsyncIteration
                if self._polling:
                    await self._poll()
                else:
                    await self._start()
                continue
            if self._done_sent:
                event = await session._next_event_or_fail()
            else:
                try:
                    event = await session._next_event(self._refresh_at - trio.current_time())
                except trio.TooSlowError:
                    self._send_done()  # refresh: a new IDLE follows this one's completion
                    continue
            if isinstance(event, CommandCompleted) and event.tag == self._tag:
                self._tag = None
                if not event.ok:
                    session._fail(f"IDLE ended with {event.status} {event.text}")
            elif not isinstance(event, IdleStarted):
                return event

    async def _poll(self) -> None:
        self.started.set()
        with trio.move_on_after(self._session.timeouts.noop_poll):
            await self._stop.wait()
        if not self._stop.is_set():
            result = await self._session._run(noop_command())
            self._ready.extend(result.untagged)

    async def finish(self) -> None:
        """Leave IDLE after the block: DONE, then read up to its completion, keeping events."""
        self._stop.set()
        self._send_done()
        for event in self._ready:
            self._session._keep(event)
        self._ready.clear()
        while self._tag is not None:
            event = await self._session._next_event_or_fail()
            if isinstance(event, CommandCompleted) and event.tag == self._tag:
                self._tag = None
            elif not isinstance(event, IdleStarted):
                self._session._keep(event)


SessionT = TypeVar("SessionT", bound=ImapSession)


@asynccontextmanager
async def open_session(
    session_type: type[SessionT],
    host: str,
    port: int,
    security: Security = Security.TLS,
    *,
    tls: TlsOptions | None = None,
    timeouts: Timeouts | None = None,
    protocol_log: ProtocolLog | None = None,
    allow_plaintext: bool = False,
) -> AsyncIterator[SessionT]:
    """Connect a ``session_type``: greeting read, STARTTLS if asked; LOGOUT and close on exit."""
    timeouts = timeouts or Timeouts()
    transport = await open_transport(
        host,
        port,
        security,
        tls,
        connect_timeout=timeouts.connect,
        allow_plaintext=allow_plaintext,
    )
    session = session_type(transport, host, timeouts=timeouts, protocol_log=protocol_log)
    try:
        await session.read_greeting()
        if security is Security.STARTTLS:
            await session.starttls(tls or TlsOptions())
        yield session
    finally:
        await session.aclose()
