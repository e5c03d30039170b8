"""Typed builders for the IMAP commands a client sends.

Theory of operation: each builder checks its inputs and returns a
``Command``: a frozen value holding the command name and its arguments as the
argument types of ``_writers`` (plus, for AUTHENTICATE, a ``SaslStart``).
Nothing is encoded yet: the same ``Command`` is written differently depending
on the session (literal forms, UTF-8, SASL-IR), which only the connection
knows, via ``Command.encode(tag, options)``; ``Command.render`` gives the
redacted text for protocol logs.  The state machine reads ``Command.name`` to
know what a command does to the connection state.

Rules this module keeps:

* Every value a caller passes is either checked (atoms, flags, numbers,
  sections, option names: ``LocalProtocolError`` if invalid) or wrapped in a
  ``String``/``Mailbox``/``LiteralData`` whose encoding cannot escape its
  argument.  Builders never format caller text into raw bytes unchecked.
* Passwords, tokens and SASL responses are wrapped in ``Secret``.
* Mailbox names are ``str`` (encoded per session) or ``bytes`` (sent exactly
  as given: use the raw name the server sent when it is not valid mUTF-7).
* Message sets are ``SequenceSet`` values, numbers, or IMAP text (``"1:*"``)
  that is parsed and checked, never passed through.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ._errors import LocalProtocolError
from ._search import SearchKey, imap_date
from ._seqset import MAX_NUMBER, SequenceSet
from ._writers import (
    Argument,
    EncodingOptions,
    LiteralData,
    Mailbox,
    MessageSet,
    ParenList,
    Raw,
    SaslStart,
    SearchCharset,
    Secret,
    String,
    atom_or_quoted,
    check_atom,
    check_field_name,
    check_flag,
    encode_arguments,
    number,
    render_arguments,
    sequence_set,
)

__all__ = [
    "PLAIN_IMAP",
    "Command",
    "FetchSection",
    "QresyncParams",
    "StoreAction",
    "append",
    "authenticate",
    "authenticate_oauthbearer",
    "authenticate_plain",
    "authenticate_xoauth2",
    "capability",
    "check",
    "close",
    "compress",
    "copy",
    "create",
    "delete",
    "enable",
    "examine",
    "expunge",
    "fetch",
    "getquota",
    "getquotaroot",
    "id_",
    "idle",
    "list_",
    "login",
    "logout",
    "lsub",
    "move",
    "namespace",
    "noop",
    "notify_none",
    "notify_set",
    "rename",
    "search",
    "select",
    "starttls",
    "status",
    "store",
    "subscribe",
    "unselect",
    "unsubscribe",
]

# A command name: one or two atoms ("FETCH", "UID FETCH").
_COMMAND_NAME = re.compile(r"[A-Z][A-Z0-9.\-]*(?: [A-Z][A-Z0-9.\-]*)?")
# tag: 1*<any ASTRING-CHAR except "+">.
_TAG = re.compile(r"[^\x00-\x20\x7f-\U0010ffff(){%*\"\\+]+")
# Names of fetch items, status items, LIST options, ESEARCH return options.
_ITEM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9.\-]*")
_PART = re.compile(r"(?:[1-9][0-9]*(?:\.[1-9][0-9]*)*)?")
_SECTION_TEXTS = ("", "HEADER", "TEXT", "MIME", "HEADER.FIELDS", "HEADER.FIELDS.NOT")

#: Encoding options of a server with no relevant extensions (the safest choice).
PLAIN_IMAP = EncodingOptions()

StoreAction = Literal["add", "remove", "replace"]
_STORE_PREFIX: dict[str, bytes] = {"add": b"+", "remove": b"-", "replace": b""}


@dataclass(frozen=True, slots=True)
class Command:
    """One IMAP command, ready to be written with a tag chosen by the connection.

    ``name`` is upper case, ``UID`` commands included (``"UID FETCH"``);
    ``args`` are the arguments after the name; ``sasl`` is set for
    AUTHENTICATE only.
    """

    name: str
    args: tuple[Argument, ...] = ()
    sasl: SaslStart | None = None

    def __post_init__(self) -> None:
        if not _COMMAND_NAME.fullmatch(self.name):
            raise LocalProtocolError(f"{self.name!r} is not an IMAP command name")

    def encode(self, tag: str, options: EncodingOptions = PLAIN_IMAP) -> tuple[bytes, ...]:
        """The wire chunks: the first is sent now, each later one after a ``+``."""
        return tuple(b"".join(pieces) for pieces in self.encode_with_data_passthrough(tag, options))

    def encode_with_data_passthrough(
        self, tag: str, options: EncodingOptions = PLAIN_IMAP
    ) -> tuple[tuple[bytes, ...], ...]:
        """Like ``encode``, chunks as pieces: a large literal is the caller's object, uncopied."""
        _check_tag(tag)
        return encode_arguments(tag, self.name, self.args, options, self.sasl)

    def render(self, tag: str, options: EncodingOptions = PLAIN_IMAP, max_literal: int = 64) -> str:
        """The command for a protocol log: secrets as ``***``, long literals elided."""
        _check_tag(tag)
        return render_arguments(tag, self.name, self.args, options, self.sasl, max_literal)


