"""``hypercorn -k trio 'trimap.asgi:app'`` runs the whole service: an account driven through it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

import trio

from tests.fixtures.api_service import ApiHarness
from tests.fixtures.mail_server import MailServer, MailUser
from tests.fixtures.processes import free_port
from tests.service_process import ROOT
from tests.waiting import wait_until_async

HYPERCORN = Path(sys.executable).with_name("hypercorn")


async def test_the_documented_hypercorn_command_serves_everything(
    redis_url: str, tmp_path: Path, mailserver: MailServer, mail_user: MailUser
) -> None:
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TRIMAP_")}
    environ.update({"REDIS_URL": redis_url, "TRIMAP_DATA_DIR": str(tmp_path)})
    command = [str(HYPERCORN), "-k", "trio", "--bind", f"127.0.0.1:{port}", "trimap.asgi:app"]
    process = await trio.to_thread.run_sync(
        partial(
            subprocess.Popen,
            command,
            cwd=ROOT,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    )
    try:
        api = ApiHarness(f"http://127.0.0.1:{port}", mailserver)

        async def serving() -> bool:
            try:
                return (await api.call("GET", "/health")).status == 200
            except OSError:
                return False

        await wait_until_async(serving, 30, message="hypercorn serving trimap")
        account = await api.add_account(mail_user)  # waits until the engine connected it
        mailserver.deliver(mail_user.user, b"Subject: under hypercorn\r\n\r\nhello\r\n")

        async def listed() -> bool:
            answer = await api.call("GET", f"/v1/account/{account}/messages?path=INBOX")
            return [m["subject"] for m in answer.json()["messages"]] == ["under hypercorn"]

        await wait_until_async(listed, 20, message="the delivered message listed")

        async def announced() -> list[str] | None:
            answer = await api.call("GET", f"/v1/events?account={account}&event=messageNew")
            return [e["data"]["subject"] for e in answer.json()["events"]] or None

        assert await wait_until_async(announced, 20) == ["under hypercorn"]
    finally:
        process.send_signal(signal.SIGTERM)
        status = await trio.to_thread.run_sync(lambda: process.wait(timeout=20))
        output = process.stdout.read().decode() if process.stdout else ""
    assert status == 0, output
