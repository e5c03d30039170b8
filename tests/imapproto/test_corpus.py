"""The shared corpus of real server responses (tests/imapproto/corpus/, see its README).

Every case is parsed by ``ResponseParser`` and the values its source project
states are asserted in *our* model.  The ``expected`` field is in the source
project's own shape, so there is one checker per ``expected_format``, each
deriving assertions from it (net-imap structs, imapclient tuples and dicts,
imaplib's typ/data, ...).  Where a source expects an error we expect a
``ProtocolError``, except for the few inputs we knowingly accept (more
tolerant than the source): those are in ``TOLERATED`` with what we produce
and why.

Framing: some cases are bare token sequences (imapclient's ``parse_response``
and lexer tests, tagged ``bare-tokens``) with no response around them.  We
wrap them into an unknown untagged response, ``* X <tokens>``, and assert the
generic values of the resulting ``UnknownUntagged`` event.  Lexer cases made
of several lines are wrapped line by line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from imapproto._errors import ProtocolError
from imapproto._events import (
    NEED_DATA,
    Acl,
    Capability,
    ConnectionClosed,
    ContinuationRequest,
    Enabled,
    ESearch,
    Event,
    Exists,
    Expunge,
    Fetch,
    Flags,
    Id,
    ListResponse,
    Namespace,
    Quota,
    QuotaRoot,
    Recent,
    Search,
    Sort,
    Status,
    TaggedResponse,
    Thread,
    UnknownUntagged,
    UntaggedCondition,
    Vanished,
)
from imapproto._parser import ResponseParser
from imapproto._readers import FramedResponse, Malformed, tokenize
from imapproto._seqset import SequenceSet
from imapproto._types import (
    Address,
    AddressGroup,
    AppendUid,
    BodyStructure,
    CopyUid,
    Envelope,
    NamespaceEntry,
    QuotaResource,
    ResponseCode,
)

CORPUS = Path(__file__).parent / "corpus" / "imap-responses.jsonl"
CASES: list[dict[str, Any]] = [
    json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line.strip()
]


def wire(case: dict[str, Any]) -> bytes:
    return str(case["input"]).encode(case.get("input_encoding") or "utf-8")


def parse(data: bytes | list[bytes], **options: Any) -> list[Event]:
    """All events of ``data`` (one bytes or a list of network reads), then a clean close."""
    parser = ResponseParser(**options)
    events: list[Event] = []
    for piece in [data] if isinstance(data, bytes) else data:
        parser.feed(piece)
        while (event := parser.next_event()) is not NEED_DATA:
            assert isinstance(event, Event)
            events.append(event)
    parser.feed(b"")
    assert isinstance(parser.next_event(), ConnectionClosed)
    assert parser.next_event() is NEED_DATA
    return events


def parse_one(data: bytes, **options: Any) -> Event:
    events = parse(data, **options)
    assert len(events) == 1, events
    return events[0]


def wrap_bare(case: dict[str, Any]) -> bytes:
    """A bare token sequence as the unknown untagged response ``* X <tokens>``.

    Lexer cases may hold several lines (no literals): each becomes a response.
    """
    data = wire(case)
    if case.get("expected_format") == "imapclient-lexer-tokens":
        lines = [line for line in data.split(b"\n") if line.strip(b"\r")]
        return b"".join(b"* X " + line + b"\n" for line in lines)
    return b"* X " + data


def generic_values(case: dict[str, Any]) -> list[Any]:
    """The values of the ``* X`` response(s) that ``wrap_bare`` made of a case."""
    values: list[Any] = []
    for event in parse(wrap_bare(case)):
        assert isinstance(event, UnknownUntagged) and event.name == "X"
        values.extend(event.values)
    return values


# -- comparing generic values -------------------------------------------------


def same_generic(ours: Any, theirs: Any, nil_string: bool = False) -> bool:
    """Our generic value equals a JSON value of a source (strings/bytes/ints/lists).

    ``nil_string``: the source read NIL as the string "nil" (an astring).
    """
    if isinstance(theirs, list):
        return (
            isinstance(ours, tuple)
            and len(ours) == len(theirs)
            and all(same_generic(a, b, nil_string) for a, b in zip(ours, theirs, strict=True))
        )
    if ours is None and nil_string and isinstance(theirs, str):
        return theirs.upper() == "NIL"
    if theirs is None:
        return ours is None
    if isinstance(ours, bytes):
        ours = ours.decode("utf-8", "replace")
    if isinstance(theirs, int) or isinstance(ours, int):
        return str(ours) == str(theirs)
    return bool(ours == theirs)


def net_flag(flag: str) -> str:
    """net-imap writes system flags as symbols (":Seen"); ours keep IMAP's "\\Seen"."""
    return "\\" + flag[1:] if flag.startswith(":") else flag