def _check_tag(tag: str) -> None:
    if not _TAG.fullmatch(tag):
        raise LocalProtocolError(f"{tag!r} is not a valid tag")


# -- small argument helpers ---------------------------------------------------


def _item_name(name: str, what: str) -> Raw:
    """An option or item name, upper-cased and checked."""
    if not isinstance(name, str) or not _ITEM_NAME.fullmatch(name):
        raise LocalProtocolError(f"{name!r} is not a valid {what}")
    return Raw(name.upper().encode("ascii"))


def _item_names(names: Iterable[str], what: str) -> tuple[Argument, ...]:
    if isinstance(names, str):  # one name, not its characters
        names = [names]
    return tuple(_item_name(name, what) for name in names)


def _flags(flags: Iterable[str]) -> ParenList:
    if isinstance(flags, str):  # one flag, not its characters
        flags = [flags]
    return ParenList(tuple(Raw(check_flag(flag)) for flag in flags))


def _uid_name(name: str, uid: bool) -> str:
    return f"UID {name}" if uid else name


# -- connection and authentication --------------------------------------------


def capability() -> Command:
    """``CAPABILITY``."""
    return Command("CAPABILITY")


def noop() -> Command:
    """``NOOP`` (also how a client polls for untagged updates)."""
    return Command("NOOP")


def logout() -> Command:
    """``LOGOUT``."""
    return Command("LOGOUT")


def starttls() -> Command:
    """``STARTTLS``: after its tagged OK the caller starts TLS before anything else."""
    return Command("STARTTLS")


def compress() -> Command:
    """``COMPRESS DEFLATE`` (RFC 4978): after its tagged OK both directions are deflated."""
    return Command("COMPRESS", (Raw(b"DEFLATE"),))


def login(username: str, password: str) -> Command:
    """``LOGIN user password`` (the password is a ``Secret``)."""
    return Command(
        "LOGIN", (String(username, atom_ok=True), Secret(String(password, atom_ok=True)))
    )


def authenticate(
    mechanism: str, initial_response: bytes | None = None, *, error_reply: bytes | None = None
) -> Command:
    """``AUTHENTICATE mechanism`` with an optional SASL initial response (raw, not base64).

    The response goes on the command line when the server has SASL-IR, or
    after the first ``+`` otherwise.  ``error_reply``: see ``SaslStart``.
    """
    return Command(
        "AUTHENTICATE",
        sasl=SaslStart(mechanism.upper(), initial_response, error_reply),
    )


