"""trimap's outbound HTTP client against real servers on loopback.

Most tests talk to the `webhook_receiver` fixture (a real HTTP/1.1 keep-alive server that records
every request with the client's address).  A few need a server that misbehaves in ways the
receiver cannot (a body without end, garbage instead of HTTP) or speaks TLS: those run a small
trio server in the test's nursery.  TLS certificates are made with `openssl` per test module.
No test sleeps or asserts on time: hangs are bounded by the client's own timeouts, and outer
`trio.fail_after` scopes only stop a broken client from hanging the run.
"""

from __future__ import annotations

import base64
import json
import shutil
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import quote

import h11
import pytest
import trio
from hypothesis import given
from hypothesis import strategies as st

import trimap
from tests.fixtures.processes import free_port
from tests.fixtures.webhook_receiver import Response, WebhookReceiver
from trimap.httpclient import (
    HttpClient,
    HttpConnectError,
    HttpConnectTimeout,
    HttpError,
    HttpInvalidRequest,
    HttpProtocolError,
    HttpResponseTooLarge,
    HttpTimeout,
    redact_url,
)
from trimap.httpclient._connection import HttpConnection
from trimap.httpclient._pool import ConnectionPool
from trimap.httpclient._url import Origin, parse_url

GUARD = 20  # seconds: an outer bound only a broken client reaches


def client_ports(receiver: WebhookReceiver) -> list[int]:
    return [request.client[1] for request in receiver.requests]


# ---------------------------------------------------------------------- requests and responses
async def test_a_json_post_arrives_intact_with_the_headers_we_promise(
    webhook_receiver: WebhookReceiver,
) -> None:
    document = {"event": "messageNew", "id": "evt-1", "subject": "Grüße ✓"}
    body = json.dumps(document, ensure_ascii=False).encode()
    async with HttpClient() as client:
        response = await client.request(
            "POST",
            webhook_receiver.url + "hooks/mail?account=a1",
            headers={
                "Content-Type": "application/json",
                "X-Trimap-Event-Id": "evt-1",
                "X-Trimap-Signature": "sha256=abc",
            },
            body=body,
        )
    assert (response.status, response.reason, response.body) == (200, "OK", b"")
    assert response.ok and response.header("content-length") == "0"
    [got] = await webhook_receiver.wait_for_async(1)
    assert (got.method, got.path, got.http_version) == (
        "POST",
        "/hooks/mail?account=a1",
        "HTTP/1.1",
    )
    assert got.body == body and got.json() == document
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["Content-Length"] == str(len(body))
    assert got.headers["User-Agent"] == f"trimap/{trimap.__version__}"
    assert got.headers["Host"] == f"127.0.0.1:{webhook_receiver.port}"
    assert got.headers["X-Trimap-Event-Id"] == "evt-1"
    assert got.headers["X-Trimap-Signature"] == "sha256=abc"
    assert "Authorization" not in got.headers


