"""``python -m imapproto.parse``: print server bytes from stdin as JSON, one response a line.

Theory of operation: a debugging tool for a pasted transcript of what a server
sent.  It feeds stdin to a ``ResponseParser`` (``--chunk N`` bytes at a time,
to reproduce chunking problems) and prints one JSON object per response::

    {"kind": "tagged"|"untagged"|"continuation", "tag": ..., "type": ..., "data": ...}

``data`` is the event's fields as JSON: bytes become text (UTF-8, else
Latin-1), datetimes ISO 8601, sequence sets their IMAP form, body structures
nested objects with ``part``, ``type`` and ``subtype`` first.  Literals are
kept inline (no streaming) unless ``--stream-threshold`` says otherwise; then
the streaming events print with type ``FETCH-LITERAL-START`` etc.  A
``ProtocolError`` prints ``{"error": "..."}`` and exits with status 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, BinaryIO, TextIO

from ._errors import ProtocolError
from ._events import (
    NEED_DATA,
    ConnectionClosed,
    ContinuationRequest,
    Event,
    FetchLiteralData,
    FetchLiteralEnd,
    FetchLiteralStart,
    ListResponse,
    TaggedResponse,
    UnknownUntagged,
    UntaggedCondition,
)
from ._parser import ResponseParser
from ._readers import text_of
from ._seqset import SequenceSet

__all__ = ["event_as_json", "main"]

_TYPE_NAMES = {
    FetchLiteralStart: "FETCH-LITERAL-START",
    FetchLiteralData: "FETCH-LITERAL-DATA",
    FetchLiteralEnd: "FETCH-LITERAL-END",
    ConnectionClosed: "CONNECTION-CLOSED",
}


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        return text_of(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, SequenceSet):
        return value.to_bytes().decode("ascii")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: _json_value(getattr(value, field.name))
            for field in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {str(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, Sequence):
        return [_json_value(item) for item in value]
    return repr(value)


def _type_name(event: Event) -> str:
    if isinstance(event, TaggedResponse | UntaggedCondition):
        return event.status
    if isinstance(event, ListResponse):
        return event.command
    if isinstance(event, UnknownUntagged):
        return event.name
    if isinstance(event, ContinuationRequest):
        return "CONTINUATION"
    return _TYPE_NAMES.get(type(event), type(event).__name__.upper())


def event_as_json(event: Event) -> dict[str, Any]:
    """One event as the JSON object the command line prints."""
    if isinstance(event, TaggedResponse):
        kind = "tagged"
    elif isinstance(event, ContinuationRequest):
        kind = "continuation"
    else:
        kind = "untagged"
    data = _json_value(event)
    tag = data.pop("tag", None) if kind == "tagged" else None
    return {"kind": kind, "tag": tag, "type": _type_name(event), "data": data}


def run(source: BinaryIO, output: TextIO, chunk: int, stream_threshold: int) -> int:
    parser = ResponseParser(literal_stream_threshold=stream_threshold)
    try:
        while True:
            data = source.read(chunk) if chunk else source.read()
            parser.feed(data)
            while (event := parser.next_event()) is not NEED_DATA:
                if isinstance(event, ConnectionClosed):
                    return 0
                output.write(json.dumps(event_as_json(event)) + "\n")
            if not data:
                return 0
    except ProtocolError as error:
        output.write(json.dumps({"error": str(error)}) + "\n")
        return 1


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(
        prog="python -m imapproto.parse", description=__doc__.splitlines()[0]
    )
    arguments.add_argument("--chunk", type=int, default=0, help="feed N bytes at a time")
    arguments.add_argument(
        "--stream-threshold",
        type=int,
        default=sys.maxsize,
        help="stream FETCH body literals larger than this (default: never)",
    )
    options = arguments.parse_args(argv)
    if options.chunk < 0:
        arguments.error("--chunk must be positive")
    return run(sys.stdin.buffer, sys.stdout, options.chunk, options.stream_threshold)


if __name__ == "__main__":
    sys.exit(main())
