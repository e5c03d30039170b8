"""Messages: ids, the message object, and body text, as pure functions over imapproto's results.

This package does no I/O: the account runner fetches, these modules describe
what to fetch and turn what came back into the reference's JSON shapes.

* ``ids``: message, text and attachment ids (reference-compatible base64url);
* ``summary``: the message object from a FETCH, and the body-part walk;
* ``text``: transfer encodings, charsets, ``format=flowed``, byte limits;
* ``transfer``: transfer encodings undone chunk by chunk, for streamed downloads;
* ``headers``: RFC 2047 encoded words and raw header blocks.
"""

from trimap.messages.headers import decode_words, parse_headers
from trimap.messages.ids import (
    MAX_ID_LENGTH,
    InvalidId,
    TextId,
    decode_attachment_id,
    decode_message_id,
    decode_text_id,
    encode_attachment_id,
    encode_message_id,
    encode_text_id,
)
from trimap.messages.summary import (
    SUMMARY_FETCH_ITEMS,
    Attachment,
    MessageParts,
    classify_parts,
    message_summary,
    parse_header_date,
    summary_fetch_items,
    text_part,
)
from trimap.messages.text import (
    decode_charset,
    decode_part,
    decode_text_part,
    decode_transfer,
    fetch_budget,
    join_texts,
    limit_utf8,
    unflow,
)

__all__ = [
    "MAX_ID_LENGTH",
    "SUMMARY_FETCH_ITEMS",
    "Attachment",
    "InvalidId",
    "MessageParts",
    "TextId",
    "classify_parts",
    "decode_attachment_id",
    "decode_charset",
    "decode_message_id",
    "decode_part",
    "decode_text_id",
    "decode_text_part",
    "decode_transfer",
    "decode_words",
    "encode_attachment_id",
    "encode_message_id",
    "encode_text_id",
    "fetch_budget",
    "join_texts",
    "limit_utf8",
    "message_summary",
    "parse_header_date",
    "parse_headers",
    "summary_fetch_items",
    "text_part",
    "unflow",
]