def same_flags(ours: tuple[str, ...] | None, theirs: list[str]) -> bool:
    assert ours is not None
    return [f.lower() for f in ours] == [net_flag(f).lower() for f in theirs]


def sequence_set(value: dict[str, Any]) -> SequenceSet:
    assert value["_class"] == "object:Net::IMAP::SequenceSet"
    return SequenceSet.parse(value["string"], allow_star=True)


# -- net-imap structs -----------------------------------------------------------


def check_response_text(code: ResponseCode | None, text: str, expected: dict[str, Any]) -> None:
    assert text == expected["text"]
    expected_code = expected.get("code")
    if expected_code is None:
        assert code is None
        return
    assert code is not None and code.name == expected_code["name"]
    data = expected_code["data"]
    value = code.value
    if data is None:
        assert value is None
    elif isinstance(data, int | str):
        assert value == data
    elif isinstance(data, list):
        assert isinstance(value, tuple)
        assert [v.lower() for v in value] == [net_flag(str(d)).lower() for d in data]
    elif data["_class"] == "object:Net::IMAP::SequenceSet":
        assert value == sequence_set(data)
    elif data["_class"] == "data:Net::IMAP::AppendUIDData":
        assert isinstance(value, AppendUid)
        assert value.uidvalidity == data["uidvalidity"]
        assert value.uids == sequence_set(data["assigned_uids"])
    elif data["_class"] == "data:Net::IMAP::CopyUIDData":
        check_copyuid(value, data)
    elif data["_class"] == "data:Net::IMAP::InvalidParseData":
        # net-imap keeps what it could not parse; we keep the raw argument
        # text, or a value when the leading words make sense (COPYUID + junk).
        if data["parsed_data"] is not None:
            check_copyuid(value, data["parsed_data"])
        elif data["unparsed_data"] is None:
            assert value is None
        else:
            assert value == data["unparsed_data"].strip()
    else:
        raise AssertionError(f"unhandled code data {data}")


def check_copyuid(value: Any, data: dict[str, Any]) -> None:
    assert isinstance(value, CopyUid)
    assert value.uidvalidity == data["uidvalidity"]
    assert value.source == sequence_set(data["source_uids"])
    assert value.destination == sequence_set(data["assigned_uids"])
    assert len(list(value.uid_map())) == len(value.source)


def flatten_addresses(addresses: tuple[Address | AddressGroup, ...]) -> list[Address]:
    """Our address tuple in RFC 3501 wire order, group markers included (as net-imap has it)."""
    flat: list[Address] = []
    for item in addresses:
        if isinstance(item, AddressGroup):
            flat.append(Address(None, None, item.name, None))
            flat.extend(item.members)
            flat.append(Address(None, None, None, None))
        else:
            flat.append(item)
    return flat


def check_addresses(ours: tuple[Address | AddressGroup, ...], theirs: list[Any] | None) -> None:
    flat = flatten_addresses(ours)
    expected = theirs or []
    assert len(flat) == len(expected), (flat, expected)
    for address, wanted in zip(flat, expected, strict=True):
        assert (address.name, address.route, address.mailbox, address.host) == (
            wanted["name"],
            wanted["route"],
            wanted["mailbox"],
            wanted["host"],
        )


def check_envelope(ours: Envelope | None, theirs: dict[str, Any], date_is_raw: bool) -> None:
    assert ours is not None
    if date_is_raw:
        assert ours.date == theirs["date"]
    assert ours.subject == theirs["subject"]
    for field in ("from", "sender", "reply_to", "to", "cc", "bcc"):
        wanted = theirs[field] if field in theirs else theirs.get(field + "_")
        check_addresses(getattr(ours, "from_" if field == "from" else field), wanted)
    assert ours.in_reply_to == theirs["in_reply_to"]
    assert ours.message_id == theirs["message_id"]


def check_params(ours: Any, theirs: dict[str, Any] | None) -> None:
    expected = {name.lower(): value for name, value in (theirs or {}).items()}
    assert dict(ours) == expected


def check_language(ours: tuple[str, ...] | None, theirs: Any) -> None:
    if theirs is None:
        assert ours is None
        return
    wanted = theirs if isinstance(theirs, list) else [theirs]
    assert ours is not None and [x.lower() for x in ours] == [str(x).lower() for x in wanted]