def authenticate_plain(username: str, password: str, authzid: str = "") -> Command:
    """``AUTHENTICATE PLAIN`` (RFC 4616)."""
    parts = [part.encode("utf-8") for part in (authzid, username, password)]
    if any(b"\x00" in part for part in parts):
        raise LocalProtocolError("PLAIN credentials cannot hold NUL")
    return authenticate("PLAIN", b"\x00".join(parts))


def authenticate_xoauth2(username: str, access_token: str) -> Command:
    """``AUTHENTICATE XOAUTH2`` (Google/Microsoft); an error challenge is answered empty."""
    _check_oauth_text(username, access_token)
    response = f"user={username}\x01auth=Bearer {access_token}\x01\x01"
    return authenticate("XOAUTH2", response.encode("utf-8"), error_reply=b"")


def authenticate_oauthbearer(
    username: str, access_token: str, host: str | None = None, port: int | None = None
) -> Command:
    """``AUTHENTICATE OAUTHBEARER`` (RFC 7628); an error challenge is answered ``%x01``."""
    _check_oauth_text(username, access_token, host or "")
    authzid = username.replace("=", "=3D").replace(",", "=2C")
    fields = [f"n,a={authzid},"]
    if host is not None:
        fields.append(f"host={host}")
    if port is not None:
        fields.append(f"port={number(port, 'port', 0, 65535).data.decode()}")
    fields.append(f"auth=Bearer {access_token}")
    response = "\x01".join(fields) + "\x01\x01"
    return authenticate("OAUTHBEARER", response.encode("utf-8"), error_reply=b"\x01")


def _check_oauth_text(*values: str) -> None:
    if any(re.search(r"[\x00-\x1f\x7f]", value) for value in values):
        raise LocalProtocolError("OAuth user, token and host cannot hold control characters")


def id_(params: Mapping[str, str | None] | None = None) -> Command:
    """``ID (field value ...)`` (RFC 2971), or ``ID NIL``."""
    if not params:
        return Command("ID", (Raw(b"NIL"),))
    items: list[Argument] = []
    for field, value in params.items():
        items.append(String(field))
        items.append(Raw(b"NIL") if value is None else String(value))
    return Command("ID", (ParenList(tuple(items)),))


def enable(*capabilities: str) -> Command:
    """``ENABLE cap ...`` (RFC 5161), e.g. ``enable("QRESYNC", "UTF8=ACCEPT")``."""
    if not capabilities:
        raise LocalProtocolError("ENABLE needs at least one capability")
    return Command(
        "ENABLE",
        tuple(Raw(check_atom(cap.upper(), "capability")) for cap in capabilities),
    )


def idle() -> Command:
    """``IDLE`` (RFC 2177): the connection writes ``DONE`` when told to stop."""
    return Command("IDLE")


def notify_set(
    selected_events: Sequence[str],
    mailbox_events: Sequence[str],
    *,
    mailboxes: str = "personal",
    fetch_items: Sequence[str] = ("UID", "FLAGS"),
    status: bool = True,
) -> Command:
    """``NOTIFY SET [STATUS] (SELECTED (events)) (mailboxes (events))`` (RFC 5465).

    ``selected_events`` / ``mailbox_events`` are event names (``MessageNew``,
    ``MessageExpunge``, ``FlagChange``, ``MailboxName`` ...); ``MessageNew``
    among the selected events carries ``fetch_items``.  ``mailboxes`` is a
    filter keyword: ``personal``, ``inboxes`` or ``subscribed``.  ``status``
    asks for a STATUS of each watched mailbox at once.
    """
    if mailboxes.lower() not in ("personal", "inboxes", "subscribed"):
        raise LocalProtocolError(f"unsupported NOTIFY mailbox filter {mailboxes!r}")

    def events(names: Sequence[str], selected: bool) -> ParenList:
        out: list[Argument] = []
        for name in names:
            out.append(_item_name(name, "NOTIFY event"))
            if selected and name.lower() == "messagenew" and fetch_items:
                out.append(ParenList(_item_names(fetch_items, "fetch item")))
        return ParenList(tuple(out))

    args: list[Argument] = [Raw(b"SET")]
    if status:
        args.append(Raw(b"STATUS"))
    if selected_events:
        args.append(ParenList((Raw(b"SELECTED"), events(selected_events, True))))
    if mailbox_events:
        args.append(ParenList((Raw(mailboxes.encode("ascii")), events(mailbox_events, False))))
    if len(args) == 1 + status:
        raise LocalProtocolError("NOTIFY SET needs at least one event group")
    return Command("NOTIFY", tuple(args))


