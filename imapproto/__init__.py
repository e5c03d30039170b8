"""imapproto: an IMAP client protocol library in two parts, in the spirit of h11.

The **sans-IO core** (this package) has no sockets, no trio and no clock:

* ``ResponseParser`` turns server bytes into typed events (``imapproto._events``)
  carrying typed data (``imapproto._types``);
* ``commands`` builds ``Command`` values that cannot inject CRLF or escape an
  argument, and ``search`` builds search criteria;
* ``ClientConnection`` is the client's protocol state machine: bytes and
  commands in, events and bytes out (tags, continuations, IDLE, AUTHENTICATE,
  STARTTLS/COMPRESS switches, capabilities);
* ``SequenceSet`` (compact UID sets) and modified UTF-7 mailbox names.

The **trio client** lives in ``imapproto.client``: connect (TLS, STARTTLS),
authenticate, run commands, stream large bodies, IDLE.

Errors: ``ProtocolError`` when the server broke the protocol,
``LocalProtocolError`` when the caller misused the library.
"""

from imapproto import _commands as commands
from imapproto import _search as search
from imapproto._commands import Command, FetchSection, QresyncParams
from imapproto._connection import (
    PAUSED,
    AuthenticationChallenge,
    ClientConnection,
    CommandCompleted,
    ConnectionState,
    IdleStarted,
)
from imapproto._errors import LocalProtocolError, ProtocolError
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
    FetchLiteralData,
    FetchLiteralEnd,
    FetchLiteralStart,
    Flags,
    Id,
    ListResponse,
    ListRights,
    Metadata,
    MyRights,
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
from imapproto._seqset import STAR, SequenceSet
from imapproto._types import (
    Address,
    AddressGroup,
    AppendUid,
    BodySection,
    BodyStructure,
    CopyUid,
    Envelope,
    ListEntry,
    NamespaceEntry,
    QuotaResource,
    ResponseCode,
    StreamedLiteral,
)
from imapproto._utf7 import decode_mailbox, encode_mailbox
from imapproto._writers import EncodingOptions, check_flag

__all__ = [
    "NEED_DATA",
    "PAUSED",
    "STAR",
    "Acl",
    "Address",
    "AddressGroup",
    "AppendUid",
    "AuthenticationChallenge",
    "BodySection",
    "BodyStructure",
    "Capability",
    "ClientConnection",
    "Command",
    "CommandCompleted",
    "ConnectionClosed",
    "ConnectionState",
    "ContinuationRequest",
    "CopyUid",
    "ESearch",
    "Enabled",
    "EncodingOptions",
    "Envelope",
    "Event",
    "Exists",
    "Expunge",
    "Fetch",
    "FetchLiteralData",
    "FetchLiteralEnd",
    "FetchLiteralStart",
    "FetchSection",
    "Flags",
    "Id",
    "IdleStarted",
    "ListEntry",
    "ListResponse",
    "ListRights",
    "LocalProtocolError",
    "Metadata",
    "MyRights",
    "Namespace",
    "NamespaceEntry",
    "ProtocolError",
    "QresyncParams",
    "Quota",
    "QuotaResource",
    "QuotaRoot",
    "Recent",
    "ResponseCode",
    "ResponseParser",
    "Search",
    "SequenceSet",
    "Sort",
    "Status",
    "StreamedLiteral",
    "TaggedResponse",
    "Thread",
    "UnknownUntagged",
    "UntaggedCondition",
    "Vanished",
    "check_flag",
    "commands",
    "decode_mailbox",
    "encode_mailbox",
    "search",
]
