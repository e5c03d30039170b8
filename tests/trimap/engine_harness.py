"""An account engine wired to a real Redis and the Dovecot test bed, for the engine tests.

``EngineHarness`` owns the registry, the durable event log, the sync store and a running
``AccountEngine``; ``add_account`` registers a test-bed user (plain IMAP on loopback) and
``wait_for_events`` waits, with a deadline, until the log holds what a test expects.
"""

from __future__ import annotations

import imaplib
import os
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import trio

from tests.fixtures.mail_server import MailServer, MailUser
from tests.waiting import wait_until_async
from trimap.accounts import AccountRegistry, parse_account_input
from trimap.accounts.authserver import AuthServer
from trimap.accounts.protocollog import AccountProtocolLog
from trimap.engine import AccountEngine, RunnerServices
from trimap.events import Event, EventLog
from trimap.httpclient import HttpClient
from trimap.metrics import Metrics
from trimap.secrets import SecretBox
from trimap.settings import LogSettings
from trimap.store import EventLogStore, ProtocolLogStore, RedisStore
from trimap.store.accounts import AccountStore
from trimap.store.sync import SyncStore
from trimap.sync.announce import NotifyOptions


@dataclass
class EngineHarness:
    registry: AccountRegistry
    log: EventLog
    engine: AccountEngine
    store: RedisStore
    mailserver: MailServer
    protocol_logs: ProtocolLogStore
    auth_server_url: list[str | None]

    def set_auth_server(self, url: str | None) -> None:
        self.auth_server_url[0] = url

    async def protocol_log(self, account_id: str) -> str:
        return b"".join([chunk async for chunk in self.protocol_logs.ndjson(account_id)]).decode()

    async def add_account(
        self,
        user: MailUser,
        account_id: str | None = None,
        *,
        password: str | None = None,
        **fields: Any,
    ) -> str:
        account_id = account_id or f"acct-{os.urandom(4).hex()}"
        imap = {
            "host": "127.0.0.1",
            "port": self.mailserver.imap_port,
            "secure": False,
            "auth": {"user": user.user, "pass": password or user.password},
            **fields.pop("imap", {}),
        }
        imap = {key: value for key, value in imap.items() if value is not None}
        body = {"account": account_id, "name": account_id, "imap": imap, **fields}
        await self.registry.create_or_update(parse_account_input(body))
        return account_id

    async def state(self, account_id: str) -> str:
        return (await self.registry.get(account_id)).state

    async def wait_state(
        self,
        account_id: str,
        state: str,
        timeout: float = 20,  # noqa: ASYNC109
    ) -> None:
        async def reached() -> bool:
            return await self.state(account_id) == state

        await wait_until_async(reached, timeout, message=f"{account_id} {state}")

    async def events(self, account_id: str, kinds: Sequence[str] | None = None) -> list[Event]:
        found: list[Event] = []
        cursor = None
        while True:
            page = await self.log.read(cursor, 1000, account=account_id, kinds=kinds)
            found += page.events
            cursor = page.cursor
            if not page.has_more:
                return found

    async def wait_for_events(
        self,
        account_id: str,
        check: Callable[[list[Event]], bool],
        timeout: float = 20,  # noqa: ASYNC109
        kinds: Sequence[str] | None = None,
    ) -> list[Event]:
        async def done() -> list[Event] | None:
            events = await self.events(account_id, kinds)
            return events if check(events) else None

        return await wait_until_async(done, timeout, message=f"events of {account_id}")


async def notify_nothing() -> NotifyOptions:
    return NotifyOptions()


@asynccontextmanager
async def running_engine(
    redis_url: str,
    mailserver: MailServer,
    *,
    notify_options: Callable[[], Any] = notify_nothing,
    log_everything: bool = False,
    **service_options: Any,
) -> AsyncIterator[EngineHarness]:
    """An engine on ``redis_url``; with ``log_everything`` every account's protocol log is
    kept (``EngineHarness.protocol_logs``)."""
    store = RedisStore(redis_url)
    logs = ProtocolLogStore(store)
    auth_server_url: list[str | None] = [None]

    async def configured_auth_server() -> str | None:
        return auth_server_url[0]

    if log_everything:
        service_options["protocol_log"] = lambda account_id: AccountProtocolLog(
            account_id, logs, lambda: LogSettings(all=True)
        )
    try:
        registry = AccountRegistry(AccountStore(store, SecretBox(os.urandom(32))))
        log = EventLog(
            EventLogStore(store, retention=3600, max_length=100_000, dedupe_window=600),
            Metrics(),
            poll_interval=0.2,
        )
        async with HttpClient() as http, trio.open_nursery() as nursery:
            services = RunnerServices(
                record_state=registry.set_state,
                sink=log,
                sync_store=SyncStore(store),
                notify_options=notify_options,
                auth_server=AuthServer(http, configured_auth_server, timeout=5).credentials,
                **{"retry_min": 0.2, "retry_max": 2.0, "auth_retry_min": 0.5, **service_options},
            )
            engine = AccountEngine(registry, services, stop_timeout=3.0)
            await nursery.start(engine.run)
            yield EngineHarness(registry, log, engine, store, mailserver, logs, auth_server_url)
            await engine.shutdown()
            nursery.cancel_scope.cancel()
    finally:
        store.close()


class OtherClient:
    """Another IMAP client (the standard library's ``imaplib``) changing the mailbox, in a
    worker thread."""

    def __init__(self, mailserver: MailServer, user: MailUser) -> None:
        self._server = mailserver
        self._user = user

    def _run(self, action: Callable[[imaplib.IMAP4], Any]) -> Any:
        imap = imaplib.IMAP4_SSL(
            self._server.host,
            self._server.imaps_port,
            ssl_context=ssl.create_default_context(cafile=str(self._server.ca_cert)),
            timeout=30,
        )
        try:
            imap.login(self._user.user, self._user.password)
            return action(imap)
        finally:
            imap.logout()

    async def run(self, action: Callable[[imaplib.IMAP4], Any]) -> Any:
        return await trio.to_thread.run_sync(self._run, action)

    async def append(self, folder: str, subject: str, flags: str = "") -> None:
        def append(imap: imaplib.IMAP4) -> None:
            status, _ = imap.append(
                folder, f"({flags})" if flags else None, None, message_bytes(subject)
            )
            assert status == "OK"

        await self.run(append)

    async def store(self, folder: str, uid: int, change: str, flags: str) -> None:
        def store(imap: imaplib.IMAP4) -> None:
            imap.select(folder)
            status, _ = imap.uid("STORE", str(uid), change, f"({flags})")
            assert status == "OK"

        await self.run(store)

    async def expunge(self, folder: str, uid: int) -> None:
        def expunge(imap: imaplib.IMAP4) -> None:
            imap.select(folder)
            imap.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)")
            status, _ = imap.uid("EXPUNGE", str(uid))
            assert status == "OK"

        await self.run(expunge)

    async def folder_command(self, command: str, *args: str) -> None:
        def run(imap: imaplib.IMAP4) -> None:
            status, detail = getattr(imap, command)(*args)
            assert status == "OK", detail

        await self.run(run)


def message_bytes(subject: str, body: str = "Hello there.\r\n") -> bytes:
    date = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return (
        f"From: Ann <ann@example.test>\r\nTo: bob@example.test\r\nSubject: {subject}\r\n"
        f"Date: {date}\r\nMessage-ID: <{os.urandom(6).hex()}@example.test>\r\n\r\n{body}"
    ).encode()


def of_kind(events: list[Event], kind: str) -> list[Event]:
    return [event for event in events if event.kind == kind]