def notify_none() -> Command:
    """``NOTIFY NONE``: back to the base protocol's notifications."""
    return Command("NOTIFY", (Raw(b"NONE"),))


# -- mailboxes ----------------------------------------------------------------


def namespace() -> Command:
    """``NAMESPACE`` (RFC 2342)."""
    return Command("NAMESPACE")


def list_(
    reference: str | bytes = "",
    pattern: str | bytes = "*",
    *,
    selection: Sequence[str] = (),
    return_: Sequence[str] = (),
    status_items: Sequence[str] = (),
) -> Command:
    """``LIST`` with LIST-EXTENDED options (RFC 5258, 6154, 5819).

    ``selection``: e.g. ``("SUBSCRIBED",)``, ``("SPECIAL-USE",)``;
    ``return_``: e.g. ``("SPECIAL-USE", "CHILDREN", "SUBSCRIBED")``;
    ``status_items`` adds ``STATUS (items)`` to the return options (LIST-STATUS).
    """
    args: list[Argument] = []
    if selection:
        args.append(ParenList(_item_names(selection, "LIST selection option")))
    args += [Mailbox(reference), Mailbox(pattern, pattern=True)]
    returns = list(_item_names(return_, "LIST return option"))
    if status_items:
        returns += [Raw(b"STATUS"), ParenList(_item_names(status_items, "STATUS item"))]
    if returns:
        args += [Raw(b"RETURN"), ParenList(tuple(returns))]
    return Command("LIST", tuple(args))


def lsub(reference: str | bytes = "", pattern: str | bytes = "*") -> Command:
    """``LSUB reference pattern``."""
    return Command("LSUB", (Mailbox(reference), Mailbox(pattern, pattern=True)))


def status(mailbox: str | bytes, items: Sequence[str]) -> Command:
    """``STATUS mailbox (items)``, e.g. ``("MESSAGES", "UIDNEXT", "HIGHESTMODSEQ")``."""
    if not items:
        raise LocalProtocolError("STATUS needs at least one item")
    return Command("STATUS", (Mailbox(mailbox), ParenList(_item_names(items, "STATUS item"))))


@dataclass(frozen=True, slots=True)
class QresyncParams:
    """What the client remembers of a mailbox, for ``SELECT ... (QRESYNC (...))`` (RFC 7162).

    ``known_uids``: the UIDs the client knows (all if None).
    ``seq_match``: (message numbers, their UIDs) samples for the server's
    expunge search, both sets of equal size.
    """

    uidvalidity: int
    modseq: int
    known_uids: SequenceSet | None = None
    seq_match: tuple[SequenceSet, SequenceSet] | None = None

    def arguments(self) -> tuple[Argument, ...]:
        """The ``QRESYNC (...)`` select parameter."""
        items: list[Argument] = [
            number(self.uidvalidity, "UIDVALIDITY", 1, MAX_NUMBER),
            number(self.modseq, "mod-sequence", 1),
        ]
        if self.known_uids is not None:
            items.append(sequence_set(self.known_uids, "known UIDs"))
        if self.seq_match is not None:
            if self.known_uids is None:
                raise LocalProtocolError("QRESYNC sequence match data needs known UIDs")
            seqs, uids = self.seq_match
            items.append(
                ParenList(
                    (sequence_set(seqs, "known sequence set"), sequence_set(uids, "known UIDs"))
                )
            )
        return (Raw(b"QRESYNC"), ParenList(tuple(items)))


