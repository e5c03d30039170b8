"""Changes made while trimap could not see them are found afterwards, once, with stable ids.

* Dovecot stopped, the Maildir changed behind its back, Dovecot started: the account goes
  disconnected, then connected, and every change is announced once.
* trimap killed (SIGKILL) in the middle of the first sync of a 5,000-message folder and
  started again: every message is announced, each under one event id.
"""

from __future__ import annotations

import base64
import os
import signal
import time
from email.parser import BytesParser
from pathlib import Path

import trio

from tests.fixtures.mail_server import MailServer, MailUser
from tests.service_process import TrimapProcess
from tests.trimap.engine_harness import OtherClient, message_bytes, of_kind, running_engine
from tests.trimap.imap_proxy import GatedProxy
from tests.waiting import wait_until_async
from trimap.accounts import AccountRegistry, parse_account_input
from trimap.events import Event, EventLog
from trimap.metrics import Metrics
from trimap.secrets import SecretBox
from trimap.store import EventLogStore, RedisStore
from trimap.store.accounts import AccountStore

MAIL_UID = MAIL_GID = 8  # the test bed's "mail" user owns the Maildirs


def _subject(path: Path) -> str:
    with path.open("rb") as file:
        return str(BytesParser().parse(file, headersonly=True)["Subject"])


def _message_files(maildir: Path) -> dict[str, Path]:
    return {
        _subject(path): path
        for folder in ("cur", "new")
        for path in (maildir / folder).iterdir()
        if path.is_file()
    }


def _write_message(maildir: Path, name: str, content: bytes, folder: str = "new") -> None:
    path = maildir / folder / name
    path.write_bytes(content)
    os.chown(path, MAIL_UID, MAIL_GID)


async def test_changes_while_the_server_was_down_are_announced_once(
    redis_url: str, mailserver: MailServer, mail_user: MailUser
) -> None:
    other = OtherClient(mailserver, mail_user)
    for subject in ("keep", "flag me", "delete me"):
        await other.append("INBOX", subject)
    async with running_engine(redis_url, mailserver) as harness:
        account = await harness.add_account(mail_user)
        await harness.wait_state(account, "connected")
        runner = harness.engine.runner(account)
        assert runner is not None
        states = [runner.state]

        async def follow_states() -> None:
            while True:
                if states[-1] != runner.state:
                    states.append(runner.state)
                await trio.sleep(0.01)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(follow_states)
            try:
                await trio.to_thread.run_sync(mailserver.stop)
                await wait_until_async(lambda: states[-1] in ("disconnected", "connectError"), 20)
                maildir = mailserver.maildir(mail_user.user)
                files = _message_files(maildir)
                files["delete me"].unlink()
                flagged = files["flag me"]
                base, _, flags = flagged.name.partition(":2,")
                flagged.rename(flagged.with_name(f"{base}:2,{''.join(sorted(flags + 'F'))}"))
                name = f"{int(time.time())}.M1P1.offline"
                _write_message(maildir, name, message_bytes("new while down"))
            finally:
                if not mailserver.is_running():
                    await trio.to_thread.run_sync(mailserver.start)
            await harness.wait_state(account, "connected", timeout=60)
            nursery.cancel_scope.cancel()
        assert states[0] == "connected" and states[1] == "disconnected", states
        assert states[-1] == "connected", states

        await other.append("INBOX", "barrier")  # once it is announced, so is all before it

        def barrier_seen(events: list[Event]) -> bool:
            return any(e.data.get("subject") == "barrier" for e in of_kind(events, "messageNew"))

        events = await harness.wait_for_events(account, barrier_seen, timeout=30)
        assert [e.data["subject"] for e in of_kind(events, "messageNew")] == [
            "keep",  # the first three are newer than the account's notifyFrom (same second)
            "flag me",
            "delete me",
            "new while down",
            "barrier",
        ]
        (deleted,) = of_kind(events, "messageDeleted")
        (updated,) = of_kind(events, "messageUpdated")
        assert updated.data["changes"]["flags"]["added"] == ["\\Flagged"]
        assert deleted.data["uid"] != updated.data["uid"]


MESSAGES = 5000


async def test_sigkill_in_the_middle_of_a_big_first_sync_loses_and_doubles_nothing(
    redis_url: str, mailserver: MailServer, mail_user: MailUser, tmp_path: Path
) -> None:
    other = OtherClient(mailserver, mail_user)
    await other.run(lambda imap: imap.select("INBOX"))  # Dovecot creates the Maildir
    maildir = mailserver.maildir(mail_user.user)
    stamp = int(time.time())
    for n in range(MESSAGES):
        _write_message(maildir, f"{stamp}.M{n}P7.bulk:2,", message_bytes(f"bulk {n}"), "cur")

    key = os.urandom(32)
    store = RedisStore(redis_url)
    try:
        registry = AccountRegistry(AccountStore(store, SecretBox(key)))
        log = EventLog(
            EventLogStore(store, retention=3600, max_length=100_000, dedupe_window=600), Metrics()
        )
        async with trio.open_nursery() as nursery:
            # The third summary FETCH is held back: the first run announces exactly two
            # chunks of new messages, then waits for an answer until it is killed.
            proxy = GatedProxy(mailserver.imap_port, b"BODYSTRUCTURE", hold_after=3)
            await nursery.start(proxy.run)
            body = {
                "account": "bulk",
                "name": "bulk",
                "notifyFrom": "2000-01-01T00:00:00Z",
                "imap": {
                    "host": "127.0.0.1",
                    "port": proxy.port,
                    "secure": False,
                    "auth": {"user": mail_user.user, "pass": mail_user.password},
                },
            }
            await registry.create_or_update(parse_account_input(body))
            options = [
                f"--dbs.redis={redis_url}",
                f"--data.dir={tmp_path}",
                f"--secrets.key={base64.b64encode(key).decode()}",
            ]

            async def announced() -> set[int]:
                return {e.data["uid"] for e in await _message_new(log)}

            first = await trio.to_thread.run_sync(TrimapProcess.start, options)
            try:
                await proxy.holding.wait()
                await wait_until_async(lambda: _count_at_least(announced, 500), 30)
            finally:
                status = await trio.to_thread.run_sync(first.stop, signal.SIGKILL)
            assert status == -signal.SIGKILL
            assert len(await announced()) < MESSAGES

            second = await trio.to_thread.run_sync(TrimapProcess.start, options)
            try:
                await wait_until_async(lambda: _count_at_least(announced, MESSAGES), 120)
            finally:
                assert await trio.to_thread.run_sync(second.stop) == 0
            nursery.cancel_scope.cancel()

        events = await _message_new(log)
        ids_by_uid: dict[int, set[str]] = {}
        for event in events:
            ids_by_uid.setdefault(event.data["uid"], set()).add(event.id)
        assert len(ids_by_uid) == MESSAGES
        assert all(len(ids) == 1 for ids in ids_by_uid.values())
        subjects = {event.data["subject"] for event in events}
        assert subjects == {f"bulk {n}" for n in range(MESSAGES)}
    finally:
        store.close()


async def _message_new(log: EventLog) -> list:
    found = []
    cursor = None
    while True:
        page = await log.read(cursor, 1000, kinds=["messageNew"])
        found += page.events
        cursor = page.cursor
        if not page.has_more:
            return found


async def _count_at_least(announced, count: int) -> bool:
    return len(await announced()) >= count
