"""Opening the byte stream an IMAP session runs over: TCP, TLS, STARTTLS.

How it works: ``open_transport`` connects a TCP stream with a deadline and,
for ``Security.TLS``, wraps it in TLS at once (implicit TLS, port 993).
``Security.STARTTLS`` and ``Security.PLAIN`` return the bare TCP stream; for
STARTTLS the client later upgrades it in place with ``start_tls`` after the
server's tagged OK.  ``TlsOptions`` builds the ``ssl.SSLContext``.

Rules it keeps:

* Certificates are verified against the system store by default, with the
  host name checked.  A custom CA adds to nothing: it replaces the store.
  Turning verification off must be asked for by name (``verify=False``).
* Plain text is refused unless the host is a loopback address or the caller
  passes ``allow_plaintext=True``: a password is never sent in clear by
  accident.
* TCP keepalive is on, so a silently vanished peer ends the session in
  minutes, not at the next IDLE refresh.
* Every failure to connect, resolve or handshake is an ``ImapConnectionError``
  naming the host and port, never a bare ``OSError``/``ssl.SSLError``.
"""

from __future__ import annotations

import enum
import errno
import ipaddress
import socket
import ssl
from dataclasses import dataclass

import trio

from imapproto.client._errors import ImapConnectionError

__all__ = ["Security", "TlsOptions", "is_loopback", "open_transport", "start_tls"]


class Security(enum.Enum):
    """How the session is protected."""

    TLS = "tls"  # implicit TLS from the first byte (IMAPS, 993)
    STARTTLS = "starttls"  # plain connect, STARTTLS before authenticating (143)
    PLAIN = "plain"  # no TLS at all: loopback or explicit opt-in only


_TLS_VERSIONS = {
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


@dataclass(frozen=True, slots=True)
class TlsOptions:
    """TLS settings of one connection.

    ``ca_file``: a PEM bundle that replaces the system store.  ``min_version``:
    ``"TLSv1.2"`` or ``"TLSv1.3"``.  ``verify=False`` accepts any certificate
    (self-signed test servers); ``server_name`` overrides the name checked.
    """

    verify: bool = True
    ca_file: str | None = None
    min_version: str | None = None
    server_name: str | None = None

    def context(self) -> ssl.SSLContext:
        """A fresh client ``SSLContext`` for these options."""
        if self.min_version is not None and self.min_version not in _TLS_VERSIONS:
            raise ValueError(f"min_version must be one of {', '.join(_TLS_VERSIONS)}")
        try:
            context = ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ImapConnectionError(f"cannot load CA file {self.ca_file}: {exc}") from None
        if self.min_version is not None:
            context.minimum_version = _TLS_VERSIONS[self.min_version]
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def _errno_name(exc: OSError) -> str | None:
    """The errno name of ``exc`` or, for trio's "all attempts failed", of the first attempt."""
    causes: list[BaseException] = [exc]
    if isinstance(exc.__cause__, BaseExceptionGroup):
        causes += list(exc.__cause__.exceptions)
    for cause in causes:
        number = getattr(cause, "errno", None)
        if isinstance(number, int) and number in errno.errorcode:
            return errno.errorcode[number]
    return None


#: TCP keepalive: probe after 60 s of silence, every 15 s, give up after 4 misses, so a
#: peer that vanished without a FIN or RST (NAT timeout, power loss) is noticed in about
#: two minutes even while the session sits in IDLE.
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 60, 15, 4


def _keep_alive(stream: trio.abc.Stream) -> None:
    if not isinstance(stream, trio.SocketStream):
        return
    stream.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (
        ("TCP_KEEPIDLE", KEEPALIVE_IDLE),
        ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
        ("TCP_KEEPCNT", KEEPALIVE_COUNT),
    ):
        option = getattr(socket, name, None)
        if option is not None:  # Linux names; other systems keep their defaults
            stream.setsockopt(socket.IPPROTO_TCP, option, value)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost`` or a loopback address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def open_transport(
    host: str,
    port: int,
    security: Security,
    tls: TlsOptions | None = None,
    *,
    connect_timeout: float = 30.0,
    allow_plaintext: bool = False,
) -> trio.abc.Stream:
    """A connected stream to ``host:port``: TLS-wrapped and handshaken for ``Security.TLS``."""
    if security is Security.PLAIN and not (allow_plaintext or is_loopback(host)):
        raise ImapConnectionError(
            f"refusing an unencrypted connection to {host}:{port} (use TLS or STARTTLS)"
        )
    try:
        with trio.fail_after(connect_timeout):
            stream: trio.abc.Stream = await trio.open_tcp_stream(host, port)
    except trio.TooSlowError:
        raise ImapConnectionError(f"connecting to {host}:{port} timed out", "ETIMEDOUT") from None
    except OSError as exc:
        reason = exc.strerror or exc
        raise ImapConnectionError(
            f"cannot connect to {host}:{port}: {reason}", _errno_name(exc)
        ) from None
    _keep_alive(stream)
    if security is Security.TLS:
        stream = await start_tls(
            stream, host, tls or TlsOptions(), handshake_timeout=connect_timeout
        )
    return stream


async def start_tls(
    stream: trio.abc.Stream, host: str, tls: TlsOptions, *, handshake_timeout: float = 30.0
) -> trio.SSLStream[trio.abc.Stream]:
    """Wrap ``stream`` in TLS and complete the handshake within ``handshake_timeout`` seconds."""
    secured = trio.SSLStream(stream, tls.context(), server_hostname=tls.server_name or host)
    try:
        with trio.fail_after(handshake_timeout):
            await secured.do_handshake()
    except trio.TooSlowError:
        await trio.aclose_forcefully(stream)
        raise ImapConnectionError(f"TLS handshake with {host} timed out", "ETIMEDOUT") from None
    except (trio.BrokenResourceError, ssl.SSLError, OSError) as exc:
        await trio.aclose_forcefully(stream)
        reason = exc.__cause__ or exc
        raise ImapConnectionError(f"TLS handshake with {host} failed: {reason}", "ETLS") from None
    return secured
