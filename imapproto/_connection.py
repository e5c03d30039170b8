"""The client side of an IMAP connection as a state machine (no I/O).

Theory of operation, in the style of h11: the caller owns the socket.  It
hands received bytes to ``receive_data`` and pulls events from
``next_event``; it hands ``Command`` values to ``send_command`` and writes
whatever ``data_to_send`` returns.  In between, the machine keeps the rules:

* **Tags.**  ``send_command`` allocates the tag (``A1``, ``A2`` ...) and
  returns it; the tagged OK/NO/BAD comes back as ``CommandCompleted`` with the
  ``Command`` it completes.  Several commands may be in flight (pipelining);
  completions are matched by tag, whatever their order.
* **Untagged data is never dropped.**  Every parser event other than a tagged
  response or a continuation request is returned as is, in order (EXISTS,
  EXPUNGE, FETCH, VANISHED ... arrive during any command, or none).
* **Continuations.**  A command with synchronising literals is written in
  chunks: ``send_command`` queues the first, and each ``+`` from the server
  releases the next into ``data_to_send``.  AUTHENTICATE and IDLE also own the
  continuation channel until they complete: a server challenge becomes
  ``AuthenticationChallenge`` (answered by ``send_authentication_response``,
  or automatically for XOAUTH2/OAUTHBEARER error challenges), the ``+`` of
  IDLE becomes ``IdleStarted`` and ``done()`` writes ``DONE``.  While a
  command owns the continuation channel no other command may be sent, since
  its bytes would interleave with the owner's.
* **State.**  GREETING -> NOT_AUTHENTICATED (or AUTHENTICATED on PREAUTH) ->
  AUTHENTICATED on LOGIN/AUTHENTICATE OK -> SELECTED on SELECT/EXAMINE OK ->
  back on CLOSE/UNSELECT OK or a failed SELECT; LOGOUT once LOGOUT is sent or
  the server says BYE.  A command not valid in the current state raises
  ``LocalProtocolError``; so does any command sent while one that changes the
  state (LOGIN, AUTHENTICATE, SELECT, EXAMINE, CLOSE, UNSELECT, STARTTLS,
  COMPRESS, LOGOUT) is still in flight: what is valid next depends on its
  outcome.
* **Transport switches.**  After the tagged OK of STARTTLS or COMPRESS the
  machine stops parsing: ``next_event`` returns ``PAUSED`` until the caller
  has put TLS or DEFLATE in place and called ``transport_switched``, which
  returns the bytes already received after the OK (they belong to the new
  layer; after STARTTLS there must be none, else ``ProtocolError``: a
  response injection).  Capabilities are forgotten after STARTTLS, and after
  authentication unless the server sent new ones meanwhile.
* **Capabilities** are tracked from the greeting's code, CAPABILITY
  responses and CAPABILITY codes in OK responses; ``enabled`` from ENABLED.
  They decide how commands are written (``EncodingOptions``).
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from dataclasses import dataclass, field

from ._commands import Command
from ._errors import LocalProtocolError, ProtocolError
from ._events import (
    NEED_DATA,
    Capability,
    ConnectionClosed,
    ContinuationRequest,
    Enabled,
    Event,
    NeedData,
    TaggedResponse,
    UntaggedCondition,
)
from ._parser import DEFAULT_LITERAL_STREAM_THRESHOLD, ResponseParser
from ._types import ResponseCode
from ._writers import EncodingOptions, Mailbox, encode_line

__all__ = [
    "PAUSED",
    "AuthenticationChallenge",
    "ClientConnection",
    "CommandCompleted",
    "ConnectionState",
    "IdleStarted",
    "Paused",
]


class ConnectionState(enum.Enum):
    """Where the connection is in the IMAP state diagram (RFC 3501 section 3)."""

    GREETING = "GREETING"
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    AUTHENTICATED = "AUTHENTICATED"
    SELECTED = "SELECTED"
    LOGOUT = "LOGOUT"


class Paused(enum.Enum):
    """Type of the ``PAUSED`` sentinel."""

    PAUSED = "PAUSED"

    def __repr__(self) -> str:
        return "PAUSED"


#: Returned by ``next_event`` while a transport switch is pending.
PAUSED = Paused.PAUSED


@dataclass(frozen=True, slots=True)
class CommandCompleted(Event):
    """The tagged response ``tag status [code] text`` that completes ``command``."""

    tag: str
    command: Command
    status: str
    code: ResponseCode | None
    text: str

    @property
    def ok(self) -> bool:
        return self.status == "OK"


@dataclass(frozen=True, slots=True)
class AuthenticationChallenge(Event):
    """A server challenge during AUTHENTICATE ``tag``.

    ``data`` is the decoded challenge (None if it was not base64; ``raw`` is
    what followed ``+ ``).  Unless ``answered`` (the mechanism defines the
    reply, e.g. the empty reply to an XOAUTH2 error), the caller must call
    ``send_authentication_response`` or ``cancel_authentication``.
    """

    tag: str
    data: bytes | None
    raw: bytes
    answered: bool


@dataclass(frozen=True, slots=True)
class IdleStarted(Event):
    """The server accepted IDLE ``tag``: updates now arrive until ``done()``."""

    tag: str


# Valid states of each command this machine knows; others may be sent in any
# state after the greeting.
_ANY = frozenset(
    {ConnectionState.NOT_AUTHENTICATED, ConnectionState.AUTHENTICATED, ConnectionState.SELECTED}
)
_NOT_AUTHENTICATED = frozenset({ConnectionState.NOT_AUTHENTICATED})
_AUTHENTICATED = frozenset({ConnectionState.AUTHENTICATED, ConnectionState.SELECTED})
_SELECTED = frozenset({ConnectionState.SELECTED})
_VALID_STATES: dict[str, frozenset[ConnectionState]] = {
    **dict.fromkeys(("CAPABILITY", "NOOP", "LOGOUT", "ID"), _ANY),
    **dict.fromkeys(("STARTTLS", "LOGIN", "AUTHENTICATE"), _NOT_AUTHENTICATED),
    **dict.fromkeys(
        (
            "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE",
            "LIST", "LSUB", "STATUS", "APPEND", "NAMESPACE", "IDLE", "GETQUOTA",
            "GETQUOTAROOT", "COMPRESS",
        ),
        _AUTHENTICATED,
    ),
    "ENABLE": frozenset({ConnectionState.AUTHENTICATED}),
    **dict.fromkeys(
        (
            "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE", "COPY",
            "MOVE", "UID SEARCH", "UID FETCH", "UID STORE", "UID COPY", "UID MOVE",
            "UID EXPUNGE",
        ),
        _SELECTED,
    ),
}  # fmt: skip
_CHANGES_STATE = frozenset(
    {"LOGIN", "AUTHENTICATE", "SELECT", "EXAMINE", "CLOSE", "UNSELECT", "STARTTLS", "COMPRESS",
     "LOGOUT"}
)  # fmt: skip
_SWITCHES_TRANSPORT = frozenset({"STARTTLS", "COMPRESS"})
_OWNS_CONTINUATIONS = frozenset({"AUTHENTICATE", "IDLE"})
_TAG_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9]*")


@dataclass(slots=True)
class _InFlight:
    """A command sent and not yet completed."""

    tag: str
    command: Command
    remaining: list[tuple[bytes, ...]] = field(default_factory=list)  # chunks waiting for "+"
    capability_updates: int = 0  # ClientConnection._capability_updates when sent


class _Idle(enum.Enum):
    WAITING = "WAITING"  # IDLE sent, no "+" yet
    DONE_REQUESTED = "DONE_REQUESTED"  # done() called before the "+"
    ACTIVE = "ACTIVE"  # "+" received
    DONE_SENT = "DONE_SENT"


class ClientConnection:
    """The client side of one IMAP connection: bytes in, events out; commands in, bytes out."""

    def __init__(
        self,
        *,
        tag_prefix: str = "A",
        literal_stream_threshold: int = DEFAULT_LITERAL_STREAM_THRESHOLD,
    ) -> None:
        if not _TAG_PREFIX.fullmatch(tag_prefix):
            raise LocalProtocolError(f"{tag_prefix!r} is not a valid tag prefix")
        self.state = ConnectionState.GREETING
        #: Capabilities the server announced (upper case); empty when unknown.
        self.capabilities: frozenset[str] = frozenset()
        #: Extensions enabled with ENABLE (upper case).
        self.enabled: frozenset[str] = frozenset()
        #: The mailbox of the last successful SELECT/EXAMINE while SELECTED.
        self.selected_mailbox: str | bytes | None = None
        self._tag_prefix = tag_prefix
        self._next_tag = 1
        self._parser = ResponseParser(literal_stream_threshold=literal_stream_threshold)
        self._outgoing: list[bytes] = []  # pieces; large literals are the caller's objects
        self._in_flight: dict[str, _InFlight] = {}
        self._continuation_owner: _InFlight | None = None
        self._state_change_pending = False
        self._idle: _Idle | None = None
        self._challenge_pending = False
        self._capability_updates = 0
        # Transport switch: bytes received since the switching command was
        # sent, and how many bytes the parser had consumed before them.
        self._switch_capture: bytearray | None = None
        self._switch_capture_offset = 0
        self._bytes_received = 0
        # (STARTTLS or COMPRESS, bytes after its OK) until transport_switched().
        self._switch: tuple[str, bytes] | None = None

    # -- properties -------------------------------------------------------------

    @property
    def encoding_options(self) -> EncodingOptions:
        """How commands are written given the current capabilities."""
        return EncodingOptions.from_capabilities(self.capabilities, self.enabled)

    @property
    def in_flight(self) -> tuple[str, ...]:
        """Tags of the commands sent and not yet completed, oldest first."""
        return tuple(self._in_flight)

    # -- receiving ----------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the server; ``b""`` means the connection was closed."""
        self._check_not_paused()
        if self._switch_capture is not None:
            self._switch_capture += data
        self._bytes_received += len(data)
        self._parser.feed(data)

    def next_event(self) -> Event | NeedData | Paused:
        """The next event, ``NEED_DATA`` or ``PAUSED``.

        After it returns ``NEED_DATA``, write ``data_to_send()`` before waiting
        for more bytes: continuations may have released data.
        """
        if self._switch is not None:
            return PAUSED
        while True:
            event = self._parser.next_event()
            if event is NEED_DATA:
                return NEED_DATA
            if isinstance(event, TaggedResponse):
                return self._complete(event)
            if isinstance(event, ContinuationRequest):
                result = self._continue(event)
                if result is None:
                    continue
                return result
            self._track(event)
            return event

    def _track(self, event: Event) -> None:
        """Update state and capabilities from an untagged event."""
        if isinstance(event, ConnectionClosed):
            self.state = ConnectionState.LOGOUT
        elif isinstance(event, Capability):
            self._set_capabilities(event.capabilities)
        elif isinstance(event, Enabled):
            self.enabled |= frozenset(name.upper() for name in event.capabilities)
            self._parser.utf8_accept = self.encoding_options.utf8
        elif isinstance(event, UntaggedCondition):
            self._track_condition(event)
        elif self.state is ConnectionState.GREETING:
            raise ProtocolError(f"expected a greeting, got {type(event).__name__}")

    def _track_condition(self, condition: UntaggedCondition) -> None:
        if condition.status == "BYE":
            self.state = ConnectionState.LOGOUT
        elif self.state is ConnectionState.GREETING:
            if condition.status == "OK":
                self.state = ConnectionState.NOT_AUTHENTICATED
            elif condition.status == "PREAUTH":
                self.state = ConnectionState.AUTHENTICATED
            else:
                raise ProtocolError(f"greeting with status {condition.status}")
        self._track_code(condition.code)

    def _track_code(self, code: ResponseCode | None) -> None:
        if code is not None and code.name == "CAPABILITY" and isinstance(code.value, tuple):
            self._set_capabilities(code.value)

    def _set_capabilities(self, capabilities: tuple[str, ...]) -> None:
        self.capabilities = frozenset(name.upper() for name in capabilities)
        self._capability_updates += 1

    def _complete(self, response: TaggedResponse) -> CommandCompleted:
        sent = self._in_flight.pop(response.tag, None)
        if sent is None:
            raise ProtocolError(f"tagged response for unknown tag {response.tag!r}")
        if self._continuation_owner is sent:
            self._continuation_owner = None
            self._idle = None
            self._challenge_pending = False
        name = sent.command.name
        if name in _CHANGES_STATE:
            self._state_change_pending = False
        self._track_code(response.code)
        ok = response.status == "OK"
        if name in _SWITCHES_TRANSPORT:
            self._end_capture(name, ok)
        if ok:
            self._transition(sent)
        elif name in ("SELECT", "EXAMINE") and response.status == "NO":
            self._leave_selected()
        return CommandCompleted(
            response.tag, sent.command, response.status, response.code, response.text
        )

    def _transition(self, sent: _InFlight) -> None:
        """State changes of a successful command."""
        name = sent.command.name
        if name in ("LOGIN", "AUTHENTICATE"):
            self.state = ConnectionState.AUTHENTICATED
            if self._capability_updates == sent.capability_updates:
                self.capabilities = frozenset()
        elif name in ("SELECT", "EXAMINE"):
            self.state = ConnectionState.SELECTED
            mailbox = sent.command.args[0] if sent.command.args else None
            self.selected_mailbox = mailbox.name if isinstance(mailbox, Mailbox) else None
        elif name in ("CLOSE", "UNSELECT"):
            self._leave_selected()
        elif name == "LOGOUT":
            self.state = ConnectionState.LOGOUT
        elif name == "STARTTLS":
            self.capabilities = frozenset()

    def _leave_selected(self) -> None:
        if self.state is ConnectionState.SELECTED:
            self.state = ConnectionState.AUTHENTICATED
        self.selected_mailbox = None

    def _continue(self, request: ContinuationRequest) -> Event | None:
        """Handle a ``+``: release a chunk, or turn it into an event for the caller."""
        owner = self._continuation_owner
        if owner is None:
            raise ProtocolError("continuation request while no command waits for one")
        if owner.remaining:
            self._outgoing.extend(owner.remaining.pop(0))
            if not owner.remaining and owner.command.name not in _OWNS_CONTINUATIONS:
                self._continuation_owner = None
            return None
        if owner.command.name == "IDLE":
            return self._idle_continuation(owner)
        return self._challenge(owner, request)

    def _idle_continuation(self, owner: _InFlight) -> Event:
        if self._idle is _Idle.WAITING:
            self._idle = _Idle.ACTIVE
        elif self._idle is _Idle.DONE_REQUESTED:
            self._outgoing.append(b"DONE\r\n")
            self._idle = _Idle.DONE_SENT
        else:
            raise ProtocolError("second continuation request during IDLE")
        return IdleStarted(owner.tag)

    def _challenge(self, owner: _InFlight, request: ContinuationRequest) -> Event:
        if self._challenge_pending:
            raise ProtocolError("server challenge before the previous one was answered")
        try:
            data: bytes | None = base64.b64decode(request.raw.strip(), validate=True)
        except binascii.Error:
            data = None
        sasl = owner.command.sasl
        reply = None if sasl is None else sasl.error_reply
        if reply is None:
            self._challenge_pending = True
        else:
            self._outgoing.append(encode_line(reply))
        return AuthenticationChallenge(owner.tag, data, request.raw, answered=reply is not None)

    # -- sending ------------------------------------------------------------------

    def send_command(self, command: Command) -> str:
        """Queue ``command`` for sending and return its tag; bytes via ``data_to_send``."""
        self._check_can_send(command)
        tag = f"{self._tag_prefix}{self._next_tag}"
        # Encoding may refuse the command: nothing has changed yet.
        first, *remaining = command.encode_with_data_passthrough(tag, self.encoding_options)
        self._next_tag += 1
        sent = _InFlight(tag, command, remaining, self._capability_updates)
        self._in_flight[tag] = sent
        self._outgoing.extend(first)
        name = command.name
        if remaining or name in _OWNS_CONTINUATIONS:
            self._continuation_owner = sent
        if name == "IDLE":
            self._idle = _Idle.WAITING
        if name in _CHANGES_STATE:
            self._state_change_pending = True
        if name in _SWITCHES_TRANSPORT:
            self._switch_capture = bytearray()
            self._switch_capture_offset = self._bytes_received
        if name == "LOGOUT":
            self.state = ConnectionState.LOGOUT
        return tag

    def _check_not_paused(self) -> None:
        if self._switch is not None:
            raise LocalProtocolError("transport switch pending: call transport_switched() first")

    def _check_can_send(self, command: Command) -> None:
        self._check_not_paused()
        if self.state is ConnectionState.GREETING:
            raise LocalProtocolError("the server has not greeted yet")
        if self.state is ConnectionState.LOGOUT:
            raise LocalProtocolError("the connection is logging out")
        if self._continuation_owner is not None:
            raise LocalProtocolError(
                f"{self._continuation_owner.command.name} {self._continuation_owner.tag} "
                "waits for a continuation; no other command can be sent"
            )
        if self._state_change_pending:
            raise LocalProtocolError("a command that changes the state is still in flight")
        valid = _VALID_STATES.get(command.name, _ANY)
        if self.state not in valid:
            raise LocalProtocolError(f"{command.name} is not valid in state {self.state.name}")

    def data_to_send(self) -> bytes:
        """Bytes to write to the server now (and forget)."""
        return b"".join(self.data_to_send_with_passthrough())

    def data_to_send_with_passthrough(self) -> list[bytes]:
        """Like ``data_to_send``, as pieces to write in order: large literals are not copied."""
        pieces = self._outgoing
        self._outgoing = []
        return pieces

    def done(self) -> None:
        """End IDLE: ``DONE`` is sent now, or as soon as the server's ``+`` arrives."""
        if self._idle is _Idle.ACTIVE:
            self._outgoing.append(b"DONE\r\n")
            self._idle = _Idle.DONE_SENT
        elif self._idle is _Idle.WAITING:
            self._idle = _Idle.DONE_REQUESTED
        else:
            raise LocalProtocolError("done() without an IDLE in progress")

    def send_authentication_response(self, data: bytes) -> None:
        """Answer the pending ``AuthenticationChallenge`` with ``data`` (sent base64)."""
        self._answer_challenge(encode_line(data))

    def cancel_authentication(self) -> None:
        """Abort AUTHENTICATE (``*``); the server completes it with BAD."""
        self._answer_challenge(b"*\r\n")

    def _answer_challenge(self, line: bytes) -> None:
        if not self._challenge_pending:
            raise LocalProtocolError("no authentication challenge to answer")
        self._challenge_pending = False
        self._outgoing.append(line)

    # -- transport switches -------------------------------------------------------

    def _end_capture(self, name: str, ok: bool) -> None:
        """After STARTTLS/COMPRESS completes: on OK, set aside what follows and pause."""
        capture = self._switch_capture
        self._switch_capture = None
        if not ok or capture is None:
            return
        consumed = self._parser.offset - self._switch_capture_offset
        self._switch = (name, bytes(capture[consumed:]))
        # What follows is TLS or DEFLATE: a fresh parser gets the new layer's output.
        self._bytes_received = 0
        self._parser = ResponseParser(
            literal_stream_threshold=self._parser.literal_stream_threshold,
            max_line_length=self._parser.max_line_length,
            utf8_accept=self._parser.utf8_accept,
        )

    @property
    def transport_switch_pending(self) -> bool:
        """True between a STARTTLS/COMPRESS OK and ``transport_switched()``."""
        return self._switch is not None

    def transport_switched(self) -> bytes:
        """The new layer (TLS, DEFLATE) is in place: resume.

        Returns the bytes received after the OK, which belong to the new
        layer.  After STARTTLS there must be none: the server (or someone on
        the path) injected plaintext, and ``ProtocolError`` is raised.
        """
        if self._switch is None:
            raise LocalProtocolError("no transport switch is pending")
        name, trailing = self._switch
        self._switch = None
        if trailing and name == "STARTTLS":
            raise ProtocolError("data after the STARTTLS OK, before TLS", snippet=trailing)
        return trailing
