"""Sending a message as an account: build, deliver over SMTP, then answer, forward, file.

How it works: ``Submitter.prepare(account_id, request)`` turns a validated
``ComposeRequest`` into an ``Outgoing``: it reads the referenced message
(one turn on the account's IMAP connection; ``ReferenceNotFound`` if it does
not exist, before anything is sent), builds the MIME without Bcc
(``trimap.compose``), and takes the envelope: the sender's address (else the
SMTP login), and To, Cc and Bcc as recipients.  ``deliver(outgoing)`` logs in
to the account's SMTP server (its own credentials, or the auth server's with
``proto=smtp``) and sends; an ``SmtpError`` says whether trying again can
help (``temporary``).  ``after_sent(outgoing)`` does what a mail client
does next, each step on its own and never failing the send: ``\\Answered``
on the original of a reply, ``$Forwarded`` on that of a forward, and a copy
with ``\\Seen`` in the Sent folder (``trimap.submit.sentfolder``) -- not on
Gmail, which files sent mail itself, and not when the account says
``copy: false``.

Rules it keeps: Bcc recipients are in the envelope and never in the
message; a reference is checked before any SMTP connection is made; what
happens after the send is reported (``AfterSent``), not raised, so a message
that left is never reported as failed (and never sent twice because the
Sent folder was full).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import trio

from imapproto.client import CommandFailed, ImapConnectionError
from trimap.accounts import Account, AccountRegistry, Auth
from trimap.accounts.authserver import AuthServerError, CredentialsLookup, resolve_credentials
from trimap.compose import Original, build_message
from trimap.compose.request import ComposeRequest, Reference
from trimap.engine import AccountEngine, AccountNotConnected, AccountSession
from trimap.events import Event, EventSink, stable_event_id
from trimap.mailbox.actions import append_message
from trimap.mailbox.locate import MessageNotFound, locate_message
from trimap.mailbox.reference import read_original
from trimap.smtp import SendResult, SmtpError, open_smtp_client
from trimap.store.sync import SyncStore
from trimap.submit.sentfolder import FolderName, sent_folder

__all__ = ["AfterSent", "NoSmtpSettings", "Outgoing", "ReferenceNotFound", "Submitter"]

log = logging.getLogger("trimap.submit")

AFTER_SENT_DEADLINE = 30.0
GMAIL = "X-GM-EXT-1"
_FLAG_AFTER = {"reply": "\\Answered", "forward": "$Forwarded"}


class ReferenceNotFound(LookupError):
    """The message a reply or forward refers to does not exist."""


class NoSmtpSettings(LookupError):
    """The account has no SMTP settings."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message ready to send, and what to do once it is sent."""

    account: str
    sender: str
    recipients: tuple[str, ...]
    raw: bytes
    message_id: str
    reference: Reference | None = None


@dataclass(frozen=True, slots=True)
class AfterSent:
    """What followed a send: the original's new flag, the Sent copy's folder."""

    flagged: str | None = None
    sent_copy: str | None = None
    problem: str | None = None


class Submitter:
    """Prepares, delivers and follows up messages of any account (see the module comment)."""

    def __init__(
        self,
        accounts: AccountRegistry,
        engine: AccountEngine,
        sync: SyncStore,
        auth_server: CredentialsLookup,
        sink: EventSink,
        *,
        max_original: int,
    ) -> None:
        self._sink = sink
        self._accounts = accounts
        self._engine = engine
        self._sync = sync
        self._auth_server = auth_server
        self._max_original = max_original

    async def prepare(self, account_id: str, request: ComposeRequest) -> Outgoing:
        """The message ``request`` describes, built for sending; ``ReferenceNotFound``,
        ``NoSmtpSettings``, ``AccountNotFound`` or the connection's own errors."""
        account = await self._accounts.get(account_id)
        if account.smtp is None:
            raise NoSmtpSettings(account_id)
        original = await self._original(account_id, request.reference)
        built = await trio.to_thread.run_sync(
            partial(build_message, request, original, keep_bcc=False)
        )
        sender = request.sender.address if request.sender else _login_of(account)
        recipients = tuple(
            dict.fromkeys(a.address for a in (*request.to, *request.cc, *request.bcc))
        )
        return Outgoing(
            account_id, sender, recipients, built.raw, built.message_id, request.reference
        )

    async def _original(self, account_id: str, reference: Reference | None) -> Original | None:
        if reference is None:
            return None
        async with self._engine.session(account_id) as session:
            try:
                return await read_original(
                    session, self._sync, reference, max_source=self._max_original
                )
            except MessageNotFound:
                raise ReferenceNotFound(reference.message) from None

    async def deliver(self, outgoing: Outgoing) -> SendResult:
        """Send ``outgoing`` over the account's SMTP server; ``SmtpError`` if it fails."""
        account = await self._accounts.get(outgoing.account)
        if account.smtp is None:
            raise NoSmtpSettings(outgoing.account)
        auth = await self._credentials(account)
        async with open_smtp_client(account.smtp, auth) as smtp:
            return await smtp.send(outgoing.sender, outgoing.recipients, outgoing.raw)

    async def _credentials(self, account: Account) -> Auth:
        settings = account.smtp
        assert settings is not None
        try:
            return await resolve_credentials(settings, account.id, "smtp", self._auth_server)
        except AuthServerError as error:
            raise SmtpError(str(error), "EAUTH") from None

    async def record_sent(self, outgoing: Outgoing, result: SendResult) -> None:
        """Append ``messageSent`` for a message sent during a request (named by its
        Message-ID; the outbox names its own by queue id)."""
        event = Event(
            id=stable_event_id(outgoing.account, "messageSent", outgoing.message_id),
            account=outgoing.account,
            kind="messageSent",
            date=datetime.now(UTC),
            data={"messageId": outgoing.message_id, "response": result.reply.text},
        )
        await self._sink.append([event])

    async def after_sent(self, outgoing: Outgoing) -> AfterSent:
        """Flag the original and file a copy in Sent; problems are reported, not raised."""
        try:
            account = await self._accounts.get(outgoing.account)
            with trio.fail_after(AFTER_SENT_DEADLINE):
                async with self._engine.session(outgoing.account) as session:
                    flagged = await self._flag_original(session, outgoing.reference)
                    copied = None
                    if account.copy and not session.client.has(GMAIL):
                        copied = await self._file_copy(session, outgoing.raw)
            return AfterSent(flagged, copied)
        except (
            AccountNotConnected,  # the copy and the flag wait for no connection
            CommandFailed,
            ImapConnectionError,
            LookupError,  # the account or the original is gone
            trio.TooSlowError,
        ) as problem:
            log.warning(
                "sent, but the follow-up failed",
                extra={"account": outgoing.account, "error": f"{type(problem).__name__}"},
            )
            return AfterSent(problem=type(problem).__name__)

    async def _flag_original(
        self, session: AccountSession, reference: Reference | None
    ) -> str | None:
        if reference is None:
            return None
        flag = _FLAG_AFTER[reference.action]
        folder, uid = await locate_message(session, self._sync, reference.message, writable=True)
        await session.client.store(uid, "add", [flag])
        session.touch(folder.path)
        return flag

    async def _file_copy(self, session: AccountSession, raw: bytes) -> str | None:
        folders = [FolderName(f.path, f.delimiter, f.special_use) for f in session.folders]
        path = sent_folder(folders)
        if path is None:
            return None
        await append_message(session, self._sync, path, raw, ["\\Seen"])
        return path


def _login_of(account: Account) -> str:
    smtp = account.smtp
    if smtp is not None and smtp.auth is not None:
        return smtp.auth.user
    return ""