def select(
    mailbox: str | bytes, *, condstore: bool = False, qresync: QresyncParams | None = None
) -> Command:
    """``SELECT mailbox`` with optional ``(CONDSTORE)`` or ``(QRESYNC (...))``."""
    return _select("SELECT", mailbox, condstore, qresync)


def examine(
    mailbox: str | bytes, *, condstore: bool = False, qresync: QresyncParams | None = None
) -> Command:
    """``EXAMINE mailbox``: like ``select`` but read-only."""
    return _select("EXAMINE", mailbox, condstore, qresync)


def _select(
    name: str, mailbox: str | bytes, condstore: bool, qresync: QresyncParams | None
) -> Command:
    args: list[Argument] = [Mailbox(mailbox)]
    if qresync is not None:
        args.append(ParenList(qresync.arguments()))
    elif condstore:
        args.append(ParenList((Raw(b"CONDSTORE"),)))
    return Command(name, tuple(args))


def create(mailbox: str | bytes, special_use: str | None = None) -> Command:
    """``CREATE mailbox`` or ``CREATE mailbox (USE (\\Sent))`` (RFC 6154)."""
    args: list[Argument] = [Mailbox(mailbox)]
    if special_use is not None:
        if not special_use.startswith("\\"):
            raise LocalProtocolError(f"{special_use!r} is not a special-use attribute")
        args.append(ParenList((Raw(b"USE"), _flags([special_use]))))
    return Command("CREATE", tuple(args))


def delete(mailbox: str | bytes) -> Command:
    """``DELETE mailbox``."""
    return Command("DELETE", (Mailbox(mailbox),))


def rename(old: str | bytes, new: str | bytes) -> Command:
    """``RENAME old new``."""
    return Command("RENAME", (Mailbox(old), Mailbox(new)))


def subscribe(mailbox: str | bytes) -> Command:
    """``SUBSCRIBE mailbox``."""
    return Command("SUBSCRIBE", (Mailbox(mailbox),))


def unsubscribe(mailbox: str | bytes) -> Command:
    """``UNSUBSCRIBE mailbox``."""
    return Command("UNSUBSCRIBE", (Mailbox(mailbox),))


def getquotaroot(mailbox: str | bytes) -> Command:
    """``GETQUOTAROOT mailbox`` (RFC 9208)."""
    return Command("GETQUOTAROOT", (Mailbox(mailbox),))


def getquota(root: str) -> Command:
    """``GETQUOTA root`` (RFC 9208)."""
    return Command("GETQUOTA", (String(root, atom_ok=True),))


def append(
    mailbox: str | bytes,
    message: bytes,
    flags: Iterable[str] = (),
    internal_date: datetime | None = None,
) -> Command:
    """``APPEND mailbox [(flags)] ["date-time"] {n}`` with the message as a literal.

    ``internal_date`` must be timezone-aware.  A message holding NUL is sent
    as literal8 if the server has BINARY and refused otherwise.
    """
    args: list[Argument] = [Mailbox(mailbox)]
    flag_list = _flags(flags)
    if flag_list.items:
        args.append(flag_list)
    if internal_date is not None:
        args.append(Raw(_date_time(internal_date)))
    args.append(LiteralData(message))
    return Command("APPEND", tuple(args))


def _date_time(moment: datetime) -> bytes:
    """``"dd-Mon-yyyy hh:mm:ss +zzzz"`` (RFC 3501 date-time; day padded with a space)."""
    offset = moment.utcoffset()
    if offset is None:
        raise LocalProtocolError("APPEND internal_date must be timezone-aware")
    if offset % timedelta(minutes=1):
        raise LocalProtocolError("APPEND internal_date offset must be whole minutes")
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    zone = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    day = imap_date(moment.date()).rjust(11)
    return b'"%s %02d:%02d:%02d %s"' % (
        day,
        moment.hour,
        moment.minute,
        moment.second,
        zone.encode("ascii"),
    )


