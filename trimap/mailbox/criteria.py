"""The API's search criteria (the reference's ``search`` object), compiled to imapproto search keys.

How it works: ``parse_search(criteria)`` reads a JSON object such as
``{"unseen": true, "from": "ann", "since": "2024-02-01"}``: each key has a
reader that checks its value and gives one ``imapproto.search`` key; the keys
are ANDed (``{}`` is ``ALL``).  Every bad or unknown key is collected, and
``InvalidSearch.fields`` names them all at once (``{"subject": "..."}``, key
paths relative to the criteria object: ``header.X-Mailer``; an API route
prefixes its body key).

==================================================  ==========================================
key                                                 value, and the IMAP it becomes
==================================================  ==========================================
``seq``, ``uid``                                    a set such as ``"1:5,7,9:*"`` or a number:
                                                    ``<set>``, ``UID <set>``
``answered`` ``deleted`` ``draft`` ``flagged``      ``true``: the flag (``ANSWERED``);
``seen``                                            ``false``: ``UNANSWERED`` ...
``unseen``                                          ``true``: ``UNSEEN``; ``false``: ``SEEN``
``from`` ``to`` ``cc`` ``bcc`` ``subject`` ``body``  a substring, 1 to 256 characters
``larger``, ``smaller``                             bytes, 0 to 1 GiB
``modseq``                                          ``MODSEQ n`` (CONDSTORE servers)
``before`` ``since``                                the internal date: ``BEFORE``/``SINCE``
``sentBefore`` ``sentSince``                        the Date header: ``SENTBEFORE``/``SENTSINCE``
``emailId``, ``threadId``                           ``EMAILID``/``THREADID`` (RFC 8474), with
                                                    ``gmail``: ``X-GM-MSGID``/``X-GM-THRID``
``header``                                          ``{name: value}``: ``HEADER name value``;
                                                    ``true`` as value: the field is present
==================================================  ==========================================

Dates are ISO 8601 (``2024-02-01``, or a date-time, taken in UTC) or
milliseconds since the epoch, as the reference's schema took them; IMAP
compares whole days.

Rules it keeps: JSON types are strict (no ``"true"`` for ``true``, no
``"5"`` for ``5``); strings carry no control characters (they could not
mean anything in a search, and a NUL cannot be sent); nothing reaches the
server that imapproto would refuse when writing the command, so a search
never fails on our side after it was accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from imapproto import LocalProtocolError
from imapproto import search as keys
from trimap.fielderrors import InvalidFields

__all__ = ["SEARCH_KEYS", "InvalidSearch", "SearchKey", "parse_search"]

SearchKey = keys.SearchKey
Reader = Callable[[Any, str], SearchKey]

MAX_TEXT = 256
MAX_SIZE = 1 << 30
MAX_MODSEQ = (1 << 63) - 1


class InvalidSearch(InvalidFields):
    """Search criteria that cannot be compiled; ``fields`` maps each bad key to why."""


class _Refused(ValueError):
    """One value refused; the message says what the key needs."""


def _check_text(value: Any, key: str) -> str:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_TEXT
        or any(ord(char) < 0x20 or ord(char) == 0x7F for char in value)
    ):
        raise _Refused(
            f'"{key}" must be a string of 1 to {MAX_TEXT} characters, no control characters'
        )
    return value


def _check_number(value: Any, key: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise _Refused(f'"{key}" must be an integer from 0 to {maximum}')
    return value


def _check_date(value: Any, key: str) -> date:
    message = f'"{key}" must be an ISO 8601 date or date-time, or milliseconds since the epoch'
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC).date()
        except (OverflowError, OSError, ValueError):
            raise _Refused(message) from None
    if not isinstance(value, str) or len(value) > 64:
        raise _Refused(message)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Refused(message) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def _flag(when_true: SearchKey, when_false: SearchKey) -> Reader:
    def read(value: Any, key: str) -> SearchKey:
        if not isinstance(value, bool):
            raise _Refused(f'"{key}" must be a boolean')
        return when_true if value else when_false

    return read


def _text(build: Callable[[str], SearchKey]) -> Reader:
    return lambda value, key: build(_check_text(value, key))


def _date(build: Callable[[date], SearchKey]) -> Reader:
    return lambda value, key: build(_check_date(value, key))


def _size(build: Callable[[int], SearchKey]) -> Reader:
    return lambda value, key: build(_check_number(value, key, MAX_SIZE))


def _message_set(build: Callable[[str | int], SearchKey]) -> Reader:
    def read(value: Any, key: str) -> SearchKey:
        if (isinstance(value, str) and len(value) <= 4096) or (
            isinstance(value, int) and not isinstance(value, bool)
        ):
            try:
                return build(value)
            except LocalProtocolError:
                pass
        raise _Refused(f'"{key}" must be a set of numbers such as "1:5,7,9:*", or a number')

    return read


def _modseq(value: Any, key: str) -> SearchKey:
    return keys.modseq(_check_number(value, key, MAX_MODSEQ))


def _object_id(
    standard: Callable[[str], SearchKey], gmail: Callable[[int], SearchKey]
) -> Callable[[Any, str, bool], SearchKey]:
    def read(value: Any, key: str, on_gmail: bool) -> SearchKey:
        text = _check_text(value, key)
        try:
            return gmail(int(text)) if on_gmail else standard(text)
        except (LocalProtocolError, ValueError):
            what = "a Gmail id (decimal)" if on_gmail else "an object id (A-Z a-z 0-9 - _)"
            raise _Refused(f'"{key}" must be {what}') from None

    return read


_READERS: dict[str, Reader] = {
    "seq": _message_set(keys.messages),
    "uid": _message_set(keys.uid),
    "answered": _flag(keys.ANSWERED, keys.UNANSWERED),
    "deleted": _flag(keys.DELETED, keys.UNDELETED),
    "draft": _flag(keys.DRAFT, keys.UNDRAFT),
    "flagged": _flag(keys.FLAGGED, keys.UNFLAGGED),
    "seen": _flag(keys.SEEN, keys.UNSEEN),
    "unseen": _flag(keys.UNSEEN, keys.SEEN),
    "from": _text(keys.from_),
    "to": _text(keys.to),
    "cc": _text(keys.cc),
    "bcc": _text(keys.bcc),
    "subject": _text(keys.subject),
    "body": _text(keys.body),
    "larger": _size(keys.larger),
    "smaller": _size(keys.smaller),
    "modseq": _modseq,
    "before": _date(keys.before),
    "since": _date(keys.since),
    "sentBefore": _date(keys.sent_before),
    "sentSince": _date(keys.sent_since),
}
_OBJECT_IDS = {
    "emailId": _object_id(keys.email_id, keys.gmail_message_id),
    "threadId": _object_id(keys.thread_id, keys.gmail_thread_id),
}
#: Every key ``parse_search`` knows.
SEARCH_KEYS = frozenset(_READERS) | frozenset(_OBJECT_IDS) | {"header"}


def _headers(value: Any, problems: dict[str, str]) -> list[SearchKey]:
    if not isinstance(value, Mapping):
        problems["header"] = '"header" must be an object of header names and values'
        return []
    found = []
    for name, wanted in value.items():
        key = f"header.{name}"
        try:
            text = "" if wanted is True else _check_text(wanted, key)
            found.append(keys.header(name, text))
        except _Refused as refused:
            problems[key] = f"{refused} (or true: the header is present)"
        except LocalProtocolError:
            problems[key] = f'"{key}": not a header field name'
    return found


def parse_search(criteria: Mapping[str, Any], *, gmail: bool = False) -> SearchKey:
    """The search key of ``criteria`` (see the module comment); ``InvalidSearch`` names
    every bad key.  ``gmail``: ids are Gmail's (the server has X-GM-EXT-1)."""
    problems: dict[str, str] = {}
    found: list[SearchKey] = []
    for key, value in criteria.items():
        try:
            if key in _READERS:
                found.append(_READERS[key](value, key))
            elif key in _OBJECT_IDS:
                found.append(_OBJECT_IDS[key](value, key, gmail))
            elif key == "header":
                found.extend(_headers(value, problems))
            else:
                problems[key] = f'"{key}" is not a search key'
        except _Refused as refused:
            problems[key] = str(refused)
    if problems:
        raise InvalidSearch(problems)
    return keys.all_of(*found) if found else keys.ALL