def check_body(ours: BodyStructure, theirs: dict[str, Any], part: str) -> None:
    """Compare a body tree; ``part`` is the number RFC 3501 gives this node."""
    assert ours.part == part
    assert ours.type == theirs["media_type"].lower()
    assert ours.subtype == theirs["subtype"].lower()
    check_params(ours.params, theirs.get("param"))
    disposition = theirs.get("disposition")
    if disposition is None:
        assert ours.disposition is None
    else:
        assert ours.disposition == disposition["dsp_type"].lower()
        check_params(ours.disposition_params, disposition["param"])
    check_language(ours.language, theirs.get("language"))
    assert ours.location == theirs.get("location")
    extension = theirs.get("extension")
    assert same_generic(ours.extension, extension or [])
    if theirs["_class"] == "struct:Net::IMAP::BodyTypeMultipart":
        parts = theirs["parts"] or []  # None: a multipart without parts ("MIXED")
        assert len(ours.children) == len(parts)
        prefix = part + "." if part else ""
        for index, (child, wanted) in enumerate(zip(ours.children, parts, strict=True)):
            check_body(child, wanted, prefix + str(index + 1))
        return
    assert ours.id == theirs["content_id"]
    assert ours.description == theirs["description"]
    assert ours.encoding == (theirs["encoding"] or "").lower() or theirs["encoding"] is None
    assert ours.size == theirs["size"]
    assert ours.md5 == theirs["md5"]
    if "lines" in theirs:
        assert ours.lines == theirs["lines"]
    if theirs["_class"] == "struct:Net::IMAP::BodyTypeMessage":
        check_envelope(ours.envelope, theirs["envelope"], date_is_raw=True)
        inner = theirs["body"]
        assert ours.message_body is not None
        inner_part = (
            part if inner["_class"] == "struct:Net::IMAP::BodyTypeMultipart" else part + ".1"
        )
        check_body(ours.message_body, inner, inner_part)


def check_fetch_attr(fetch: Fetch, name: str, value: Any) -> None:
    if name == "UID":
        assert fetch.uid == value
    elif name == "FLAGS":
        assert same_flags(fetch.flags, value)
    elif name == "RFC822.SIZE":
        assert fetch.size == value
    elif name == "INTERNALDATE":
        assert fetch.internaldate is not None
        assert fetch.internaldate.strftime("%d-%b-%Y %H:%M:%S %z") == value.strip().zfill(26)
    elif name == "ENVELOPE":
        check_envelope(fetch.envelope, value, date_is_raw=True)
    elif name in ("BODY", "BODYSTRUCTURE"):
        assert fetch.bodystructure is not None
        multipart = value["_class"] == "struct:Net::IMAP::BodyTypeMultipart"
        check_body(fetch.bodystructure, value, "" if multipart else "1")
    elif name == "MODSEQ":
        assert fetch.modseq == value
    elif name == "EMAILID":
        assert fetch.email_id == value
    elif name == "THREADID":
        assert fetch.thread_id == value
    elif name == "X-GM-MSGID":
        assert fetch.gm_msgid == value
    elif name == "X-GM-THRID":
        assert fetch.gm_thrid == value
    elif name == "X-GM-LABELS":
        assert fetch.gm_labels is not None
        assert [label.lower() for label in fetch.gm_labels] == [
            net_flag(label).lower() for label in value
        ]
    elif name.startswith(("BODY[", "RFC822")):
        item, _, section = name.partition("[")
        found = fetch.section(item, section[:-1])
        assert found is not None, name
        assert found.data == (None if value is None else value.encode("latin-1"))
    else:
        raise AssertionError(f"unhandled FETCH attribute {name}")


def check_thread(ours: tuple[Any, ...], theirs: list[dict[str, Any]]) -> None:
    """Our nested tuples (imapclient's shape) against net-imap's ThreadMember tree."""

    def chain(items: tuple[Any, ...]) -> list[dict[str, Any]]:
        if not items:
            return []
        if all(isinstance(item, tuple) for item in items):
            return [member for item in items for member in members(item)]
        return [{"seqno": items[0], "children": chain(items[1:])}]

    def members(thread: tuple[Any, ...]) -> list[dict[str, Any]]:
        if isinstance(thread[0], int):
            return chain(thread)
        return [{"seqno": None, "children": [m for sub in thread for m in members(sub)]}]

    def strip(member: dict[str, Any]) -> dict[str, Any]:
        return {
            "seqno": member["seqno"],
            "children": [strip(child) for child in member["children"]],
        }

    assert [m for thread in ours for m in members(thread)] == [strip(m) for m in theirs]