async def test_a_get_has_no_body_framing_and_a_callers_user_agent_wins(
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.respond_with(Response(200, b'{"ok":true}', {"Content-Type": "x/y"}))
    async with HttpClient() as client:
        response = await client.request("get", webhook_receiver.url, headers=[("User-Agent", "t")])
        head = await client.request("HEAD", webhook_receiver.url)
    assert response.body == b'{"ok":true}' and response.header("Content-Type") == "x/y"
    assert head.status == 200 and head.body == b""
    first, _ = await webhook_receiver.wait_for_async(2)
    assert first.method == "GET" and first.headers["User-Agent"] == "t"
    assert "Content-Length" not in first.headers and "Transfer-Encoding" not in first.headers


async def test_error_statuses_are_returned_not_raised(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.enqueue(
        Response(404, b"no such hook"), Response(500, b"oops"), Response(503), 204
    )
    async with HttpClient() as client:
        answers = [await client.request("POST", webhook_receiver.url) for _ in range(4)]
        assert [(a.status, a.body, a.ok) for a in answers] == [
            (404, b"no such hook", False),
            (500, b"oops", False),
            (503, b"", False),
            (204, b"", True),
        ]
        assert answers[0].reason == "Not Found"
        assert client.connections_opened == 1  # an error status does not cost the connection


async def test_a_redirect_is_returned_not_followed(webhook_receiver: WebhookReceiver) -> None:
    elsewhere = webhook_receiver.url + "elsewhere"
    webhook_receiver.enqueue(Response(302, headers={"Location": elsewhere}), Response(301))
    async with HttpClient() as client:
        found = await client.request("POST", webhook_receiver.url + "hook", body=b"{}")
        moved = await client.request("GET", webhook_receiver.url + "old")
    assert (found.status, found.header("location")) == (302, elsewhere)
    assert moved.status == 301
    await webhook_receiver.wait_for_async(2)
    assert [r.path for r in webhook_receiver.requests] == ["/hook", "/old"]


# ---------------------------------------------------------------------- keep-alive and the pool
async def test_sequential_requests_share_one_keep_alive_connection(
    webhook_receiver: WebhookReceiver,
) -> None:
    async with HttpClient() as client:
        for n in range(5):
            await client.request("POST", webhook_receiver.url, body=b'{"n":%d}' % n)
        assert client.connections_opened == 1
        assert client.idle_connections(webhook_receiver.url) == 1
    assert len(set(client_ports(webhook_receiver))) == 1
    assert len(webhook_receiver.requests) == 5


async def test_concurrent_requests_open_connections_and_the_idle_cap_holds(
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.hang()
    async with HttpClient(max_idle_per_origin=2) as client:
        with trio.fail_after(GUARD):
            async with trio.open_nursery() as nursery:
                for _ in range(3):
                    nursery.start_soon(client.request, "POST", webhook_receiver.url)
                await webhook_receiver.wait_for_async(3)
                webhook_receiver.respond_with(200)
                webhook_receiver.release()
        assert client.connections_opened == 3
        assert len(set(client_ports(webhook_receiver))) == 3
        assert client.idle_connections(webhook_receiver.url) == 2  # the third was closed
        await client.request("POST", webhook_receiver.url)
        assert client.connections_opened == 3


async def test_an_idle_connection_past_the_idle_timeout_is_not_reused(
    webhook_receiver: WebhookReceiver,
) -> None:
    async with HttpClient(idle_timeout=0) as client:  # expired as soon as it is idle
        await client.request("POST", webhook_receiver.url)
        await client.request("POST", webhook_receiver.url)
        assert client.connections_opened == 2
    assert len(set(client_ports(webhook_receiver))) == 2


async def test_connection_close_from_the_server_is_honoured(
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.enqueue(Response(200, b"bye", {"Connection": "close"}))
    async with HttpClient() as client:
        assert (await client.request("POST", webhook_receiver.url)).body == b"bye"
        assert client.idle_connections(webhook_receiver.url) == 0
        await client.request("POST", webhook_receiver.url)
        assert client.connections_opened == 2


@dataclass(eq=False)  # hashed by identity, like HttpConnection
class FakeConnection:
    origin: Origin
    spoken: bool = False
    idle_since: float = field(default=0.0)

    def peer_has_spoken(self) -> bool:
        return self.spoken


def test_the_pool_expires_oldest_first_caps_per_origin_and_skips_spoken_connections() -> None:
    pool: ConnectionPool[FakeConnection] = ConnectionPool(max_idle_per_origin=2, idle_timeout=10)
    a, b = Origin("http", "a", 80), Origin("https", "b", 443)
    a1, a2, a3, b1 = FakeConnection(a), FakeConnection(a), FakeConnection(a), FakeConnection(b)
    assert pool.put(a1, now=0) == []
    assert pool.put(b1, now=1) == []
    assert pool.put(a2, now=2) == []
    assert pool.put(a3, now=3) == [a1]  # over the cap: oldest out
    assert (pool.idle_count(a), pool.idle_count(b), len(pool)) == (2, 1, 3)
    assert pool.take(a, now=4) == (a3, [])  # most recently used first
    assert pool.take(b, now=11) == (None, [b1])  # idle since 1: expired at 11
    a2.spoken = True
    assert pool.take(a, now=11) == (None, [a2])  # the server closed it: never handed out
    assert len(pool) == 0


# ---------------------------------------------------------------------- stale connections
async def test_a_server_restart_between_requests_is_invisible_to_the_caller(
    webhook_receiver: WebhookReceiver,
) -> None:
    # stop() closes the kept-alive connection: the client's idle check sees that before use
    async with HttpClient() as client:
        await client.request("POST", webhook_receiver.url, body=b"1")
        await trio.to_thread.run_sync(webhook_receiver.stop)
        await trio.to_thread.run_sync(webhook_receiver.start)
        response = await client.request("POST", webhook_receiver.url, body=b"2")
        assert response.status == 200
        assert client.connections_opened == 2
    assert [r.body for r in webhook_receiver.requests] == [b"1", b"2"]  # each arrived once


async def test_a_reused_connection_closed_in_the_race_is_retried_once(
    webhook_receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the idle check the request is sent on the dead connection: the race in which the
    # server closes it just after the check.  The client must retry once on a new connection.
    monkeypatch.setattr(HttpConnection, "peer_has_spoken", lambda self: False)
    async with HttpClient() as client:
        await client.request("POST", webhook_receiver.url, body=b"1")
        await trio.to_thread.run_sync(webhook_receiver.stop)
        await trio.to_thread.run_sync(webhook_receiver.start)
        response = await client.request("POST", webhook_receiver.url, body=b"2")
        assert response.status == 200
        assert client.connections_opened == 2
    assert [r.body for r in webhook_receiver.requests] == [b"1", b"2"]
    assert len(set(client_ports(webhook_receiver))) == 2


async def test_a_connection_dropped_without_answer_is_retried_only_once_and_only_if_reused(
    webhook_receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(HttpConnection, "peer_has_spoken", lambda self: False)
    webhook_receiver.enqueue(Response(drop=True))
    async with HttpClient() as client:
        # a new connection that ends without a byte of response: not retried
        with pytest.raises(HttpProtocolError, match="closed without a response"):
            await client.request("POST", webhook_receiver.url, body=b"new")
        await client.request("POST", webhook_receiver.url, body=b"ok")
        # on the reused connection: dropped, retried once on a new one, dropped again: error
        webhook_receiver.enqueue(Response(drop=True), Response(drop=True))
        with pytest.raises(HttpProtocolError, match="closed without a response"):
            await client.request("POST", webhook_receiver.url, body=b"reused")
        assert client.connections_opened == 3
    assert [r.body for r in webhook_receiver.requests] == [b"new", b"ok", b"reused", b"reused"]


# ---------------------------------------------------------------------- timeouts
async def test_a_hung_endpoint_raises_http_timeout_and_loses_its_connection(
    webhook_receiver: WebhookReceiver,
) -> None:
    async with HttpClient(response_timeout=0.5) as client:
        await client.request("POST", webhook_receiver.url)  # a keep-alive connection exists
        webhook_receiver.hang()
        with trio.fail_after(GUARD), pytest.raises(HttpTimeout, match="no complete response"):
            await client.request("POST", webhook_receiver.url + "slow", body=b"{}")
        assert client.idle_connections(webhook_receiver.url) == 0
        webhook_receiver.respond_with(200)
        webhook_receiver.release()
        assert (await client.request("POST", webhook_receiver.url)).status == 200
        assert client.connections_opened == 2
    assert [r.path for r in webhook_receiver.requests] == ["/", "/slow", "/"]  # never retried


async def test_a_connect_that_cannot_finish_in_time_is_a_connect_timeout(
    webhook_receiver: WebhookReceiver,
) -> None:
    async with HttpClient(connect_timeout=0) as client:
        with pytest.raises(HttpConnectTimeout, match="timed out") as caught:
            await client.request("POST", webhook_receiver.url)
    assert isinstance(caught.value, HttpConnectError) and isinstance(caught.value, HttpTimeout)
    assert webhook_receiver.requests == []


async def test_a_body_that_drips_forever_is_bounded_by_the_response_timeout(
    nursery: trio.Nursery,
) -> None:
    async def drip(stream: trio.SocketStream) -> None:
        await read_request_head(stream)
        await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        with _client_gone():
            while True:
                await stream.send_all(b"x")
                await trio.sleep(0.01)

    port = await serve(nursery, drip)
    async with HttpClient(response_timeout=0.5, max_response_size=10**7) as client:
        with trio.fail_after(GUARD), pytest.raises(HttpTimeout):
            await client.request("GET", f"http://127.0.0.1:{port}/")


# ---------------------------------------------------------------------- size cap
async def test_an_oversized_response_is_an_error_that_keeps_the_status(
    webhook_receiver: WebhookReceiver,
) -> None:
    webhook_receiver.enqueue(Response(200, b"x" * (64 * 1024 + 1)), Response(200, b"y" * 65536))
    async with HttpClient() as client:
        with pytest.raises(HttpResponseTooLarge, match="over 65536 bytes") as caught:
            await client.request("POST", webhook_receiver.url)
        assert (caught.value.status, caught.value.reason) == (200, "OK")
        assert client.idle_connections(webhook_receiver.url) == 0
        exactly = await client.request("POST", webhook_receiver.url)  # the cap itself is fine
        assert len(exactly.body) == 65536
        assert client.connections_opened == 2


async def test_a_body_without_length_is_cut_at_the_cap_not_read_to_the_end(
    nursery: trio.Nursery,
) -> None:
    sent = 0

    async def endless(stream: trio.SocketStream) -> None:
        nonlocal sent
        await read_request_head(stream)
        await stream.send_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        with _client_gone():
            while True:  # 1 MiB chunks for ever: only the cap can end this
                await stream.send_all(b"100000\r\n" + b"z" * 0x100000 + b"\r\n")
                sent += 0x100000

    port = await serve(nursery, endless)
    async with HttpClient(max_response_size=1000) as client:
        with trio.fail_after(GUARD), pytest.raises(HttpResponseTooLarge):
            await client.request("GET", f"http://127.0.0.1:{port}/")
    assert sent < 64 * 0x100000  # the client stopped reading (the server blocked, then broke)


# ---------------------------------------------------------------------- credentials and secrets
async def test_basic_auth_comes_from_the_url_and_the_url_goes_on_without_it(
    webhook_receiver: WebhookReceiver,
) -> None:
    url = f"http://hook%20user:s3cr%40t-pass@127.0.0.1:{webhook_receiver.port}/hook?x=1"
    async with HttpClient() as client:
        await client.request("POST", url, body=b"{}")
    [got] = await webhook_receiver.wait_for_async(1)
    expected = base64.b64encode(b"hook user:s3cr@t-pass").decode()
    assert got.headers["Authorization"] == f"Basic {expected}"
    assert got.path == "/hook?x=1"
    assert got.headers["Host"] == f"127.0.0.1:{webhook_receiver.port}"


async def test_no_error_text_reveals_a_password_a_query_or_a_header_value(
    webhook_receiver: WebhookReceiver,
) -> None:
    secret = "hunter2-pass"
    port = webhook_receiver.port
    errors: list[HttpError] = []

    async def failing(call: Callable[[], Awaitable[object]]) -> None:
        with pytest.raises(HttpError) as caught:
            await call()
        errors.append(caught.value)

    async with HttpClient(response_timeout=0.3) as client:
        url = f"http://bob:{secret}@127.0.0.1:{port}/hook?token={secret}"
        await failing(lambda: client.request("POST", url, headers={"X-Sig": f"a\r\n{secret}"}))
        await failing(
            lambda: client.request("POST", url, headers={"Authorization": f"Bearer {secret}"})
        )
        webhook_receiver.hang()
        await failing(lambda: client.request("POST", url))
        refused = f"http://bob:{secret}@127.0.0.1:{free_port()}/?token={secret}"
        await failing(lambda: client.request("POST", refused))
        await failing(lambda: client.request("POST", f"ftp://bob:{secret}@host/"))
    assert [type(e) for e in errors] == [
        HttpInvalidRequest,
        HttpInvalidRequest,
        HttpTimeout,
        HttpConnectError,
        HttpInvalidRequest,
    ]
    for error in errors:
        text = f"{error} {error!r} {error.url} {error.__cause__!r} {error.__context__!r}"
        assert secret not in text
        assert error.method == "POST" and error.url.startswith(("http://", "ftp://"))
    assert errors[0].url == f"http://127.0.0.1:{port}/hook?…"


async def test_cr_or_lf_in_a_header_is_refused_before_anything_is_sent(
    webhook_receiver: WebhookReceiver,
) -> None:
    async with HttpClient() as client:
        for headers in (
            {"X-Event": "a\r\nX-Injected: 1"},
            {"X-Event": "a\nb"},
            {"X Bad Name": "v"},
            {"Host": "evil.example"},
            {"Content-Length": "0"},
            {"Transfer-Encoding": "chunked"},
        ):
            with pytest.raises(HttpInvalidRequest) as caught:
                await client.request("POST", webhook_receiver.url, headers=headers)
            assert "Injected" not in str(caught.value)
        with pytest.raises(HttpInvalidRequest, match="method"):
            await client.request("PO ST", webhook_receiver.url)
        with pytest.raises(HttpInvalidRequest, match="no host"):
            await client.request("GET", "http:///path")
        assert client.connections_opened == 0
    assert webhook_receiver.requests == []


def test_urls_are_redacted_and_split() -> None:
    assert redact_url("https://u:p@h.example:8443/a/b?token=t#f") == "https://h.example:8443/a/b?…"
    assert redact_url("http://h/") == "http://h/"
    assert redact_url("http://h/users/a@b") == "http://h/users/a@b"
    assert redact_url("http://h:8080/a@b") == "http://…"  # looks like "user:pass/…@host": withheld
    for misencoded in (
        "http://u:pa/ss@h/",
        "http://u:12/34@h/",
        "http://u:p?ss@h",
        "http://u:p#s@h",
    ):
        assert redact_url(misencoded) == "http://…"
    parsed = parse_url("HTTPS://[::1]:443/x?y=1")
    assert parsed.origin == Origin("https", "::1", 443)
    assert (parsed.host_header, parsed.target, parsed.authorization) == ("[::1]", "/x?y=1", None)
    assert parse_url("http://bücher.example").host_header == "xn--bcher-kva.example"
    assert parse_url("http://h:8080").target == "/"
    assert parse_url("http://user@h/").authorization == "Basic " + base64.b64encode(
        b"user:"
    ).decode("ascii")


secrets = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30)


@given(user=secrets, password=secrets)
def test_any_userinfo_becomes_basic_auth_and_never_reaches_the_redacted_url(
    user: str, password: str
) -> None:
    url = f"https://{quote(user, safe='')}:{quote(password, safe='')}@example.test/p?k=v"
    parsed = parse_url(url)
    assert parsed.authorization is not None
    decoded = base64.b64decode(parsed.authorization.removeprefix("Basic ")).decode()
    assert decoded == f"{user}:{password}"
    assert parsed.redacted == redact_url(url) == "https://example.test/p?…"
    assert (parsed.host_header, parsed.target) == ("example.test", "/p?k=v")


# ---------------------------------------------------------------------- connection failures
async def test_connection_refused_is_a_connect_error(webhook_receiver: WebhookReceiver) -> None:
    port = webhook_receiver.port
    await trio.to_thread.run_sync(webhook_receiver.stop)
    async with HttpClient() as client:
        with pytest.raises(
            HttpConnectError, match=f"^POST http://127.0.0.1:{port}/hook: cannot connect: "
        ):
            await client.request("POST", f"http://127.0.0.1:{port}/hook")


async def test_garbage_instead_of_http_is_a_protocol_error(nursery: trio.Nursery) -> None:
    async def garbage(stream: trio.SocketStream) -> None:
        await read_request_head(stream)
        with _client_gone():
            await stream.send_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    port = await serve(nursery, garbage)
    async with HttpClient() as client:
        with pytest.raises(HttpProtocolError, match="invalid HTTP response"):
            await client.request("GET", f"http://127.0.0.1:{port}/")


async def test_a_closed_client_refuses_requests_and_closes_its_connections(
    webhook_receiver: WebhookReceiver,
) -> None:
    client = HttpClient()
    await client.request("POST", webhook_receiver.url)
    assert client.idle_connections(webhook_receiver.url) == 1
    await client.aclose()
    assert client.idle_connections(webhook_receiver.url) == 0
    with pytest.raises(trio.ClosedResourceError):
        await client.request("POST", webhook_receiver.url)


async def test_cancelling_a_request_closes_its_connection(
    webhook_receiver: WebhookReceiver,
) -> None:
    async with HttpClient() as client:
        await client.request("POST", webhook_receiver.url)
        webhook_receiver.hang()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.request, "POST", webhook_receiver.url)
            await webhook_receiver.wait_for_async(2)
            nursery.cancel_scope.cancel()
        assert client.idle_connections(webhook_receiver.url) == 0
        webhook_receiver.respond_with(200)
        webhook_receiver.release()
        assert (await client.request("POST", webhook_receiver.url)).status == 200
        assert client.connections_opened == 2


# ---------------------------------------------------------------------- TLS
@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificate(directory: Path, names: str) -> Certificate:
    """A self-signed certificate (its own CA) for `names`, e.g. "DNS:localhost,IP:127.0.0.1"."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    directory.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=trimap test", "-addext", f"subjectAltName={names}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return Certificate(cert, key)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Certificate]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make test certificates")
    base = tmp_path_factory.mktemp("httpclient-tls")
    return {
        "loopback": make_certificate(base / "loopback", "DNS:localhost,IP:127.0.0.1"),
        "other": make_certificate(base / "other", "DNS:other.example"),
    }


async def serve_tls(nursery: trio.Nursery, certificate: Certificate, seen: list[int]) -> int:
    """An HTTPS server answering every request with 200 "secure"; `seen` gets one entry per
    request: the number of the connection it came on."""
    connections = 0

    async def handle(stream: trio.SSLStream[trio.SocketStream]) -> None:
        nonlocal connections
        connections += 1
        number = connections
        connection = h11.Connection(h11.SERVER)
        with _client_gone():
            while True:
                event = connection.next_event()
                if event is h11.NEED_DATA:
                    connection.receive_data(bytes(await stream.receive_some()))
                elif isinstance(event, h11.EndOfMessage):
                    seen.append(number)
                    reply = connection.send(
                        h11.Response(status_code=200, headers=[("Content-Length", "6")])
                    )
                    reply += connection.send(h11.Data(data=b"secure"))
                    reply += connection.send(h11.EndOfMessage())
                    await stream.send_all(reply)
                    connection.start_next_cycle()
                elif isinstance(event, h11.ConnectionClosed):
                    return

    listeners = await nursery.start(
        trio.serve_ssl_over_tcp, handle, 0, certificate.server_context()
    )
    return int(listeners[0].transport_listener.socket.getsockname()[1])


async def test_https_verifies_the_server_with_the_given_ca_and_keeps_alive(
    nursery: trio.Nursery, certificates: dict[str, Certificate]
) -> None:
    seen: list[int] = []
    port = await serve_tls(nursery, certificates["loopback"], seen)
    async with HttpClient(ca_file=str(certificates["loopback"].cert)) as client:
        for _ in range(3):
            response = await client.request("POST", f"https://127.0.0.1:{port}/", body=b"{}")
            assert (response.status, response.body) == (200, b"secure")
        assert client.connections_opened == 1
    assert seen == [1, 1, 1]


async def test_https_refuses_an_untrusted_certificate(
    nursery: trio.Nursery, certificates: dict[str, Certificate]
) -> None:
    seen: list[int] = []
    port = await serve_tls(nursery, certificates["loopback"], seen)
    async with HttpClient() as client:  # the system store does not know our test CA
        with pytest.raises(HttpConnectError, match="certificate verify failed"):
            await client.request("POST", f"https://127.0.0.1:{port}/")
    assert seen == []


async def test_https_checks_the_host_name(
    nursery: trio.Nursery, certificates: dict[str, Certificate]
) -> None:
    seen: list[int] = []
    port = await serve_tls(nursery, certificates["other"], seen)  # valid for other.example only
    async with HttpClient(ca_file=str(certificates["other"].cert)) as client:
        with pytest.raises(HttpConnectError, match=r"certificate verify failed: .*mismatch"):
            await client.request("POST", f"https://127.0.0.1:{port}/")
    assert seen == []


# ---------------------------------------------------------------------- raw test servers
class _client_gone:  # lower case: used like contextlib.suppress
    """Ends a server handler quietly when the client hangs up (which these tests make it do)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> bool:
        return exc_type is not None and issubclass(
            exc_type, (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError)
        )


async def read_request_head(stream: trio.abc.Stream) -> bytes:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        data = await stream.receive_some()
        if not data:
            break
        buffer += data
    return buffer


async def serve(
    nursery: trio.Nursery, handler: Callable[[trio.SocketStream], Awaitable[None]]
) -> int:
    """Serve `handler` on a free loopback port in `nursery`; returns the port."""
    listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
    return int(listeners[0].socket.getsockname()[1])


def test_an_unreadable_ca_file_fails_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot load the CA file"):
        HttpClient(ca_file=str(tmp_path / "missing.pem"))
