"""The auth server client against a real HTTP server (the test bed's receiver): the request it
sends, the answers it accepts, and errors that never carry a secret."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from tests.fixtures.processes import HOST, free_port
from tests.fixtures.webhook_receiver import Response, WebhookReceiver
from trimap import __version__
from trimap.accounts import Auth
from trimap.accounts.authserver import AuthServer, AuthServerError
from trimap.httpclient import HttpClient

URL_PASSWORD = "url-pw-5f2c"
SECRET = "s3cret-9d1a"


@pytest.fixture
async def client() -> AsyncIterator[HttpClient]:
    async with HttpClient() as client:
        yield client


def auth_server(client: HttpClient, url: str | None, timeout: float = 10.0) -> AuthServer:
    async def configured() -> str | None:
        return url

    return AuthServer(client, configured, timeout=timeout)


def answer(body: Any, status: int = 200) -> Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(status=status, body=data, headers={"Content-Type": "application/json"})


async def failure(server: AuthServer) -> str:
    with pytest.raises(AuthServerError) as caught:
        await server.credentials("a1", "imap")
    message = str(caught.value)
    assert SECRET not in message and URL_PASSWORD not in message
    return message


async def test_a_password_answer_and_the_request_that_asked_for_it(
    client: HttpClient, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.respond_with(answer({"user": "ann", "pass": SECRET, "ttl": 60}))
    url = webhook_receiver.url + "creds?tenant=a%20b&account=old&flag"
    auth = await auth_server(client, url).credentials("acc 1/é&x", "imap")
    assert auth == Auth("ann", password=SECRET)
    [request] = webhook_receiver.requests
    assert request.method == "GET"
    assert request.path == "/creds?tenant=a%20b&flag&account=acc%201%2F%C3%A9%26x&proto=imap"
    assert request.headers["User-Agent"] == f"trimap/{__version__}"
    assert request.headers["Authorization"] is None


async def test_an_access_token_answer_for_smtp(
    client: HttpClient, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.respond_with(answer({"user": "ann", "accessToken": SECRET}))
    auth = await auth_server(client, webhook_receiver.url).credentials("a1", "smtp")
    assert auth == Auth("ann", access_token=SECRET)
    assert webhook_receiver.requests[0].path == "/?account=a1&proto=smtp"


async def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_shown(
    client: HttpClient, webhook_receiver: WebhookReceiver
) -> None:
    url = f"http://ops:{URL_PASSWORD}@{HOST}:{webhook_receiver.port}/creds?key={URL_PASSWORD}"
    webhook_receiver.respond_with(answer({"user": "ann", "pass": SECRET}))
    assert await auth_server(client, url).credentials("a1", "imap") == Auth("ann", SECRET)
    expected = base64.b64encode(f"ops:{URL_PASSWORD}".encode()).decode()
    assert webhook_receiver.requests[0].headers["Authorization"] == f"Basic {expected}"
    webhook_receiver.respond_with(Response(status=500, body=SECRET.encode(), drop=True))
    message = await failure(auth_server(client, url))
    assert message.startswith(f"GET http://{HOST}:{webhook_receiver.port}/creds?…: ")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"user": "ann"}, 'exactly one of "pass" and "accessToken" is required'),
        (
            {"user": "ann", "pass": SECRET, "accessToken": SECRET},
            'exactly one of "pass" and "accessToken" is required',
        ),
        ({"pass": SECRET}, '"user" must be a string of 1 to 256 characters'),
        ({"user": "a" * 257, "pass": SECRET}, '"user" must be a string of 1 to 256 characters'),
        ({"user": "ann", "pass": ""}, '"pass" must be a string of 1 to 4096 characters'),
        ({"user": "ann", "pass": 7}, '"pass" must be a string of 1 to 4096 characters'),
        (
            {"user": "ann", "accessToken": SECRET * 500},
            '"accessToken" must be a string of 1 to 4096 characters',
        ),
        ([SECRET], "the body is not a JSON object"),
        (None, "the body is not a JSON object"),
        (b"user=ann&pass=" + SECRET.encode(), "the body is not JSON"),
        (b"", "the body is not JSON"),
    ],
)
async def test_an_answer_of_the_wrong_shape_is_an_error(
    client: HttpClient, webhook_receiver: WebhookReceiver, body: Any, message: str
) -> None:
    webhook_receiver.respond_with(answer(body))
    assert await failure(auth_server(client, webhook_receiver.url)) == (
        f"Invalid response: {message}"
    )


async def test_a_status_other_than_2xx_is_an_error(
    client: HttpClient, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.respond_with(answer({"user": "ann", "pass": SECRET}, status=403))
    server = auth_server(client, webhook_receiver.url)
    assert await failure(server) == "Invalid response: 403 Forbidden"
    webhook_receiver.respond_with(answer({"user": "ann", "pass": SECRET}, status=302))
    assert await failure(server) == "Invalid response: 302 Found"


async def test_an_unset_or_unreachable_server_is_an_error(client: HttpClient) -> None:
    assert await failure(auth_server(client, None)) == (
        "Authentication server requested but not set"
    )
    url = f"http://ops:{URL_PASSWORD}@{HOST}:{free_port()}/creds"
    message = await failure(auth_server(client, url))
    assert message.startswith(f"GET http://{HOST}:") and "cannot connect" in message


async def test_a_server_that_never_answers_is_an_error_after_the_timeout(
    client: HttpClient, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.hang()
    url = f"http://ops:{URL_PASSWORD}@{HOST}:{webhook_receiver.port}/creds"
    with trio.fail_after(10):  # a guard for a broken timeout, not a measurement
        message = await failure(auth_server(client, url, timeout=0.2))
    assert message == f"GET http://{HOST}:{webhook_receiver.port}/creds?…: no answer within 0.2 s"
    assert len(webhook_receiver.requests) == 1