def check_untagged(event: Event, name: str, data: Any) -> None:
    if name in ("OK", "NO", "BAD", "PREAUTH", "BYE"):
        assert isinstance(event, UntaggedCondition) and event.status == name
        check_response_text(event.code, event.text, data)
    elif name == "CAPABILITY":
        assert isinstance(event, Capability) and list(event.capabilities) == data
    elif name == "ENABLED":
        assert isinstance(event, Enabled) and list(event.capabilities) == data
    elif name == "FLAGS":
        assert isinstance(event, Flags) and same_flags(event.flags, data)
    elif name in ("EXISTS", "RECENT", "EXPUNGE"):
        cls = {"EXISTS": Exists, "RECENT": Recent, "EXPUNGE": Expunge}[name]
        assert isinstance(event, cls) and event == cls(data)
    elif name in ("FETCH", "UIDFETCH"):
        assert isinstance(event, Fetch)
        if name == "FETCH":
            assert event.seq == data["seqno"]
        else:
            assert event.uid == data["uid"]
        for attr, value in data["attr"].items():
            check_fetch_attr(event, attr, value)
    elif name in ("LIST", "LSUB", "XLIST"):
        assert isinstance(event, ListResponse) and event.command == name
        assert same_flags(event.entry.flags, data["attr"])
        assert event.entry.delimiter == data["delim"]
        assert event.entry.name == data["name"]
    elif name == "SEARCH":
        assert isinstance(event, Search)
        if isinstance(data, list):
            assert list(event.ids) == data and event.modseq is None
        else:
            assert list(event.ids) == data["internal"]
            ivars = data["ivars"]
            assert event.modseq == ivars.get(":@modseq", ivars.get("@modseq"))
    elif name == "ESEARCH":
        assert isinstance(event, ESearch)
        assert (event.tag, event.uid) == (data["tag"], data["uid"])
        seen = []
        for item, value in data["data"]:
            seen.append(item)
            if item == "ALL":
                assert event.all == sequence_set(value)
            elif item == "PARTIAL":
                assert event.partial is not None
                low, high = sorted(int(n) for n in event.partial[0].replace(":-", ": -").split(":"))
                assert (low, high) == (value["range"]["begin"], value["range"]["end"])
                results = value["results"]
                assert event.partial[1] == (None if results is None else sequence_set(results))
            else:
                assert getattr(event, item.lower()) == value
        for item in ("MIN", "MAX", "COUNT", "ALL", "MODSEQ", "PARTIAL"):
            if item not in seen:
                assert getattr(event, item.lower()) is None
    elif name == "STATUS":
        assert isinstance(event, Status) and event.mailbox == data["mailbox"]
        items = dict(event.items)
        assert set(items) == set(data["attr"])
        for attr, value in data["attr"].items():
            if isinstance(value, dict) and value.get("_class") == "struct:Net::IMAP::ExtensionData":
                inner = value["data"]
                if isinstance(inner, dict):  # a sequence set, kept as the atom we read
                    assert items[attr] == inner["string"]
                else:  # net-imap reads astrings here, so NIL is the string "nil"
                    assert same_generic(items[attr], inner, nil_string=True)
            elif attr == "MAILBOXID":
                assert event.mailbox_id == value
            else:
                assert items[attr] == value
                field = attr.lower().replace("-", "_")
                if hasattr(event, field):
                    assert getattr(event, field) == value
    elif name == "THREAD":
        assert isinstance(event, Thread)
        check_thread(event.threads, data)
    elif name == "VANISHED":
        assert isinstance(event, Vanished)
        assert event.uids == sequence_set(data["uids"]) and event.earlier == data["earlier"]
    elif name == "ID":
        assert isinstance(event, Id)
        assert (None if event.params is None else dict(event.params)) == data
    elif name == "NAMESPACE":
        assert isinstance(event, Namespace)
        for kind in ("personal", "other", "shared"):
            entries = getattr(event, kind)
            assert len(entries) == len(data[kind])
            for entry, wanted in zip(entries, data[kind], strict=True):
                assert (entry.prefix, entry.delimiter) == (wanted["prefix"], wanted["delim"])
                assert {k: list(v) for k, v in entry.extensions} == wanted["extensions"]
    elif name == "QUOTA":
        assert isinstance(event, Quota) and event.root == data["mailbox"]
        assert len(event.resources) == 1
        assert event.resources[0].usage == int(data["usage"])
        assert event.resources[0].limit == int(data["quota"])
    elif name == "QUOTAROOT":
        assert isinstance(event, QuotaRoot) and event.mailbox == data["mailbox"]
        assert list(event.roots) == data["quotaroots"]
    elif name == "ACL":
        assert isinstance(event, Acl)
        assert [(event.mailbox, user, rights) for user, rights in event.rights] == [
            (item["mailbox"], item["user"], item["rights"]) for item in data
        ]
    else:
        raise AssertionError(f"unhandled untagged response {name}")


