"""Pure parts of change detection: checkpoints, flag sets, progress, folder plans, diffs."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imapproto import SequenceSet, Status
from imapproto.client import MailboxInfo
from trimap.sync.announce import flag_changes
from trimap.sync.checkpoint import MAX_FLAG_RANGES, FolderCheckpoint, apply_flags, flags_of
from trimap.sync.folder import FlagUpdate, FolderSync
from trimap.sync.folderlist import status_changed, watch_plan

CHECKPOINT = FolderCheckpoint(
    path="Archive/2024 ünïcode",
    folder_id=7,
    uidvalidity=1700000000,
    uidnext=42,
    messages=3,
    highestmodseq=99,
    unseen=1,
    uids=SequenceSet.parse("1:2,40"),
    flags={"\\Seen": SequenceSet.parse("1:2"), "label:Work": SequenceSet.parse("40")},
    changes=4,
    special_use="\\Archive",
)


def test_checkpoint_round_trips_and_stays_small() -> None:
    assert FolderCheckpoint.decode(CHECKPOINT.path, CHECKPOINT.encode()) == CHECKPOINT
    gave_up = replace(CHECKPOINT, flags=None, uids=None)
    assert FolderCheckpoint.decode(gave_up.path, gave_up.encode()) == gave_up
    empty = FolderCheckpoint(
        "Junk", 6, 1795496259, 1, 0, highestmodseq=1, unseen=0, flags={}, special_use="\\Junk"
    )
    assert FolderCheckpoint.decode("Junk", empty.encode()) == empty
    assert len(empty.encode()) < 64  # fits Redis's compact hash encoding


@pytest.mark.parametrize("raw", [b"", b"{}", b"[]", b'{"f":1}', b'{"f":"z","v":1}', b"\xff"])
def test_a_damaged_checkpoint_is_a_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError):
        FolderCheckpoint.decode("INBOX", raw)


def test_apply_flags_sets_replaces_and_removes() -> None:
    flags = {"\\Seen": SequenceSet.parse("1:10"), "\\Flagged": SequenceSet.parse("3")}
    result = apply_flags(
        flags, [(3, frozenset({"\\Seen"})), (11, frozenset({"\\Flagged"}))], SequenceSet.parse("5")
    )
    assert result == {
        "\\Seen": SequenceSet.parse("1:4,6:10"),
        "\\Flagged": SequenceSet.parse("11"),
    }
    assert flags_of(result, 3) == {"\\Seen"} and flags_of(result, 5) == frozenset()
    assert apply_flags(None, [(1, frozenset({"\\Seen"}))]) is None


def test_flag_sets_too_fragmented_are_given_up() -> None:
    scattered = [(uid, frozenset({"\\Seen"})) for uid in range(1, 4 * MAX_FLAG_RANGES, 2)]
    assert apply_flags({}, scattered) is None


@given(st.dictionaries(st.integers(1, 300), st.frozensets(st.sampled_from(["\\Seen", "$A", "x"]))))
def test_flags_of_reads_back_what_apply_flags_wrote(state: dict[int, frozenset[str]]) -> None:
    written = apply_flags({}, state.items())
    assert written is not None
    for uid, flags in state.items():
        assert flags_of(written, uid) == flags


def test_progress_holds_back_the_messages_not_yet_announced() -> None:
    final = replace(CHECKPOINT, uidnext=61, messages=6, uids=SequenceSet.parse("1:2,40,50:52"))
    sync = FolderSync(final, previous=CHECKPOINT, new=[50, 51, 52])
    after_first = sync.progress(50)
    assert after_first.uidnext == 51 and after_first.messages == 4
    assert after_first.uids == SequenceSet.parse("1:2,40,50")
    assert sync.progress(52) == final


def test_watch_plan_idles_in_inbox_and_skips_unselectable_folders() -> None:
    listing = [
        MailboxInfo("INBOX", b"INBOX", "/", (), None),
        MailboxInfo("Sent", b"Sent", "/", (), "\\Sent"),
        MailboxInfo("Shared", b"Shared", "/", ("\\Noselect",), None),
    ]
    plan = watch_plan(listing, frozenset({"IMAP4REV1", "IDLE"}))
    assert plan.main == "INBOX" and not plan.gmail
    assert set(plan.folders) == {"INBOX", "Sent"}
    assert plan.folders["INBOX"].special_use == "\\Inbox"


def test_watch_plan_on_gmail_watches_all_mail_junk_and_trash() -> None:
    listing = [
        MailboxInfo("INBOX", b"INBOX", "/", (), None),
        MailboxInfo("[Gmail]/All Mail", b"[Gmail]/All Mail", "/", (), "\\All"),
        MailboxInfo("[Gmail]/Spam", b"[Gmail]/Spam", "/", (), "\\Junk"),
        MailboxInfo("[Gmail]/Bin", b"[Gmail]/Bin", "/", (), "\\Trash"),
        MailboxInfo("Work", b"Work", "/", (), None),
    ]
    plan = watch_plan(listing, frozenset({"X-GM-EXT-1"}))
    assert plan.gmail and plan.main == "[Gmail]/All Mail"
    assert set(plan.folders) == {"[Gmail]/All Mail", "[Gmail]/Spam", "[Gmail]/Bin"}
    assert plan.folders["[Gmail]/All Mail"].name == "All Mail"
    assert not watch_plan(listing, frozenset()).gmail  # \All without X-GM-EXT-1: not Gmail


def _status(**items: int) -> Status:
    return Status("x", b"x", **items)


@pytest.mark.parametrize(
    ("status", "changed"),
    [
        (_status(uidvalidity=1700000000, uidnext=42, messages=3, highestmodseq=99), False),
        (_status(uidvalidity=1700000000, uidnext=42, messages=3, highestmodseq=100), True),
        (_status(uidvalidity=1, uidnext=42, messages=3, highestmodseq=99), True),
        (_status(uidvalidity=1700000000, uidnext=43, messages=3), True),
        (_status(uidvalidity=1700000000, uidnext=42, messages=2), True),
        (_status(uidvalidity=1700000000, uidnext=42, messages=3, unseen=1), False),
        (_status(uidvalidity=1700000000, uidnext=42, messages=3, unseen=0), True),
    ],
)
def test_status_changed(status: Status, changed: bool) -> None:
    checkpoint = CHECKPOINT if status.highestmodseq else replace(CHECKPOINT, highestmodseq=None)
    assert status_changed(status, checkpoint) is changed
    assert status_changed(status, None)


def test_update_diff_names_flags_and_labels_added_and_removed() -> None:
    update = FlagUpdate(
        7,
        frozenset({"\\Seen", "\\Flagged", "label:Work"}),
        frozenset({"\\Seen", "$Old", "label:Home"}),
        None,
    )
    assert flag_changes(update) == {
        "flags": {"added": ["\\Flagged"], "deleted": ["$Old"], "value": ["\\Flagged", "\\Seen"]},
        "labels": {"added": ["Work"], "deleted": ["Home"], "value": ["Work"]},
    }
    unknown = FlagUpdate(7, frozenset({"\\Seen"}), None, 5)
    assert flag_changes(unknown) == {"flags": {"value": ["\\Seen"]}}
