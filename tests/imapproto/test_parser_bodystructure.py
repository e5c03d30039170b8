"""BODYSTRUCTURE round trips: random MIME trees, written as a server would, read back.

The model here is independent of the parser: a tree of plain tuples, its own
writer (IMAP syntax, RFC 2231 parameter encoding split at random points) and
its own part numbering, following RFC 3501 section 6.4.5 literally: the parts
of a multipart are numbered 1, 2 ... below their parent's number; a
message/rfc822 part's body continues its numbering (a multipart body shares
the message's number, a single-part body is ``N.1``); a non-multipart message
body is part 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from imapproto._events import NEED_DATA, Fetch
from imapproto._parser import ResponseParser
from imapproto._types import BodyStructure


@dataclass(frozen=True)
class Leaf:
    type: str
    subtype: str
    params: tuple[tuple[str, str], ...]
    size: int


@dataclass(frozen=True)
class Multi:
    subtype: str
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Message:
    subject: str
    body: Node


Node = Leaf | Multi | Message

PARAM_VALUES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12
)
PARAM_NAMES = st.sampled_from(["name", "charset", "format", "x-custom", "filename"])
LEAVES = st.builds(
    Leaf,
    st.sampled_from(["text", "image", "application", "audio"]),
    st.sampled_from(["plain", "html", "png", "pdf", "octet-stream"]),
    st.lists(st.tuples(PARAM_NAMES, PARAM_VALUES), max_size=3, unique_by=lambda p: p[0]).map(tuple),
    st.integers(0, 10**9),
)
TREES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(
            Multi,
            st.sampled_from(["mixed", "alternative", "related"]),
            st.lists(inner, min_size=1, max_size=4).map(tuple),
        ),
        st.builds(Message, st.text("abc xyz", max_size=8), inner),
    ),
    max_leaves=12,
)


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_params(params: tuple[tuple[str, str], ...], cuts: list[int]) -> str:
    """Plain ASCII values as they are; others RFC 2231-encoded and continued."""
    if not params:
        return "NIL"
    items = []
    for name, value in params:
        if value.isascii() and value.isprintable():
            items += [quoted(name), quoted(value)]
            continue
        encoded = quote(value.encode(), safe="")
        pieces = []
        start = 0
        for cut in sorted({c % (len(encoded) + 1) for c in cuts}):
            # never cut inside a %XX escape
            while cut < len(encoded) and "%" in encoded[max(start, cut - 2) : cut]:
                cut += 1
            if start < cut < len(encoded):
                pieces.append(encoded[start:cut])
                start = cut
        pieces.append(encoded[start:])
        for index, piece in enumerate(pieces):
            prefix = "utf-8''" if index == 0 else ""
            items += [quoted(f"{name}*{index}*"), quoted(prefix + piece)]
    return "(" + " ".join(items) + ")"


def write(node: Node, cuts: list[int]) -> str:
    if isinstance(node, Leaf):
        fields = [quoted(node.type), quoted(node.subtype), write_params(node.params, cuts)]
        fields += ["NIL", "NIL", '"base64"', str(node.size)]
        if node.type == "text":
            fields.append(str(node.size // 70))
        return "(" + " ".join(fields) + ")"
    if isinstance(node, Multi):
        return "(" + "".join(write(c, cuts) for c in node.children) + f' "{node.subtype}")'
    envelope = f"(NIL {quoted(node.subject)} NIL NIL NIL NIL NIL NIL NIL NIL)"
    return f'("message" "rfc822" NIL NIL NIL "7bit" 100 {envelope} {write(node.body, cuts)} 4)'


def numbering(node: Node, number: str) -> list[tuple[str, str]]:
    """(part number, media type) of every node, depth first, per RFC 3501."""
    if isinstance(node, Leaf):
        return [(number, f"{node.type}/{node.subtype}")]
    if isinstance(node, Multi):
        result = [(number, f"multipart/{node.subtype}")]
        for index, child in enumerate(node.children, start=1):
            result += numbering(child, f"{number}.{index}" if number else str(index))
        return result
    body_number = number if isinstance(node.body, Multi) else f"{number}.1"
    return [(number, "message/rfc822"), *numbering(node.body, body_number)]


def leaves_params(node: Node) -> list[dict[str, str]]:
    if isinstance(node, Leaf):
        return [dict(node.params)]
    if isinstance(node, Multi):
        return [p for child in node.children for p in leaves_params(child)]
    return leaves_params(node.body)


def parsed_leaves(tree: BodyStructure) -> list[BodyStructure]:
    return [n for n in tree.walk() if not n.is_multipart and n.message_body is None]


@settings(max_examples=150, deadline=None)
@given(TREES, st.lists(st.integers(0, 60), max_size=3))
def test_random_trees_read_back(tree: Node, cuts: list[int]) -> None:
    parser = ResponseParser()
    parser.feed(f"* 1 FETCH (UID 7 BODYSTRUCTURE {write(tree, cuts)})\r\n".encode())
    event = parser.next_event()
    assert parser.next_event() is NEED_DATA
    assert isinstance(event, Fetch) and event.bodystructure is not None
    top = "" if isinstance(tree, Multi) else "1"
    assert [(n.part, n.mime_type) for n in event.bodystructure.walk()] == numbering(tree, top)
    assert [dict(n.params) for n in parsed_leaves(event.bodystructure)] == leaves_params(tree)