def check_net_imap(case: dict[str, Any]) -> None:
    expected = case["expected"]
    if "_error" in expected:
        expect_error(case)
        return
    event = parse_one(wire(case))
    kind = expected["_class"]
    data = expected["data"]
    if kind == "struct:Net::IMAP::TaggedResponse":
        assert isinstance(event, TaggedResponse)
        assert (event.tag, event.status) == (expected["tag"], expected["name"])
        check_response_text(event.code, event.text, data)
    elif kind == "struct:Net::IMAP::ContinuationRequest":
        assert isinstance(event, ContinuationRequest)
        check_response_text(event.code, event.text, data)
    elif kind == "struct:Net::IMAP::IgnoredResponse":
        # net-imap ignores NOOP; we keep any unknown response, generically.
        assert isinstance(event, UnknownUntagged) and event.name == expected["name"]
        if data is None:
            assert (event.number, event.values) == (None, ())
        elif isinstance(data, int):
            assert (event.number, event.values) == (data, ())
        else:
            assert event.number == data.get("number")
            assert " ".join(str(v) for v in event.values) == data["unparsed_data"]
    else:
        assert kind == "struct:Net::IMAP::UntaggedResponse"
        check_untagged(event, expected["name"], data)


# -- imapclient and imaplib shapes ------------------------------------------------


def check_parse_response(case: dict[str, Any]) -> None:
    if "bare-tokens" in case.get("tags", []):
        expected = split_bracket_atoms(case["expected"], str(case["input"]))
        assert same_generic(tuple(generic_values(case)), expected)
        return
    # The one framed case: imapclient parses "* ID (...)"'s data.
    event = parse_one(wire(case))
    assert isinstance(event, Id) and event.params is not None
    assert [x for pair in event.params for x in pair] == case["expected"][0]


def split_bracket_atoms(values: list[Any], raw: str) -> list[Any]:
    """imapclient's values with unquoted "[a b]" atoms split at spaces (see lexer_values)."""
    result: list[Any] = []
    for value in values:
        if isinstance(value, list):
            result.append(split_bracket_atoms(value, raw))
        elif isinstance(value, str) and "[" in value and f'"{value}"' not in raw:
            result.extend(value.split(" "))
        else:
            result.append(value)
    return result


def lexer_values(tokens: list[str]) -> tuple[Any, ...]:
    """imapclient lexer tokens as the generic values we produce for the same bytes.

    Quoted tokens lose their quotes (the lexer already unescaped them), and a
    bracketed token holding spaces is split at the spaces: imapclient's lexer
    keeps "[aaa bbb]" whole, while we follow what servers mean by it (Gmail's
    flags "OIB-Seen-[Google Mail]/..." are separate atoms, net-imap agrees);
    only FETCH section names (BODY[HEADER.FIELDS (A B)]) keep spaces in brackets.
    """
    stack: list[list[Any]] = [[]]
    for token in tokens:
        if token == "(":
            stack.append([])
        elif token == ")":
            inner = stack.pop()
            stack[-1].append(tuple(inner))
        elif token.startswith('"'):
            stack[-1].append(token[1:-1])
        else:
            stack[-1].extend(token.split(" "))
    return tuple(stack[0])


def check_lexer_tokens(case: dict[str, Any]) -> None:
    assert same_generic(tuple(generic_values(case)), list_of(lexer_values(case["expected"])))


def list_of(values: Any) -> Any:
    return [list_of(v) for v in values] if isinstance(values, tuple) else values


def fetch_events(case: dict[str, Any]) -> list[Fetch]:
    events = parse(wire(case))
    assert all(isinstance(event, Fetch) for event in events)
    return [event for event in events if isinstance(event, Fetch)]


