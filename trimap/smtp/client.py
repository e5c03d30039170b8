"""An SMTP client on trio streams: connect, TLS or STARTTLS, EHLO, AUTH, QUIT.

How it works: ``open_smtp_client(settings, auth)`` connects with the security
the settings ask for, reads the greeting, says EHLO (HELO if the server
refuses it), upgrades with STARTTLS where required, authenticates and yields
an ``SmtpClient``; leaving the block sends QUIT and closes.  ``command``
sends one line and returns the server's ``SmtpReply`` (a code and its text
lines, multi-line replies joined).  Security follows the IMAP rules
(``trimap.engine.login``): ``secure`` is implicit TLS; otherwise STARTTLS,
required, except towards a loopback address, which is spoken to in plain
text.  ``tls.rejectUnauthorized`` and ``tls.minVersion`` apply to both.
Passwords use AUTH PLAIN (else LOGIN); access tokens XOAUTH2 (else
OAUTHBEARER), with the SASL messages imapproto builds for IMAP, which are
the same bytes in SMTP (RFC 4954).

Why a trio client and not ``smtplib`` in a worker thread: a thread cannot be
cancelled, so a request's deadline or the service's shutdown would leave it
running (and holding a thread and a socket) until its socket timeout, and
many slow servers at once would exhaust the thread pool the Redis facade
also uses.  Here every wait is a cancel scope of the caller's task, the
transport (TCP with a deadline, TLS contexts, errno-named failures) is
imapproto's, the same code IMAP connects with, and the protocol needed is
small: a reply is a code and some lines.  ``send`` runs MAIL FROM, RCPT TO
and DATA (with SIZE and BODY=8BITMIME where offered, dot-stuffing, CRLF).

Every failure is an ``SmtpError`` with a message, a code as the reference's
SMTP library names them and, when the server answered, the reply's number
(``status``): ``ECONNREFUSED``/``ETIMEDOUT``/... (connecting), ``ETLS`` (TLS
or STARTTLS), ``EAUTH`` (login refused: the server's own text, e.g. its 535),
``ECONNECTION`` (refused greeting, connection lost), ``EPROTOCOL`` (the
server broke the protocol), ``EENVELOPE`` (sender or every recipient refused),
``EMESSAGE`` (the message refused after DATA).  ``SmtpError.temporary`` says
whether trying again later can help: a 4xx reply or a network failure, not a
5xx or a refused login.

Rules it keeps: credentials travel only in the AUTH exchange and no message
quotes a line we sent; what we send cannot hold CR or LF; reads are bounded
(``MAX_LINE`` per line, ``MAX_REPLY_LINES`` per reply) and every one has a
deadline; bytes received before the TLS handshake of STARTTLS are refused
(they would be read as if they were protected).
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import trio

from imapproto import Command, commands
from imapproto.client import (
    ImapConnectionError,
    Security,
    TlsOptions,
    is_loopback,
    open_transport,
    start_tls,
)
from trimap.accounts.model import Auth, SmtpSettings

__all__ = [
    "SendResult",
    "SmtpClient",
    "SmtpError",
    "SmtpReply",
    "SmtpTimeouts",
    "open_smtp_client",
]

MAX_LINE = 8192  # RFC 5321 allows 512 octets per reply line; servers are often longer
MAX_REPLY_LINES = 512
RECEIVE_SIZE = 16384
MIN_SEND_RATE = 64 * 1024  # bytes/s: DATA may take reply timeout + size / this rate
_REPLY_LINE = re.compile(rb"([2-5][0-9][0-9])([ -]|$)")


class SmtpError(Exception):
    """The SMTP exchange failed; ``code`` names why, ``status`` is the server's reply number."""

    def __init__(self, message: str, code: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    @property
    def temporary(self) -> bool:
        """Whether a later attempt may succeed: a 4xx reply, or no reply at all (network)."""
        if self.status is not None:
            return 400 <= self.status < 500
        return self.code not in _PERMANENT_CODES


_PERMANENT_CODES = frozenset({"EAUTH", "ETLS"})
_DOT_AT_LINE_START = re.compile(rb"(^|\r\n)\.")
_BARE_LINE_END = re.compile(rb"\r?\n")


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the server said to a message: its final reply, and the recipients it refused."""

    reply: SmtpReply
    refused: tuple[tuple[str, SmtpReply], ...] = ()


@dataclass(frozen=True, slots=True)
class SmtpReply:
    """One server reply: its number and its text lines (without the number)."""

    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The reply as one line: ``"535 5.7.8 Authentication failed"``."""
        return " ".join([str(self.code), *(line for line in self.lines if line)])


@dataclass(frozen=True, slots=True)
class SmtpTimeouts:
    """Deadlines, in seconds: TCP connect plus TLS handshake, each reply, QUIT when closing."""

    connect: float = 30.0
    reply: float = 60.0
    quit: float = 5.0


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _address_literal(stream: trio.abc.Stream) -> str:
    """Our address as an EHLO argument (RFC 5321 4.1.3): ``[192.0.2.1]``, ``[IPv6:::1]``."""
    while isinstance(stream, trio.SSLStream):
        stream = stream.transport_stream
    address = "127.0.0.1"
    if isinstance(stream, trio.SocketStream):
        address = str(stream.socket.getsockname()[0]).partition("%")[0]
    parsed = ipaddress.ip_address(address)
    return f"[IPv6:{parsed}]" if parsed.version == 6 else f"[{parsed}]"


class SmtpClient:
    """One SMTP session on a connected stream; see the module comment."""

    def __init__(self, stream: trio.abc.Stream, host: str, timeouts: SmtpTimeouts) -> None:
        self.host = host
        self.extensions: dict[str, str] = {}  # EHLO keyword (upper case) -> its parameters
        self._stream = stream
        self._timeouts = timeouts
        self._buffer = bytearray()
        self._broken = False

    def has(self, extension: str) -> bool:
        """Whether the last EHLO announced ``extension`` (case-insensitive)."""
        return extension.upper() in self.extensions

    @property
    def auth_mechanisms(self) -> frozenset[str]:
        return frozenset(self.extensions.get("AUTH", "").upper().split())

    # -- the wire -----------------------------------------------------------------------

    @contextmanager
    def _guard(self, waiting_for: str, deadline: float) -> Iterator[None]:
        """Run one exchange step: a deadline, and every failure as an ``SmtpError``."""
        try:
            with trio.fail_after(deadline):
                yield
        except trio.TooSlowError:
            self._broken = True
            message = f"{self.host}: {waiting_for} took over {deadline:g} s"
            raise SmtpError(message, "ETIMEDOUT") from None
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            self._broken = True
            raise SmtpError(f"{self.host}: the connection was lost", "ECONNECTION") from None
        except SmtpError:
            self._broken = True
            raise

    async def _read_line(self) -> bytes:
        while (end := self._buffer.find(b"\n")) < 0:
            if len(self._buffer) > MAX_LINE:
                raise SmtpError(f"{self.host} sent a line over {MAX_LINE} bytes", "EPROTOCOL")
            data = await self._stream.receive_some(RECEIVE_SIZE)
            if not data:
                raise SmtpError(f"{self.host} closed the connection", "ECONNECTION")
            self._buffer += data
        line = bytes(self._buffer[:end]).rstrip(b"\r")
        del self._buffer[: end + 1]
        return line

    async def read_reply(self) -> SmtpReply:
        """The server's next reply, all its lines."""
        lines: list[str] = []
        code = 0
        with self._guard("the reply", self._timeouts.reply):
            while True:
                line = await self._read_line()
                match = _REPLY_LINE.match(line)
                if match is None or (lines and int(match[1]) != code):
                    raise SmtpError(f"{self.host} sent a malformed reply", "EPROTOCOL")
                code = int(match[1])
                lines.append(line[4:].decode("utf-8", "replace").strip())
                if match[2] != b"-":
                    return SmtpReply(code, tuple(lines))
                if len(lines) >= MAX_REPLY_LINES:
                    raise SmtpError(
                        f"{self.host} sent a reply over {MAX_REPLY_LINES} lines", "EPROTOCOL"
                    )

    async def command(self, line: str) -> SmtpReply:
        """Send ``line`` (CRLF added) and return the reply."""
        if "\r" in line or "\n" in line:
            raise ValueError("an SMTP command line cannot hold CR or LF")
        with self._guard("sending", self._timeouts.reply):
            await self._stream.send_all(line.encode("utf-8") + b"\r\n")
        return await self.read_reply()

    # -- session steps ------------------------------------------------------------------

    async def hello(self, name: str) -> None:
        """EHLO (HELO when refused); the extensions announced replace the known ones."""
        reply = await self.command(f"EHLO {name}")
        if reply.code >= 500:
            reply = await self.command(f"HELO {name}")
            reply = SmtpReply(reply.code, reply.lines[:1])
        if reply.code != 250:
            raise SmtpError(f"EHLO refused: {reply.text}", "EPROTOCOL", reply.code)
        self.extensions = {}
        for line in reply.lines[1:]:
            keyword, _, params = line.replace("=", " ", 1).partition(" ")
            known = self.extensions.get(keyword.upper())
            self.extensions[keyword.upper()] = f"{known} {params}" if known else params

    async def starttls(self, tls: TlsOptions) -> None:
        """STARTTLS and the TLS handshake; say ``hello`` again afterwards."""
        if not self.has("STARTTLS"):
            raise SmtpError(
                f"{self.host} does not offer STARTTLS, and credentials are never sent"
                " unencrypted (set secure: true for implicit TLS)",
                "ETLS",
            )
        reply = await self.command("STARTTLS")
        if reply.code != 220:
            raise SmtpError(f"STARTTLS refused: {reply.text}", "ETLS", reply.code)
        if self._buffer:
            self._broken = True
            raise SmtpError(f"{self.host} sent data ahead of the TLS handshake", "EPROTOCOL")
        try:
            self._stream = await start_tls(
                self._stream, self.host, tls, handshake_timeout=self._timeouts.connect
            )
        except ImapConnectionError as failure:
            self._broken = True
            raise SmtpError(str(failure), failure.code or "ETLS") from None
        self.extensions = {}

    async def authenticate(self, auth: Auth) -> None:
        """Log in with ``auth``'s password or access token; ``EAUTH`` when refused."""
        offered = self.auth_mechanisms
        if auth.password is not None:
            if "PLAIN" in offered:
                command = commands.authenticate_plain(auth.user, auth.password)
            elif "LOGIN" in offered:
                await self._login(auth.user, auth.password)
                return
            else:
                raise SmtpError(f"{self.host} offers neither AUTH PLAIN nor AUTH LOGIN", "EAUTH")
        elif "XOAUTH2" in offered:
            command = commands.authenticate_xoauth2(auth.user, auth.access_token or "")
        elif "OAUTHBEARER" in offered:
            command = commands.authenticate_oauthbearer(
                auth.user, auth.access_token or "", self.host, None
            )
        else:
            raise SmtpError(f"{self.host} offers neither AUTH XOAUTH2 nor OAUTHBEARER", "EAUTH")
        await self._sasl(command)

    async def _sasl(self, authenticate: Command) -> None:
        """AUTH with the mechanism and messages of imapproto's AUTHENTICATE ``authenticate``."""
        sasl = authenticate.sasl
        assert sasl is not None
        initial = (
            "" if sasl.initial_response is None else " " + (_b64(sasl.initial_response) or "=")
        )
        reply = await self.command(f"AUTH {sasl.mechanism}{initial}")
        if reply.code == 334:  # an error challenge (XOAUTH2's JSON): answer it, or cancel
            error_reply = "*" if sasl.error_reply is None else _b64(sasl.error_reply)
            reply = await self.command(error_reply)
        self._check_login(reply)

    async def _login(self, user: str, password: str) -> None:
        reply = await self.command("AUTH LOGIN")
        for value in (user, password):
            if reply.code != 334:
                break
            reply = await self.command(_b64(value.encode("utf-8")))
        self._check_login(reply)

    @staticmethod
    def _check_login(reply: SmtpReply) -> None:
        if reply.code != 235:
            raise SmtpError(f"Invalid login: {reply.text}", "EAUTH", reply.code)

    async def send(self, sender: str, recipients: Sequence[str], message: bytes) -> SendResult:
        """MAIL FROM ``sender``, RCPT TO each recipient, DATA ``message``; the final reply.

        Recipients the server refuses are reported in ``refused``; if it refuses
        the sender or every recipient, or the message, that is an ``SmtpError``.
        """
        options = ""
        if self.has("SIZE"):
            options += f" SIZE={len(message)}"
        if self.has("8BITMIME") and not message.isascii():
            options += " BODY=8BITMIME"
        reply = await self.command(f"MAIL FROM:<{sender}>{options}")
        if reply.code != 250:
            raise SmtpError(f"Sender refused: {reply.text}", "EENVELOPE", reply.code)
        refused = []
        for recipient in recipients:
            reply = await self.command(f"RCPT TO:<{recipient}>")
            if reply.code not in (250, 251):
                refused.append((recipient, reply))
        if len(refused) == len(recipients):
            await self.command("RSET")
            raise SmtpError(f"Every recipient refused: {reply.text}", "EENVELOPE", reply.code)
        reply = await self.command("DATA")
        if reply.code != 354:
            raise SmtpError(f"DATA refused: {reply.text}", "EMESSAGE", reply.code)
        with self._guard("sending", self._timeouts.reply + len(message) / MIN_SEND_RATE):
            await self._stream.send_all(_data_lines(message))
        reply = await self.read_reply()
        if reply.code != 250:
            raise SmtpError(f"Message refused: {reply.text}", "EMESSAGE", reply.code)
        return SendResult(reply, tuple(refused))

    async def aclose(self) -> None:
        """QUIT (briefly, when the session is intact) and close the connection."""
        try:
            if not self._broken:
                with trio.move_on_after(self._timeouts.quit):
                    await self.command("QUIT")
        except SmtpError:
            pass
        finally:
            await trio.aclose_forcefully(self._stream)


def _data_lines(message: bytes) -> bytes:
    """``message`` as DATA content: CRLF line ends, leading dots doubled, ``.`` to end."""
    crlf = _BARE_LINE_END.sub(b"\r\n", message)
    if not crlf.endswith(b"\r\n"):
        crlf += b"\r\n"
    return _DOT_AT_LINE_START.sub(rb"\1..", crlf) + b".\r\n"


def _security(settings: SmtpSettings) -> Security:
    if settings.secure:
        return Security.TLS
    return Security.PLAIN if is_loopback(settings.host) else Security.STARTTLS


@asynccontextmanager
async def open_smtp_client(
    settings: SmtpSettings, auth: Auth, *, timeouts: SmtpTimeouts | None = None
) -> AsyncIterator[SmtpClient]:
    """A connected, logged-in client for ``settings``; see the module comment."""
    timeouts = timeouts or SmtpTimeouts()
    security = _security(settings)
    tls = TlsOptions(verify=settings.tls.reject_unauthorized, min_version=settings.tls.min_version)
    try:
        stream = await open_transport(
            settings.host, settings.port, security, tls, connect_timeout=timeouts.connect
        )
    except ImapConnectionError as failure:
        raise SmtpError(str(failure), failure.code or "ECONNECTION") from None
    client = SmtpClient(stream, settings.host, timeouts)
    try:
        greeting = await client.read_reply()
        if greeting.code != 220:
            raise SmtpError(f"Greeting refused: {greeting.text}", "ECONNECTION", greeting.code)
        name = _address_literal(stream)
        await client.hello(name)
        if security is Security.STARTTLS:
            await client.starttls(tls)
            await client.hello(name)
        await client.authenticate(auth)
        yield client
    finally:
        await client.aclose()
