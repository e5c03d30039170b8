"""SEARCH criteria as a small typed model (RFC 3501 6.4.4 and extensions).

Theory of operation: a ``SearchKey`` is a conjunction of one or more single
search keys, each kept as its already-checked command arguments.  Keys are
combined with ``&`` (AND: the keys are simply listed), ``|`` (``OR a b``) and
``~`` (``NOT a``); where IMAP needs one key and a conjunction has several,
the conjunction is parenthesised.  The argument-less keys are constants
(``UNSEEN``), the others are functions (``from_("ann")``, ``since(date)``).

Rules this module keeps:

* Strings go through ``String`` (atom, quoted or literal, chosen when the
  command is written), so no value can break out of its argument.
* A key whose strings are not all ASCII marks the criteria ``non_ascii``; the
  SEARCH command then sends ``CHARSET UTF-8`` unless UTF8=ACCEPT is enabled
  (and the strings go as literals there, as quoted strings cannot hold 8-bit
  bytes).
* Dates are ``datetime.date`` values written in the IMAP form ``1-Feb-2024``
  with English month names, whatever the locale; numbers are range-checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import reduce

from ._errors import LocalProtocolError
from ._seqset import MAX_NUMBER
from ._writers import (
    Argument,
    Atom,
    MessageSet,
    ParenList,
    Raw,
    String,
    check_field_name,
    number,
    sequence_set,
)

__all__ = [
    "ALL",
    "ANSWERED",
    "DELETED",
    "DRAFT",
    "FLAGGED",
    "NEW",
    "OLD",
    "RECENT",
    "SEEN",
    "UNANSWERED",
    "UNDELETED",
    "UNDRAFT",
    "UNFLAGGED",
    "UNSEEN",
    "SearchKey",
    "all_of",
    "any_of",
    "bcc",
    "before",
    "body",
    "cc",
    "email_id",
    "from_",
    "gmail_message_id",
    "gmail_raw",
    "gmail_thread_id",
    "header",
    "imap_date",
    "keyword",
    "larger",
    "messages",
    "modseq",
    "older",
    "on",
    "sent_before",
    "sent_on",
    "sent_since",
    "since",
    "smaller",
    "subject",
    "text",
    "thread_id",
    "to",
    "uid",
    "unkeyword",
    "younger",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# RFC 8474 objectid.
_OBJECT_ID = re.compile(r"[A-Za-z0-9_-]{1,255}")


@dataclass(frozen=True, slots=True)
class SearchKey:
    """Search criteria: the AND of ``keys``, each the arguments of one search key."""

    keys: tuple[tuple[Argument, ...], ...]
    non_ascii: bool = False

    def __and__(self, other: SearchKey) -> SearchKey:
        return SearchKey(self.keys + other.keys, self.non_ascii or other.non_ascii)

    def __or__(self, other: SearchKey) -> SearchKey:
        return SearchKey(
            ((Raw(b"OR"), *self._single(), *other._single()),),
            self.non_ascii or other.non_ascii,
        )

    def __invert__(self) -> SearchKey:
        return SearchKey(((Raw(b"NOT"), *self._single()),), self.non_ascii)

    @property
    def arguments(self) -> tuple[Argument, ...]:
        """The criteria as SEARCH command arguments."""
        return tuple(arg for key in self.keys for arg in key)

    def _single(self) -> tuple[Argument, ...]:
        """These criteria as one search key (parenthesised if there are several)."""
        if len(self.keys) == 1:
            return self.keys[0]
        return (ParenList(self.arguments),)


def all_of(*keys: SearchKey) -> SearchKey:
    """Messages matching every key."""
    if not keys:
        raise LocalProtocolError("all_of() needs at least one search key")
    return reduce(SearchKey.__and__, keys)


def any_of(*keys: SearchKey) -> SearchKey:
    """Messages matching at least one key (nested ``OR``)."""
    if not keys:
        raise LocalProtocolError("any_of() needs at least one search key")
    return reduce(SearchKey.__or__, keys)


def _key(*args: Argument, non_ascii: bool = False) -> SearchKey:
    return SearchKey((args,), non_ascii)


def _string_key(name: bytes, value: str) -> SearchKey:
    return _key(Raw(name), String(value, atom_ok=True), non_ascii=not value.isascii())


def imap_date(day: date) -> bytes:
    """``day`` in the IMAP ``date`` form, e.g. ``b"1-Feb-2024"``."""
    return b"%d-%s-%04d" % (day.day, _MONTHS[day.month - 1].encode("ascii"), day.year)


def _date_key(name: bytes, day: date) -> SearchKey:
    if not isinstance(day, date):
        raise LocalProtocolError(f"{name.decode()} needs a datetime.date, not {day!r}")
    return _key(Raw(name), Raw(imap_date(day)))


ALL = _key(Raw(b"ALL"))
ANSWERED = _key(Raw(b"ANSWERED"))
DELETED = _key(Raw(b"DELETED"))
DRAFT = _key(Raw(b"DRAFT"))
FLAGGED = _key(Raw(b"FLAGGED"))
NEW = _key(Raw(b"NEW"))
OLD = _key(Raw(b"OLD"))
RECENT = _key(Raw(b"RECENT"))
SEEN = _key(Raw(b"SEEN"))
UNANSWERED = _key(Raw(b"UNANSWERED"))
UNDELETED = _key(Raw(b"UNDELETED"))
UNDRAFT = _key(Raw(b"UNDRAFT"))
UNFLAGGED = _key(Raw(b"UNFLAGGED"))
UNSEEN = _key(Raw(b"UNSEEN"))


def messages(ids: MessageSet) -> SearchKey:
    """Messages with these sequence numbers."""
    return _key(sequence_set(ids))


def uid(ids: MessageSet) -> SearchKey:
    """``UID set``."""
    return _key(Raw(b"UID"), sequence_set(ids, "UID set"))


def keyword(flag: str) -> SearchKey:
    """``KEYWORD flag``: messages with this keyword set."""
    return _key(Raw(b"KEYWORD"), Atom(flag))


def unkeyword(flag: str) -> SearchKey:
    """``UNKEYWORD flag``."""
    return _key(Raw(b"UNKEYWORD"), Atom(flag))


def from_(value: str) -> SearchKey:
    """``FROM value`` (substring of the From header)."""
    return _string_key(b"FROM", value)


def to(value: str) -> SearchKey:
    """``TO value``."""
    return _string_key(b"TO", value)


def cc(value: str) -> SearchKey:
    """``CC value``."""
    return _string_key(b"CC", value)


def bcc(value: str) -> SearchKey:
    """``BCC value``."""
    return _string_key(b"BCC", value)


def subject(value: str) -> SearchKey:
    """``SUBJECT value``."""
    return _string_key(b"SUBJECT", value)


def body(value: str) -> SearchKey:
    """``BODY value`` (substring of the body)."""
    return _string_key(b"BODY", value)


def text(value: str) -> SearchKey:
    """``TEXT value`` (substring of header or body)."""
    return _string_key(b"TEXT", value)


def header(name: str, value: str) -> SearchKey:
    """``HEADER name value``; an empty value matches every message with the field."""
    return _key(
        Raw(b"HEADER"),
        String(check_field_name(name), atom_ok=True),
        String(value, atom_ok=True),
        non_ascii=not value.isascii(),
    )


def since(day: date) -> SearchKey:
    """``SINCE day``: internal date on or after ``day``."""
    return _date_key(b"SINCE", day)


def before(day: date) -> SearchKey:
    """``BEFORE day``: internal date before ``day``."""
    return _date_key(b"BEFORE", day)


def on(day: date) -> SearchKey:
    """``ON day``: internal date within ``day``."""
    return _date_key(b"ON", day)


def sent_since(day: date) -> SearchKey:
    """``SENTSINCE day`` (Date header)."""
    return _date_key(b"SENTSINCE", day)


def sent_before(day: date) -> SearchKey:
    """``SENTBEFORE day``."""
    return _date_key(b"SENTBEFORE", day)


def sent_on(day: date) -> SearchKey:
    """``SENTON day``."""
    return _date_key(b"SENTON", day)


def larger(size: int) -> SearchKey:
    """``LARGER size``: RFC822.SIZE above ``size`` octets."""
    return _key(Raw(b"LARGER"), number(size, "LARGER size"))


def smaller(size: int) -> SearchKey:
    """``SMALLER size``."""
    return _key(Raw(b"SMALLER"), number(size, "SMALLER size"))


def modseq(value: int) -> SearchKey:
    """``MODSEQ value`` (RFC 7162): messages changed at or after this mod-sequence."""
    return _key(Raw(b"MODSEQ"), number(value, "MODSEQ"))


def older(seconds: int) -> SearchKey:
    """``OLDER seconds`` (RFC 5032 WITHIN)."""
    return _key(Raw(b"OLDER"), number(seconds, "OLDER interval", 1, MAX_NUMBER))


def younger(seconds: int) -> SearchKey:
    """``YOUNGER seconds`` (RFC 5032 WITHIN)."""
    return _key(Raw(b"YOUNGER"), number(seconds, "YOUNGER interval", 1, MAX_NUMBER))


def email_id(value: str) -> SearchKey:
    """``EMAILID id`` (RFC 8474)."""
    return _key(Raw(b"EMAILID"), _object_id(value))


def thread_id(value: str) -> SearchKey:
    """``THREADID id`` (RFC 8474)."""
    return _key(Raw(b"THREADID"), _object_id(value))


def gmail_raw(query: str) -> SearchKey:
    """``X-GM-RAW query``: Gmail's own search syntax."""
    return _string_key(b"X-GM-RAW", query)


def gmail_message_id(value: int) -> SearchKey:
    """``X-GM-MSGID id``."""
    return _key(Raw(b"X-GM-MSGID"), number(value, "X-GM-MSGID", 0, (1 << 64) - 1))


def gmail_thread_id(value: int) -> SearchKey:
    """``X-GM-THRID id``."""
    return _key(Raw(b"X-GM-THRID"), number(value, "X-GM-THRID", 0, (1 << 64) - 1))


def _object_id(value: str) -> Raw:
    if not _OBJECT_ID.fullmatch(value):
        raise LocalProtocolError(f"{value!r} is not an RFC 8474 object id")
    return Raw(value.encode("ascii"))