def check_fetch_dict(case: dict[str, Any]) -> None:
    """imapclient's {msgid: {ATTR: value, SEQ: seq}}; msgid is the UID when present."""
    merged: dict[int, dict[str, Any]] = {}
    for fetch in fetch_events(case):
        key = fetch.uid if fetch.uid is not None else fetch.seq
        merged.setdefault(key, {}).update(fetch_as_imapclient(fetch))
    expected = {int(key): value for key, value in case["expected"].items()}
    assert set(merged) == set(expected)
    for key, attrs in expected.items():
        for name, value in attrs.items():
            ours = merged[key][name]
            if name == "INTERNALDATE":  # imapclient gives local naive time
                instant = datetime.fromisoformat(value["_local_naive_of"])
                assert ours == instant
            elif name in ("BODY", "BODYSTRUCTURE"):
                check_imapclient_body(ours, value, "1" if isinstance(value[0], str) else "")
            else:
                assert same_generic(ours, value), (name, ours, value)


def fetch_as_imapclient(fetch: Fetch) -> dict[str, Any]:
    """The items of one Fetch, named as imapclient names them."""
    items: dict[str, Any] = {"SEQ": fetch.seq}
    if fetch.flags is not None:
        items["FLAGS"] = fetch.flags
    if fetch.modseq is not None:
        items["MODSEQ"] = fetch.modseq
    if fetch.internaldate is not None:
        items["INTERNALDATE"] = fetch.internaldate
    if fetch.bodystructure is not None:
        items["BODY"] = items["BODYSTRUCTURE"] = fetch.bodystructure
    for section in fetch.sections:
        origin = "" if section.origin is None else f"<{section.origin}>"
        name = (
            section.name
            if section.name.startswith("RFC822")
            else f"{section.name}[{section.section.upper()}]{origin}"
        )
        items[name] = section.data
    for name, value in fetch.extra:
        items[name] = value
    return items


def check_imapclient_body(ours: BodyStructure, theirs: list[Any], part: str) -> None:
    """imapclient's raw BODY tuples against our tree."""
    assert ours.part == part
    if isinstance(theirs[0], list):  # imapclient groups a multipart's children first
        children, subtype = theirs[0], theirs[1]
        assert (ours.type, ours.subtype) == ("multipart", subtype.lower())
        assert len(ours.children) == len(children)
        prefix = part + "." if part else ""
        for index, (child, wanted) in enumerate(zip(ours.children, children, strict=True)):
            check_imapclient_body(child, wanted, prefix + str(index + 1))
        return
    media_type, subtype, params, body_id, description, encoding, size = theirs[:7]
    assert (ours.type, ours.subtype) == (media_type.lower(), subtype.lower())
    check_params(ours.params, dict(zip(params[::2], params[1::2], strict=True)) if params else None)
    assert (ours.id, ours.description, ours.encoding, ours.size) == (
        body_id,
        description,
        encoding.lower(),
        size,
    )
    if media_type.lower() == "text":
        assert ours.lines == theirs[7]


def check_fetch_path(case: dict[str, Any]) -> None:
    (fetch,) = fetch_events(case)
    seq, name = case["expected"]["path"]
    assert fetch.seq == seq
    value = case["expected"]["value"]
    if name == "INTERNALDATE":
        if value is None:
            assert fetch.internaldate is None and dict(fetch.extra) == {"INTERNALDATE": None}
        else:
            assert fetch.internaldate == datetime.fromisoformat(value)
        return
    assert name == "ENVELOPE" and fetch.envelope is not None
    # imapclient parses the Date header (None when it cannot); we keep it raw.
    raw_date = fetch.envelope.date
    if value["date"] is None:
        assert raw_date in (None, "wtf")
    else:
        assert raw_date is not None
        parsed = parsedate_to_datetime(raw_date).replace(tzinfo=None)
        assert parsed == datetime.fromisoformat(value["date"])
    check_envelope(fetch.envelope, value, date_is_raw=False)


def check_folder_list(case: dict[str, Any]) -> None:
    events = parse(wire(case))
    assert [
        [list(e.entry.flags), e.entry.delimiter, e.entry.name]
        for e in events
        if isinstance(e, ListResponse)
    ] == case["expected"]
    assert len(events) == len(case["expected"])


def check_status_dict(case: dict[str, Any]) -> None:
    # imapclient asked for one mailbox; the last STATUS is the one it reports.
    events = parse(wire(case))
    assert all(isinstance(event, Status) for event in events)
    last = events[-1]
    assert isinstance(last, Status)
    assert dict(last.items) == case["expected"]
    for name, value in case["expected"].items():
        assert getattr(last, name.lower()) == value


