"""What trimap remembers about one folder between syncs: the ``FolderCheckpoint``.

How it works: a checkpoint is the folder's state as of the last sync that
completed: UIDVALIDITY (and the folder number it was given), UIDNEXT, the
message count, HIGHESTMODSEQ where the server has CONDSTORE and, only where
it is needed, two compact extras:

* ``uids``: the UIDs present, as ranges, on servers without QRESYNC (it is how
  deletions made behind trimap's back are found there); ``None`` on QRESYNC
  servers, whose VANISHED answers say which UIDs went away.
* ``flags``: for each flag (and ``label:<name>`` for each Gmail label), the
  UIDs carrying it, as ranges: what a change is diffed against, so that
  ``messageUpdated`` names the flags added and removed.  Most mailboxes have
  long runs of read mail and few flagged messages, so this stays a few
  ranges; a folder whose flag sets grow past ``MAX_FLAG_RANGES`` ranges stops
  keeping them (``None``) and its updates carry the new flag list only.

``encode``/``decode`` give the compact JSON stored in Redis (the path is the
field's name, not repeated): short keys, defaults left out, sequence sets in
their IMAP text form, so an ordinary folder's checkpoint stays under the 64
bytes Redis keeps in its compact hash encoding.

Rules it keeps: checkpoints are immutable values (``replace`` makes the next
one); a checkpoint is written only after the events it implies are durable, so
a crash between the two makes the next sync find the same changes again, with
the same event ids (``changes`` counts the syncs that changed flags on a server
without CONDSTORE, and goes into those events' ids so that a flag state that
comes back is a new event, yet the same one when re-detected).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from imapproto import SequenceSet

__all__ = [
    "EMPTY",
    "LABEL_PREFIX",
    "MAX_FLAG_RANGES",
    "FlagSets",
    "FolderCheckpoint",
    "apply_flags",
    "flags_of",
]

MAX_FLAG_RANGES = 2000
LABEL_PREFIX = "label:"
EMPTY = SequenceSet.from_iterable(())

FlagSets = Mapping[str, SequenceSet]


@dataclass(frozen=True, slots=True)
class FolderCheckpoint:
    """One folder as of its last completed sync (see the module comment)."""

    path: str
    folder_id: int
    uidvalidity: int
    uidnext: int
    messages: int
    highestmodseq: int | None = None
    unseen: int | None = None
    uids: SequenceSet | None = None
    flags: FlagSets | None = None
    changes: int = 0
    special_use: str | None = None

    def encode(self) -> bytes:
        body: dict[str, Any] = {
            "f": self.folder_id,
            "v": self.uidvalidity,
            "n": self.uidnext,
            "m": self.messages,
        }
        if self.highestmodseq is not None:
            body["h"] = self.highestmodseq
        if self.unseen is not None:
            body["s"] = self.unseen
        if self.uids is not None:
            body["u"] = self.uids.to_bytes().decode() if self.uids else ""
        if self.flags is None:
            body["g"] = 0
        elif self.flags:
            body["g"] = {name: uids.to_bytes().decode() for name, uids in self.flags.items()}
        if self.changes:
            body["c"] = self.changes
        if self.special_use is not None:
            body["su"] = self.special_use
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, path: str, raw: bytes) -> FolderCheckpoint:
        """The checkpoint ``encode`` wrote for ``path``; ``ValueError`` if it is not one."""
        try:
            body = json.loads(raw)
            uids = body.get("u")
            flags = body.get("g", {})
            return cls(
                path=path,
                folder_id=int(body["f"]),
                uidvalidity=int(body["v"]),
                uidnext=int(body["n"]),
                messages=int(body["m"]),
                highestmodseq=None if body.get("h") is None else int(body["h"]),
                unseen=None if body.get("s") is None else int(body["s"]),
                uids=None if uids is None else _parse_set(uids),
                flags=None
                if flags == 0
                else {str(name): _parse_set(text) for name, text in flags.items()},
                changes=int(body.get("c", 0)),
                special_use=None if body.get("su") is None else str(body["su"]),
            )
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as error:
            raise ValueError(f"not a folder checkpoint: {error}") from error


def _parse_set(text: str) -> SequenceSet:
    return SequenceSet.parse(text) if text else EMPTY


def flags_of(flag_sets: FlagSets, uid: int) -> frozenset[str]:
    """The flags (and ``label:`` entries) ``flag_sets`` records for ``uid``."""
    return frozenset(name for name, uids in flag_sets.items() if uid in uids)


def apply_flags(
    flag_sets: FlagSets | None,
    updates: Iterable[tuple[int, frozenset[str]]],
    removed: SequenceSet = EMPTY,
) -> FlagSets | None:
    """``flag_sets`` with each ``(uid, flags)`` of ``updates`` set and the ``removed`` UIDs gone.

    ``None`` stays ``None``; a result past ``MAX_FLAG_RANGES`` ranges is ``None``.
    """
    if flag_sets is None:
        return None
    by_flag: dict[str, set[int]] = {}
    touched: set[int] = set()
    for uid, flags in updates:
        touched.add(uid)
        for name in flags:
            by_flag.setdefault(name, set()).add(uid)
    clear = removed.union(SequenceSet.from_iterable(touched)) if touched else removed
    result: dict[str, SequenceSet] = {}
    for name in set(flag_sets) | set(by_flag):
        uids = flag_sets.get(name, EMPTY)
        if clear:
            uids = uids.difference(clear)
        added = by_flag.get(name)
        if added:
            uids = uids.union(SequenceSet.from_iterable(added))
        if uids:
            result[name] = uids
    if sum(len(uids.ranges) for uids in result.values()) > MAX_FLAG_RANGES:
        return None
    return result