# -- messages -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchSection:
    """A body part to fetch: ``BODY[.PEEK][section]<partial>`` or ``BINARY[.PEEK][part]``.

    ``part``: ``""`` (the whole message) or ``"1.2"``; ``text``: ``""``,
    ``HEADER``, ``TEXT``, ``MIME`` (needs a part), ``HEADER.FIELDS`` or
    ``HEADER.FIELDS.NOT`` (with ``fields``); ``binary``: RFC 3516 decoded
    content (part only); ``partial``: (offset, length) of a partial fetch.
    """

    part: str = ""
    text: str = ""
    fields: tuple[str, ...] = ()
    peek: bool = True
    binary: bool = False
    partial: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if not _PART.fullmatch(self.part):
            raise LocalProtocolError(f"{self.part!r} is not a body part number")
        if self.text.upper() not in _SECTION_TEXTS:
            raise LocalProtocolError(f"{self.text!r} is not a section text")
        if self.text.upper() == "MIME" and not self.part:
            raise LocalProtocolError("MIME needs a part number")
        if bool(self.fields) != self.text.upper().startswith("HEADER.FIELDS"):
            raise LocalProtocolError("fields go with HEADER.FIELDS[.NOT] and only with it")
        if self.binary and self.text:
            raise LocalProtocolError("BINARY fetches a part, not a section text")
        for field in self.fields:
            check_field_name(field)
        if self.partial is not None:
            number(self.partial[0], "partial offset", 0, MAX_NUMBER)
            number(self.partial[1], "partial length", 1, MAX_NUMBER)

    @property
    def response_name(self) -> str:
        """The item name in the FETCH response: ``BODY`` or ``BINARY``."""
        return "BINARY" if self.binary else "BODY"

    @property
    def section(self) -> str:
        """The text between the brackets, e.g. ``1.2.HEADER.FIELDS (FROM TO)``."""
        spec = ".".join(filter(None, (self.part, self.text.upper())))
        if self.fields:
            names = b" ".join(atom_or_quoted(field) for field in self.fields)
            spec += f" ({names.decode('ascii')})"
        return spec

    def to_bytes(self) -> bytes:
        """The fetch item, e.g. ``b"BODY.PEEK[1.2]<0.4096>"``."""
        item = self.response_name + (".PEEK" if self.peek else "") + f"[{self.section}]"
        if self.partial is not None:
            item += f"<{self.partial[0]}.{self.partial[1]}>"
        return item.encode("ascii")


def fetch(
    ids: MessageSet,
    items: Sequence[str | FetchSection] | str | FetchSection,
    *,
    uid: bool = False,
    changedsince: int | None = None,
    vanished: bool = False,
) -> Command:
    """``[UID] FETCH set (items) [(CHANGEDSINCE n [VANISHED])]`` (RFC 7162 modifiers).

    ``items``: names such as ``UID``, ``FLAGS``, ``INTERNALDATE``,
    ``RFC822.SIZE``, ``ENVELOPE``, ``BODYSTRUCTURE``, ``MODSEQ``, ``EMAILID``,
    ``THREADID``, ``PREVIEW``, ``X-GM-LABELS`` ..., and ``FetchSection``\\ s.
    ``vanished`` needs ``uid`` and ``changedsince`` (QRESYNC).
    """
    if isinstance(items, str | FetchSection):  # one item, not its characters
        items = [items]
    if not items:
        raise LocalProtocolError("FETCH needs at least one item")
    wanted = tuple(
        Raw(item.to_bytes())
        if isinstance(item, FetchSection)
        else _item_names([item], "fetch item")[0]
        for item in items
    )
    args: list[Argument] = [sequence_set(ids), ParenList(wanted)]
    if vanished and not (uid and changedsince is not None):
        raise LocalProtocolError("VANISHED needs UID FETCH with CHANGEDSINCE")
    if changedsince is not None:
        modifiers: list[Argument] = [Raw(b"CHANGEDSINCE"), number(changedsince, "CHANGEDSINCE")]
        if vanished:
            modifiers.append(Raw(b"VANISHED"))
        args.append(ParenList(tuple(modifiers)))
    return Command(_uid_name("FETCH", uid), tuple(args))


