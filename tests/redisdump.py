"""Everything in a Redis database as bytes, for tests that prove a secret is not stored in clear."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis


def dump(client: redis.Redis) -> bytes:
    """Every key of the database and every byte of its value, whatever its type, joined."""
    readers: dict[bytes, Callable[[bytes], Any]] = {
        b"string": lambda key: [client.get(key)],
        b"hash": lambda key: [b for pair in client.hgetall(key).items() for b in pair],
        b"set": client.smembers,
        b"zset": lambda key: client.zrange(key, 0, -1),
        b"list": lambda key: client.lrange(key, 0, -1),
        b"stream": lambda key: [b for _, fields in client.xrange(key) for b in fields.values()],
    }
    parts: list[bytes] = []
    for key in client.scan_iter(count=1000):
        parts += [key, *readers[client.type(key)](key)]
    return b"\n".join(parts)