def check_search(case: dict[str, Any]) -> None:
    event = parse_one(wire(case))
    assert isinstance(event, Search)
    assert list(event.ids) == case["expected"]["ids"]
    assert event.modseq == case["expected"]["modseq"]


def check_int_list(case: dict[str, Any]) -> None:
    event = parse_one(wire(case))
    assert isinstance(event, Search | Sort) and list(event.ids) == case["expected"]


def check_int_tree(case: dict[str, Any]) -> None:
    event = parse_one(wire(case))
    assert isinstance(event, Thread) and list_of(event.threads) == case["expected"]


def check_select_dict(case: dict[str, Any]) -> None:
    found: dict[str, Any] = {}
    for event in parse(wire(case)):
        if isinstance(event, Exists | Recent):
            found[type(event).__name__.upper()] = event.count
        elif isinstance(event, Flags):
            found["FLAGS"] = list(event.flags)
        elif isinstance(event, UntaggedCondition) and event.code is not None:
            value = event.code.value
            found[event.code.name] = list(value) if isinstance(value, tuple) else value
    assert found == case["expected"]


def check_unicode_str(case: dict[str, Any]) -> None:
    """A modified UTF-7 name, read where servers send it: as a LIST mailbox."""
    quoted = str(case["input"]).replace("\\", "\\\\").replace('"', '\\"')
    event = parse_one(b'* LIST () "/" "' + quoted.encode() + b'"\r\n')
    assert isinstance(event, ListResponse)
    assert event.entry.name == case["expected"]
    assert event.entry.raw_name == str(case["input"]).encode()


def check_imaplib_typ_data(case: dict[str, Any]) -> None:
    chunks = [str(c).encode() for c in case.get("chunks", [])] or wire(case)
    (event,) = parse(chunks)
    expected = case["expected"]
    if isinstance(event, Fetch):
        (item,) = expected["data"][0][1:]
        assert event.sections[0].data == item.encode()
        assert event.sections[0].section == "HEADER.FIELDS (DATE)"
    elif isinstance(event, ListResponse):
        assert expected["data"] == ['() "." directoryA']
        assert (event.entry.flags, event.entry.delimiter, event.entry.name) == (
            (),
            ".",
            "directoryA",
        )
    else:
        assert isinstance(event, UntaggedCondition) and event.status == expected["typ"]
        assert [event.text] == expected["data"]


def check_internaldate(case: dict[str, Any]) -> None:
    fetches = fetch_events(case)
    assert len(fetches) == 3
    for fetch in fetches:
        assert fetch.internaldate is not None
        assert fetch.internaldate.timestamp() == case["expected"]["utc_epoch_all"]
        assert fetch.internaldate.astimezone(UTC) == datetime(2000, 1, 1, tzinfo=UTC)


def check_without_expectation(case: dict[str, Any]) -> None:
    """Cases whose source states no value: assert what the input plainly says."""
    events = parse([str(c).encode() for c in case["chunks"]] if "chunks" in case else wire(case))
    source = case["input"]
    specific = UNSTATED.get(source)
    assert specific is not None, f"no assertion for {source!r}"
    assert events == specific


def expect_error(case: dict[str, Any]) -> None:
    data = wrap_bare(case) if "bare-tokens" in case.get("tags", []) else wire(case)
    if case["input"] in TOLERATED:
        assert parse(data) == TOLERATED[case["input"]]
        return
    if "bare-tokens" in case.get("tags", []) and b"{" not in data:
        # An unknown response is never an error: the parser keeps it raw, with
        # no values, when its tokens make no sense.  The tokenizer itself rejects them.
        (event,) = parse(data)
        assert isinstance(event, UnknownUntagged) and event.values == ()
        assert event.raw == data.rstrip(b"\r\n")
        response = FramedResponse(data.rstrip(b"\r\n"), [], [])
        with pytest.raises(Malformed):
            tokenize(response, 4)
        return
    options: dict[str, Any] = {}
    if "got more than 10 bytes" in json.dumps(case["expected"]):
        options["max_line_length"] = 10  # the source patched imaplib's _MAXLINE to 10
    with pytest.raises(ProtocolError):
        parse(data, **options)