def search(
    criteria: SearchKey,
    *,
    uid: bool = False,
    return_: Sequence[str] | None = None,
) -> Command:
    """``[UID] SEARCH [RETURN (options)] [CHARSET UTF-8] criteria``.

    ``return_`` (ESEARCH, RFC 4731): e.g. ``("MIN", "MAX", "COUNT", "ALL")``;
    ``()`` asks for ``RETURN ()`` (ALL); None sends a plain SEARCH.
    ``CHARSET UTF-8`` is sent only for non-ASCII criteria without UTF8=ACCEPT.
    """
    args: list[Argument] = []
    if return_ is not None:
        args += [Raw(b"RETURN"), ParenList(_item_names(return_, "SEARCH return option"))]
    if criteria.non_ascii:
        args.append(SearchCharset())
    args += criteria.arguments
    return Command(_uid_name("SEARCH", uid), tuple(args))


def store(
    ids: MessageSet,
    action: StoreAction,
    flags: Iterable[str],
    *,
    uid: bool = False,
    silent: bool = True,
    unchangedsince: int | None = None,
    gmail_labels: bool = False,
) -> Command:
    """``[UID] STORE set [(UNCHANGEDSINCE n)] [+|-]FLAGS[.SILENT] (flags)``.

    ``action``: ``"add"``, ``"remove"`` or ``"replace"``.  With
    ``gmail_labels`` the item is ``X-GM-LABELS`` and ``flags`` are labels:
    ``\\Inbox``-style system labels as atoms, others as (mUTF-7) strings.
    """
    if action not in _STORE_PREFIX:
        raise LocalProtocolError(f"{action!r} is not a STORE action")
    args: list[Argument] = [sequence_set(ids)]
    if unchangedsince is not None:
        args.append(ParenList((Raw(b"UNCHANGEDSINCE"), number(unchangedsince, "UNCHANGEDSINCE"))))
    item = b"X-GM-LABELS" if gmail_labels else b"FLAGS"
    args.append(Raw(_STORE_PREFIX[action] + item + (b".SILENT" if silent else b"")))
    if gmail_labels:
        labels = [flags] if isinstance(flags, str) else list(flags)
        args.append(
            ParenList(
                tuple(
                    Raw(check_flag(label)) if label.startswith("\\") else Mailbox(label)
                    for label in labels
                )
            )
        )
    else:
        args.append(_flags(flags))
    return Command(_uid_name("STORE", uid), tuple(args))


def copy(ids: MessageSet, mailbox: str | bytes, *, uid: bool = False) -> Command:
    """``[UID] COPY set mailbox``."""
    return Command(_uid_name("COPY", uid), (sequence_set(ids), Mailbox(mailbox)))


def move(ids: MessageSet, mailbox: str | bytes, *, uid: bool = False) -> Command:
    """``[UID] MOVE set mailbox`` (RFC 6851)."""
    return Command(_uid_name("MOVE", uid), (sequence_set(ids), Mailbox(mailbox)))


def expunge(uids: MessageSet | None = None) -> Command:
    """``EXPUNGE``, or ``UID EXPUNGE set`` (UIDPLUS) when ``uids`` are given."""
    if uids is None:
        return Command("EXPUNGE")
    return Command("UID EXPUNGE", (sequence_set(uids, "UID set"),))


def check() -> Command:
    """``CHECK``."""
    return Command("CHECK")


def close() -> Command:
    """``CLOSE``: expunge silently and leave the selected state."""
    return Command("CLOSE")


def unselect() -> Command:
    """``UNSELECT`` (RFC 3691): leave the selected state without expunging."""
    return Command("UNSELECT")
