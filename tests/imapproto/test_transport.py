"""The trio transport: TLS, STARTTLS, verification, plaintext policy, COMPRESS=DEFLATE.

Tests that talk to a real server use `imap_server`, so they run on every server of the test bed
(tests/fixtures/imap_servers.py: Dovecot and Cyrus).
"""

from __future__ import annotations

import socket
import zlib

import pytest
import trio
import trio.testing

from imapproto.client._deflate import DeflateStream
from imapproto.client._errors import ImapConnectionError
from imapproto.client._transport import Security, TlsOptions, open_transport, start_tls


async def read_line(stream: trio.abc.Stream, buffer: bytearray) -> bytes:
    while b"\r\n" not in buffer:
        chunk = await stream.receive_some()
        assert chunk, "connection closed"
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\r\n")
    buffer[:] = rest
    return line


async def command(stream: trio.abc.Stream, buffer: bytearray, line: bytes) -> list[bytes]:
    """Send one tagged command, return every line up to and including its completion."""
    tag = line.split(b" ", 1)[0]
    await stream.send_all(line + b"\r\n")
    lines = []
    while True:
        lines.append(await read_line(stream, buffer))
        if lines[-1].startswith(tag + b" "):
            return lines


def trusted(server) -> TlsOptions:
    return TlsOptions(ca_file=str(server.ca_cert))


async def test_implicit_tls_verifies_the_server_against_the_ca(imap_server) -> None:
    stream = await open_transport(
        imap_server.host, imap_server.imaps_port, Security.TLS, trusted(imap_server)
    )
    assert isinstance(stream, trio.SSLStream)
    assert (await read_line(stream, bytearray())).startswith(b"* OK")
    await stream.aclose()


async def test_an_untrusted_certificate_is_refused_unless_verification_is_off(imap_server) -> None:
    with pytest.raises(ImapConnectionError, match="certificate verify failed"):
        await open_transport(imap_server.host, imap_server.imaps_port, Security.TLS, TlsOptions())
    lax = TlsOptions(verify=False)
    stream = await open_transport(imap_server.host, imap_server.imaps_port, Security.TLS, lax)
    assert (await read_line(stream, bytearray())).startswith(b"* OK")
    await stream.aclose()


async def test_minimum_tls_version_is_applied(imap_server) -> None:
    options = TlsOptions(ca_file=str(imap_server.ca_cert), min_version="TLSv1.3")
    stream = await open_transport(imap_server.host, imap_server.imaps_port, Security.TLS, options)
    assert stream.version() == "TLSv1.3"  # type: ignore[attr-defined]
    await stream.aclose()
    with pytest.raises(ValueError, match="min_version"):
        TlsOptions(min_version="SSLv3").context()


async def test_starttls_upgrades_the_plain_stream(imap_server) -> None:
    stream = await open_transport(imap_server.host, imap_server.imap_port, Security.STARTTLS)
    buffer = bytearray()
    assert (await read_line(stream, buffer)).startswith(b"* OK")
    assert (await command(stream, buffer, b"a STARTTLS"))[-1].startswith(b"a OK")
    assert not buffer
    secured = await start_tls(stream, imap_server.host, trusted(imap_server))
    caps = await command(secured, buffer, b"b CAPABILITY")
    assert caps[-1].startswith(b"b OK")
    assert b"STARTTLS" not in caps[0] and b"AUTH=PLAIN" in caps[0]
    await secured.aclose()


async def test_plaintext_is_refused_for_non_loopback_hosts_before_connecting() -> None:
    with pytest.raises(ImapConnectionError, match="refusing an unencrypted connection"):
        await open_transport("imap.example.invalid", 143, Security.PLAIN)


async def test_connection_refused_is_a_connection_error() -> None:
    with trio.socket.socket() as probe:
        await probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ImapConnectionError, match=f"cannot connect to 127.0.0.1:{port}"):
        await open_transport("127.0.0.1", port, Security.PLAIN)


async def test_deflate_stream_round_trips_and_bounds_inflation() -> None:
    left, right = trio.testing.memory_stream_pair()
    client, server = DeflateStream(left), DeflateStream(right)
    await client.send_all(b"a NOOP\r\n")
    assert await server.receive_some() == b"a NOOP\r\n"
    # a decompression bomb: 64 MiB of zeros is ~64 KiB compressed
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = bomb.compress(b"\0" * (64 << 20)) + bomb.flush(zlib.Z_SYNC_FLUSH)
    await right.send_all(payload)
    received = 0
    while received < 64 << 20:
        chunk = await client.receive_some(1 << 16)
        assert 0 < len(chunk) <= 1 << 16
        received += len(chunk)
    assert received == 64 << 20


async def test_corrupt_deflate_data_breaks_the_stream() -> None:
    left, right = trio.testing.memory_stream_pair()
    client = DeflateStream(left)
    await right.send_all(b"\xff\xff\xff\xff not deflate")
    with pytest.raises(trio.BrokenResourceError, match="corrupt DEFLATE"):
        await client.receive_some()


async def test_compress_deflate_with_a_real_server(imap_server, imap_user) -> None:
    stream = await open_transport(imap_server.host, imap_server.imap_port, Security.PLAIN)
    buffer = bytearray()
    await read_line(stream, buffer)
    login = f'a LOGIN "{imap_user.user}" "{imap_user.password}"'.encode()
    assert (await command(stream, buffer, login))[-1].startswith(b"a OK")
    assert (await command(stream, buffer, b"b COMPRESS DEFLATE"))[-1].startswith(b"b OK")
    compressed = DeflateStream(stream)
    listing = await command(compressed, buffer, b'c LIST "" "*"')
    assert listing[-1].startswith(b"c OK")
    assert any(b"\\sent" in line.lower() for line in listing)  # Cyrus: lower-case "\sent"
    await compressed.aclose()


async def test_connections_use_tcp_keepalive(imap_server) -> None:
    stream = await open_transport("127.0.0.1", imap_server.imap_port, Security.PLAIN)
    try:
        assert isinstance(stream, trio.SocketStream)
        assert stream.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert stream.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 60
    finally:
        await stream.aclose()
