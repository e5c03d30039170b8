"""ImapClient against the real servers: every command, names, CONDSTORE/QRESYNC, push, big data."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
import trio

from imapproto import search
from imapproto._commands import QresyncParams
from imapproto._events import Event, Exists, Expunge, Fetch, Vanished
from imapproto._seqset import SequenceSet
from imapproto.client import CommandFailed, ImapClient, Security, TlsOptions, connect
from tests.waiting import wait_until_async


def where(server, security: Security) -> tuple[str, int]:
    return server.host, server.imaps_port if security is Security.TLS else server.imap_port


@asynccontextmanager
async def logged_in(
    server, user, security: Security = Security.TLS, *, enable: bool = True, log=None
) -> AsyncIterator[ImapClient]:
    """A logged-in client; with ``enable`` CONDSTORE/QRESYNC/UTF8=ACCEPT are on where offered."""
    tls = TlsOptions(ca_file=str(server.ca_cert))
    host, port = where(server, security)
    async with connect(host, port, security, tls=tls, protocol_log=log) as client:
        await client.login(user.user, user.password)
        if enable:
            await client.enable()
        yield client


def message(subject: str, body: str = "hello\r\n", **headers: str) -> bytes:
    lines = ["From: Ann <ann@example.test>", "To: bob@example.test", f"Subject: {subject}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def require(client: ImapClient, *capabilities: str) -> None:
    missing = [name for name in capabilities if not client.has(name)]
    if missing:
        pytest.skip(f"the server lacks {', '.join(missing)}")


@pytest.mark.parametrize("security", list(Security))
async def test_every_command_once_per_transport(imap_server, imap_user, security) -> None:
    log: list[tuple[str, str]] = []
    async with logged_in(
        imap_server, imap_user, security, log=lambda d, t: log.append((d, t))
    ) as client:
        assert client.greeting is not None and client.greeting.status == "OK"
        assert "IMAP4REV1" in await client.capability()
        server_id = await client.identify()
        assert server_id is None or isinstance(server_id, dict)
        assert {"CONDSTORE", "QRESYNC"} <= client.enabled
        namespace = await client.namespace()
        delimiter = namespace.personal[0].delimiter
        assert delimiter

        await client.create("Work")
        await client.create(f"Work{delimiter}Reports")
        mailboxes = {m.name: m for m in await client.list_mailboxes(status_items=["MESSAGES"])}
        assert mailboxes["Sent"].special_use == "\\Sent"
        assert mailboxes["INBOX"].delimiter == delimiter
        assert f"Work{delimiter}Reports" in mailboxes
        if client.has("LIST-STATUS"):
            assert mailboxes["Work"].status is not None and mailboxes["Work"].status.messages == 0
        await client.subscribe("Work")
        assert "Work" in {m.name for m in await client.lsub()}
        assert all(m.subscribed for m in await client.lsub())
        await client.unsubscribe("Work")
        assert "Work" not in {m.name for m in await client.lsub()}
        await client.rename("Work", "Play")
        assert f"Play{delimiter}Reports" in {m.name for m in await client.list_mailboxes()}

        appended = [await client.append("INBOX", message(f"m{n}")) for n in range(4)]
        assert all(a is not None for a in appended)
        uids = [a.uids.min() for a in appended if a is not None]
        status = await client.status("INBOX")
        assert status.messages == 4 and status.uidnext == uids[-1] + 1

        selected = await client.select("INBOX", read_only=True)
        assert selected.read_only and selected.exists == 4
        await client.unselect()
        selected = await client.select("INBOX", condstore=True)
        assert not selected.read_only and selected.uidvalidity == appended[0].uidvalidity
        assert selected.highestmodseq is not None and "\\Seen" in selected.flags

        async with client.fetch(uids, ["UID", "FLAGS", "ENVELOPE", "BODYSTRUCTURE"]) as fetched:
            subjects = [f.envelope.subject async for f in fetched if f.envelope]
        assert subjects == ["m0", "m1", "m2", "m3"]
        async with client.fetch_body(uids[0]) as chunks:
            assert b"".join([chunk async for chunk in chunks]) == message("m0")

        assert await client.search(search.subject("m1")) == SequenceSet.from_iterable([uids[1]])
        stored = await client.store(uids[0], "add", ["\\Flagged"], silent=False)
        assert "\\Flagged" in (stored.fetches[0].flags or ())
        assert await client.search(search.FLAGGED) == SequenceSet.from_iterable([uids[0]])

        copied = await client.copy(uids[0], "Play")
        moved = await client.move(uids[1], "Play")
        assert copied is not None and moved is not None
        assert next(moved.uid_map()) == (uids[1], moved.destination.min())
        await client.store(uids[2], "add", ["\\Deleted"])
        await client.expunge(SequenceSet.from_iterable([uids[2]]))
        await client.store(uids[3], "add", ["\\Deleted"])
        await client.expunge()
        await client.noop()
        gone = client.take_unsolicited()
        assert sum(isinstance(e, Expunge | Vanished) for e in gone) >= 3  # MOVE and two expunges
        assert (await client.status("Play")).messages == 2

        if client.has("QUOTA"):
            quota = await client.getquotaroot("INBOX")
            assert quota.roots and quota.quotas
        await client.close()
        await client.delete(f"Play{delimiter}Reports")
        await client.delete("Play")
        assert not {"Play", "Work"} & {m.name for m in await client.list_mailboxes()}
    assert any(d == "C" and t.endswith("LOGOUT") for d, t in log)


NAMES = ["Entwürfe", "With Space", 'Quote"d', "Back\\slash", "Ünïcödé & Co", "日本語"]
#: Names a server's policy refuses (a clean NO): Cyrus does not allow quotes and backslashes.
REFUSED_NAMES = {"cyrus": {'Quote"d', "Back\\slash"}}


@pytest.mark.parametrize("utf8", [False, True], ids=["mutf7", "utf8-accept"])
async def test_mailbox_names_round_trip(imap_server, imap_user, utf8: bool) -> None:
    async with logged_in(imap_server, imap_user, enable=False) as client:
        if utf8:
            require(client, "UTF8=ACCEPT")
            await client.enable("UTF8=ACCEPT")
        delimiter = (await client.namespace()).personal[0].delimiter
        refused = REFUSED_NAMES.get(imap_server.name, set())
        for name in refused:
            with pytest.raises(CommandFailed):
                await client.create(name)
        names = [name for name in NAMES if name not in refused] + [f"Parent{delimiter}Kind ü"]
        for number, name in enumerate(names):
            await client.create(name)
            await client.subscribe(name)
            appended = await client.append(name, message(f"message {number}"))
            status = await client.status(name)
            assert status.mailbox == name and status.messages == 1
            selected = await client.select(name)
            assert (
                selected.exists == 1 and appended and selected.uidvalidity == appended.uidvalidity
            )
            async with client.fetch("1:*", ["ENVELOPE"], uid=False) as fetched:
                assert [f.envelope.subject async for f in fetched if f.envelope] == [
                    f"message {number}"
                ]
            await client.unselect()
        listed = {m.name for m in await client.list_mailboxes()}
        assert set(names) <= listed
        assert set(names) <= {m.name for m in await client.lsub()}
        for name in names:
            await client.rename(name, f"{name} 2")
        listed = {m.name for m in await client.list_mailboxes()}
        assert {f"{name} 2" for name in names} <= listed and not set(names) & listed
        for name in reversed(names):
            await client.unsubscribe(name)
            await client.delete(f"{name} 2")
        assert not {f"{name} 2" for name in names} & {m.name for m in await client.list_mailboxes()}


async def fill(client: ImapClient, mailbox: str, count: int) -> list[int]:
    uids = []
    for n in range(count):
        appended = await client.append(mailbox, message(f"m{n}"))
        assert appended is not None
        uids.append(appended.uids.min())
    return uids


async def test_qresync_select_sees_what_changed(imap_server, imap_user) -> None:
    async with (
        logged_in(imap_server, imap_user) as client,
        logged_in(imap_server, imap_user) as other,
    ):
        require(client, "QRESYNC")
        uids = await fill(client, "INBOX", 5)
        before = await client.select("INBOX")
        assert before.highestmodseq is not None and before.uidvalidity is not None
        await client.unselect()

        await other.select("INBOX")
        await other.store(uids[1], "add", ["\\Flagged"])
        await other.store(uids[3], "add", ["\\Deleted"])
        await other.expunge(SequenceSet.from_iterable([uids[3]]))

        known = SequenceSet.from_iterable(uids)
        after = await client.select(
            "INBOX", qresync=QresyncParams(before.uidvalidity, before.highestmodseq, known)
        )
        assert after.exists == 4 and after.highestmodseq > before.highestmodseq
        assert after.vanished == SequenceSet.from_iterable([uids[3]])
        assert [(f.uid, "\\Flagged" in (f.flags or ())) for f in after.changed] == [(uids[1], True)]
        assert all(f.modseq for f in after.changed)

        # CHANGEDSINCE + VANISHED: the same answer from a FETCH in the selected mailbox.
        await other.store(uids[0], "add", ["\\Answered"])
        await other.store(uids[4], "add", ["\\Deleted"])
        await other.expunge(SequenceSet.from_iterable([uids[4]]))
        await client.noop()
        client.take_unsolicited()
        # The known UIDs, not 1:*: "*" is the highest UID now, and the last one is gone.
        async with client.fetch(
            known, ["UID", "FLAGS"], changedsince=after.highestmodseq, vanished=True
        ) as results:
            items = [item async for item in results]
        changed = [i.uid for i in items if isinstance(i, Fetch)]
        vanished = [i for i in items if isinstance(i, Vanished)]
        assert changed == [uids[0]]
        assert len(vanished) == 1 and uids[4] in vanished[0].uids


async def test_condstore_changedsince_and_unchangedsince(imap_server, imap_user) -> None:
    async with (
        logged_in(imap_server, imap_user) as client,
        logged_in(imap_server, imap_user) as other,
    ):
        require(client, "CONDSTORE")
        uids = await fill(client, "INBOX", 3)
        selected = await client.select("INBOX", condstore=True)
        assert selected.highestmodseq is not None
        await client.store(uids[2], "add", ["$Later"])
        async with client.fetch("1:*", ["UID", "FLAGS"], changedsince=selected.highestmodseq) as f:
            changed = [item async for item in f]
        assert [(m.uid, "$Later" in (m.flags or ())) for m in changed] == [(uids[2], True)]

        async with client.fetch(uids, ["UID", "MODSEQ"]) as f:
            modseqs = {m.uid: m.modseq async for m in f}
        await other.select("INBOX")
        await other.store(uids[0], "add", ["\\Seen"])  # behind the client's back
        result = await client.store(
            uids[:2], "add", ["\\Flagged"], unchangedsince=max(modseqs[u] for u in uids[:2])
        )
        assert result.modified == SequenceSet.from_iterable([uids[0]])
        async with client.fetch(uids[:2], ["UID", "FLAGS"]) as f:
            flags = {m.uid: m.flags async for m in f}
        assert "\\Flagged" not in flags[uids[0]] and "\\Flagged" in flags[uids[1]]


async def test_esearch_and_plain_search_agree(imap_server, imap_user) -> None:
    log: list[str] = []
    async with logged_in(imap_server, imap_user, log=lambda d, t: log.append(t)) as client:
        uids = await fill(client, "INBOX", 6)
        await client.select("INBOX")
        await client.store(uids[1::2], "add", ["\\Flagged"])
        client.use_esearch = False
        plain = await client.search(search.FLAGGED)
        by_number = await client.search(search.FLAGGED, uid=False)
        nothing = await client.search(search.subject("no such subject"))
        assert not any("RETURN" in line for line in log if "SEARCH" in line)
        assert plain == SequenceSet.from_iterable(uids[1::2])
        assert by_number == SequenceSet.from_iterable([2, 4, 6]) and not nothing
        require(client, "ESEARCH")
        client.use_esearch = True
        assert await client.search(search.FLAGGED) == plain
        assert await client.search(search.FLAGGED, uid=False) == by_number
        assert not await client.search(search.subject("no such subject"))
        assert any("SEARCH RETURN (ALL)" in line for line in log)


async def test_move_fallback_without_move(imap_server, imap_user) -> None:
    sent: list[str] = []
    log = lambda side, text: sent.append(text) if side == "C" else None  # noqa: E731
    async with logged_in(imap_server, imap_user, log=log) as client:
        require(client, "UIDPLUS")
        client.use_move = False
        uids = await fill(client, "INBOX", 4)
        await client.select("INBOX")
        await client.store(uids[3], "add", ["\\Deleted"])  # must survive: UID EXPUNGE only
        moved = await client.move(uids[:2], "Archive")
        assert moved is not None and [s for s, _ in moved.uid_map()] == uids[:2]
        moved_by_number = await client.move(1, "Archive", uid=False)  # uids[2] is now number 1
        assert moved_by_number is not None and list(moved_by_number.source) == [uids[2]]
        assert not any(" MOVE " in line for line in sent)
        assert await client.search(search.ALL) == SequenceSet.from_iterable([uids[3]])
        assert (await client.status("Archive")).messages == 3
        expunged = [e for e in client.take_unsolicited() if isinstance(e, Expunge | Vanished)]
        assert len(expunged) >= 2


async def test_unsolicited_changes_reach_the_caller(imap_server, imap_user) -> None:
    async with (
        logged_in(imap_server, imap_user) as client,
        logged_in(imap_server, imap_user) as other,
    ):
        uids = await fill(client, "INBOX", 3)
        await client.select("INBOX")
        await other.select("INBOX")
        await other.append("INBOX", message("new"))
        await other.store(uids[0], "add", ["\\Flagged"])
        await other.store(uids[1], "add", ["\\Deleted"])
        await other.expunge(SequenceSet.from_iterable([uids[1]]))

        seen: list[Event] = []
        status = await client.status("Archive")  # answered; INBOX news may come with it
        assert status.messages == 0

        async def all_kinds_seen() -> bool:
            await client.noop()
            seen.extend(client.take_unsolicited())
            kinds = {type(e) for e in seen}
            return Exists in kinds and Fetch in kinds and bool(kinds & {Expunge, Vanished})

        await wait_until_async(all_kinds_seen, timeout=10)
        flagged = [e for e in seen if isinstance(e, Fetch)]
        assert any("\\Flagged" in (e.flags or ()) for e in flagged)
        assert client.take_unsolicited() == []


async def test_idle_sees_exists_expunge_and_flags(imap_server, imap_user) -> None:
    async with (
        logged_in(imap_server, imap_user) as client,
        logged_in(imap_server, imap_user) as other,
    ):
        uids = await fill(client, "INBOX", 2)
        await client.select("INBOX")
        await other.select("INBOX")
        changes = [
            (lambda: other.append("INBOX", message("pushed")), Exists),
            (lambda: other.store(uids[0], "add", ["\\Flagged"]), Fetch),
            (lambda: other.move(uids[1], "Archive"), Expunge | Vanished),
        ]
        async with client.idle() as events:
            await events.started.wait()
            for change, kind in changes:
                await change()
                with trio.fail_after(10):
                    async for event in events:
                        if isinstance(event, kind):
                            break


async def test_25_mb_message_streams_without_a_second_copy(imap_server, imap_user) -> None:
    line = b"0123456789abcdefghijklmnopqrstuvwxyz" * 27 + b"\r\n"
    big = b"Subject: big\r\n\r\n" + line * (25 * 1024 * 1024 // len(line))
    digest = hashlib.sha256(big).hexdigest()
    size = len(big)
    async with logged_in(imap_server, imap_user, Security.TLS) as client:
        # Measured above a baseline taken with the message already built: one more copy of it
        # (joined into the command line, held whole on receipt) would add >= `size` (25 MiB).
        # What the client may add is bounded buffers: one 256 KiB send window (and TLS's output
        # for it), 64 KiB reads, the parser's buffer and at most one 1 MiB literal chunk: well
        # under 4 MiB, whatever the message size (about 0.4 MiB is typical).
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            appended = await client.append("INBOX", big)
            assert appended is not None
            uid = appended.uids.min()
            await client.select("INBOX")
            hashed = hashlib.sha256()
            async with client.fetch_body(uid) as chunks:
                async for chunk in chunks:
                    hashed.update(chunk)
            assert chunks.size == size and hashed.hexdigest() == digest
            peak = tracemalloc.get_traced_memory()[1] - baseline
        finally:
            tracemalloc.stop()
        assert peak < 4 * 2**20, f"peak {peak} bytes above baseline for a {size}-byte message"

        # Paging through the message in partial windows gives the same bytes.
        window = 8 * 1024 * 1024
        paged = hashlib.sha256()
        offset = 0
        while True:
            async with client.fetch_body(uid, partial=(offset, window)) as chunks:
                got = 0
                async for chunk in chunks:
                    paged.update(chunk)
                    got += len(chunk)
            offset += got
            if got < window:
                break
        assert offset == size and paged.hexdigest() == digest


VARIED = [
    message("plain ascii"),
    message("=?UTF-8?B?w5xiZXJzaWNodA==?=", **{"Cc": "=?UTF-8?Q?J=C3=B6rg?= <j@example.test>"}),
    (
        b"From: a@example.test\r\nSubject: alternative\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n"
        b"--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>hi</p>\r\n--b1--\r\n"
    ),
    (
        b"From: a@example.test\r\nSubject: attachment\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b2"\r\n\r\n'
        b"--b2\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b'--b2\r\nContent-Type: application/pdf; name="r.pdf"\r\n'
        b'Content-Disposition: attachment; filename="r.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b2--\r\n"
    ),
    (
        b"From: a@example.test\r\nSubject: forwarded\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b3"\r\n\r\n'
        b"--b3\r\nContent-Type: text/plain\r\n\r\nfyi\r\n"
        b"--b3\r\nContent-Type: message/rfc822\r\n\r\n" + message("inner") + b"\r\n--b3--\r\n"
    ),
]


async def test_ten_thousand_messages_fetched_with_envelope_and_bodystructure(
    imap_server, imap_user
) -> None:
    async with logged_in(imap_server, imap_user) as client:
        for raw in VARIED * 2:
            await client.append("INBOX", raw, internal_date=datetime(2024, 5, 1, tzinfo=UTC))
        await client.select("INBOX")
        while (count := len(await client.search(search.ALL))) < 10_000:  # double by COPY
            await client.copy("1:*", "INBOX", uid=False)
        all_uids = list(await client.search(search.ALL))
        await client.store(all_uids[10_000:], "add", ["\\Deleted"])
        await client.expunge(all_uids[10_000:])
        client.take_unsolicited()
        assert count >= 10_000

        seen = 0
        types: set[str] = set()
        async with client.fetch(
            "1:*", ["UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODYSTRUCTURE"]
        ) as fetched:
            async for item in fetched:
                assert isinstance(item, Fetch) and item.envelope and item.bodystructure
                assert item.size and item.internaldate
                types.update(part.mime_type for part in item.bodystructure.walk())
                seen += 1
        assert seen == 10_000
        assert {"multipart/alternative", "application/pdf", "message/rfc822"} <= types


async def test_leaving_a_fetch_early_discards_its_answer_and_keeps_the_queue(
    imap_server, imap_user
) -> None:
    async with (
        logged_in(imap_server, imap_user) as client,
        logged_in(imap_server, imap_user) as other,
    ):
        uids = await fill(client, "INBOX", 5)
        await client.select("INBOX")
        await other.select("INBOX")
        await other.store(uids[0], "add", ["\\Flagged"])
        await client.noop()  # the flag change is now queued, ahead of what follows
        async with client.fetch(uids, ["UID", "ENVELOPE"]) as fetched:
            async for first in fetched:
                assert isinstance(first, Fetch) and first.uid == uids[0]
                break
        async with client.fetch_body(uids[1]) as chunks:
            async for _ in chunks:
                break
        await other.append("INBOX", message("later"))
        seen: list[Event] = []

        async def exists_seen() -> bool:
            await client.noop()
            seen.extend(client.take_unsolicited())
            return any(isinstance(e, Exists) for e in seen)

        await wait_until_async(exists_seen, timeout=10)
        changes = [e for e in seen if isinstance(e, Fetch | Exists)]
        assert isinstance(changes[0], Fetch) and "\\Flagged" in (changes[0].flags or ())
        assert not any(isinstance(e, Fetch) and e.envelope for e in seen)  # answers, discarded
        assert await client.search(search.ALL) == SequenceSet.from_iterable(uids).union(
            SequenceSet.from_iterable([uids[-1] + 1])
        )


async def test_store_can_set_gmail_labels(mailserver, mail_user) -> None:
    log: list[tuple[str, str]] = []
    async with logged_in(mailserver, mail_user, log=lambda d, t: log.append((d, t))) as client:
        appended = await client.append("INBOX", message("labelled"))
        assert appended is not None
        await client.select("INBOX")
        with pytest.raises(CommandFailed):  # Dovecot has no X-GM-EXT-1
            await client.store(appended.uids, "add", ["Work"], gmail_labels=True)
    sent = [text for direction, text in log if direction == "C"]
    assert any(text.endswith(" +X-GM-LABELS.SILENT (Work)") for text in sent), sent
