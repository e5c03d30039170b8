"""Composing messages: from the API's compose fields to MIME bytes, no I/O.

* ``request``: the reference's submit fields (``from``, ``to``, ``subject``,
  ``text``, ``html``, ``attachments``, ``headers``, ``reference`` ...) parsed
  and validated into a ``ComposeRequest`` (``parse_compose``);
* ``build``: the MIME message of a ``ComposeRequest`` (``build_message``),
  threaded to an ``Original`` for replies and forwards.

Uploads (``POST /v1/account/{account}/message``) use both; so will submit.
"""

from trimap.compose.build import BuiltMessage, Original, build_message
from trimap.compose.request import ComposeRequest, InvalidCompose, parse_compose

__all__ = [
    "BuiltMessage",
    "ComposeRequest",
    "InvalidCompose",
    "Original",
    "build_message",
    "parse_compose",
]