CHECKERS = {
    "net-imap-struct": check_net_imap,
    "imapclient-parse-response": check_parse_response,
    "imapclient-lexer-tokens": check_lexer_tokens,
    "error-message": expect_error,
    "imapclient-fetch-dict": check_fetch_dict,
    "imapclient-fetch-path": check_fetch_path,
    "imapclient-folder-list": check_folder_list,
    "imapclient-status-dict": check_status_dict,
    "imapclient-search": check_search,
    "int-list": check_int_list,
    "int-tree": check_int_tree,
    "imapclient-select-dict": check_select_dict,
    "unicode-str": check_unicode_str,
    "cpython-imaplib-typ-data": check_imaplib_typ_data,
    "cpython-internaldate": check_internaldate,
    None: check_without_expectation,
}

# Inputs whose source expects an error but that we knowingly accept, with what we produce.
TOLERATED: dict[str, list[Event]] = {
    # imapclient's lexer wants a closing "]"; brackets are ordinary atom
    # characters for us (Gmail sends flags like "[test]" and "OIB-Seen-[Google").
    "[\r\n": [UnknownUntagged("X", None, ("[",), b"* X [")],
    "[aaa bbb\r\n": [UnknownUntagged("X", None, ("[aaa", "bbb"), b"* X [aaa bbb")],
    # CPython aborts on a bare LF; we accept bare LF line endings (seen in the wild).
    "* CAPABILITY IMAP4rev1 AUTH\n": [Capability(("IMAP4REV1", "AUTH"))],
    # net-imap rejects unknown FETCH items; we keep them, so new extensions never break us.
    "* 123 FETCH (UNKNOWN 92285)\r\n": [Fetch(123, extra=(("UNKNOWN", 92285),))],
}

_GMAIL_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")

# Cases with ``expected: null``: the values their input plainly states.
UNSTATED: dict[str, list[Event]] = {
    '* NAMESPACE (("FOO." "/")) NIL NIL\r\n': [Namespace((NamespaceEntry("FOO.", "/"),), (), ())],
    '* NAMESPACE (("&AP8-." "/")) NIL NIL\r\n': [
        Namespace((NamespaceEntry("\xff.", "/"),), (), ())  # prefixes are mailbox names
    ],
    '* NAMESPACE NIL NIL (("" "."))\r\n': [Namespace((), (), (NamespaceEntry("", "."),))],
    '* NAMESPACE (("" "/")) (("~" "/")) (("#shared/" "/") ("#public/" "/")("#ftp/" "/")'
    '("#news." "."))\r\n': [
        Namespace(
            (NamespaceEntry("", "/"),),
            (NamespaceEntry("~", "/"),),
            (
                NamespaceEntry("#shared/", "/"),
                NamespaceEntry("#public/", "/"),
                NamespaceEntry("#ftp/", "/"),
                NamespaceEntry("#news.", "."),
            ),
        )
    ],
    '* QUOTA "User quota" (STORAGE 586720 4882812)\r\n': [
        Quota("User quota", (QuotaResource("STORAGE", 586720, 4882812),))
    ],
    '* QUOTA "User quota" (MESSAGES 42 1000)\r\n': [
        Quota("User quota", (QuotaResource("MESSAGES", 42, 1000),))
    ],
    '* QUOTAROOT "INBOX" "User quota"\r\n': [QuotaRoot("INBOX", ("User quota",))],
    "* 1 EXISTS\r\n": [Exists(1)],
    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* 2 EXISTS\r\n* 0 RECENT\r\n"
    "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] "
    "Flags permitted.\r\n* 1 FETCH (FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft "
    "[test]))\r\n": [
        Flags(_GMAIL_FLAGS),
        Exists(2),
        Recent(0),
        UntaggedCondition(
            "OK", ResponseCode("PERMANENTFLAGS", (*_GMAIL_FLAGS, "\\*")), "Flags permitted."
        ),
        Fetch(1, flags=(*_GMAIL_FLAGS, "[test]")),
    ],
    "+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ=\r\n": [
        ContinuationRequest(
            "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ=",
            b"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ=",
        )
    ],
    "A001 OK Returned to authenticated state. (Success)\r\n": [
        TaggedResponse("A001", "OK", None, "Returned to authenticated state. (Success)")
    ],
}


CASE_IDS = [f"{i:03d}-{case['source'].rsplit('/', 1)[-1]}" for i, case in enumerate(CASES)]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_corpus_case(case: dict[str, Any]) -> None:
    CHECKERS[case.get("expected_format")](case)


def test_corpus_is_complete() -> None:
    assert len(CASES) == 320
    assert {case.get("expected_format") for case in CASES} <= set(CHECKERS)
