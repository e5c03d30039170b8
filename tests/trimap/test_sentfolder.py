"""Choosing the Sent folder: special use first, then names in many languages, deterministically."""

from __future__ import annotations

import pytest

from trimap.submit.sentfolder import SENT_NAMES, FolderName, sent_folder


def folders(*paths: str, special: dict[str, str] | None = None) -> list[FolderName]:
    return [FolderName(path, "/", (special or {}).get(path)) for path in paths]


def test_the_special_use_folder_wins_over_any_name() -> None:
    listing = folders("INBOX", "Sent", "Outgoing", special={"Outgoing": "\\Sent"})
    assert sent_folder(listing) == "Outgoing"


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (("INBOX", "Sent Items", "Drafts"), "Sent Items"),
        (("INBOX", "INBOX/Gesendet"), "INBOX/Gesendet"),
        (("INBOX", "Éléments envoyés"), "Éléments envoyés"),
        (("INBOX", "Отправленные"), "Отправленные"),
        (("INBOX", "送信済み"), "送信済み"),
        (("Sent Items", "Sent"), "Sent"),  # the earlier name in the list wins
        (("Archive/Sent", "Sent"), "Sent"),  # then the shorter path
        (("INBOX", "Drafts", "Sentimental"), None),
    ],
)
def test_names_in_several_languages(paths: tuple[str, ...], expected: str | None) -> None:
    assert sent_folder(folders(*paths)) == expected
    assert sent_folder(folders(*reversed(paths))) == expected  # order of listing is irrelevant


def test_folders_that_cannot_be_selected_are_never_chosen() -> None:
    listing = [FolderName("Sent", "/", "\\Sent", selectable=False), FolderName("Sent Mail", "/")]
    assert sent_folder(listing) == "Sent Mail"


def test_every_known_name_matches_itself() -> None:
    for name in SENT_NAMES:
        assert sent_folder(folders("INBOX", name)) == name
    assert len(set(SENT_NAMES)) == len(SENT_NAMES)
