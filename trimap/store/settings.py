"""Settings in Redis: one hash, ``trimap:settings``, one JSON value per key.

How it works: like the reference product's ``settings`` hash, each field is a
setting name and its value is the setting as JSON (``"https://…"``, ``true``,
``["messageNew"]``).  ``update`` writes a batch of values in one transaction;
a value of ``None`` deletes the field (the setting goes back to unset).

Rules it keeps: values are validated by ``trimap.settings`` before they get
here, so this module only encodes and decodes; a field that is not valid JSON
(written by hand) reads as unset rather than failing every reader.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from trimap.store.client import RedisStore

__all__ = ["SettingsStore"]

SETTINGS_KEY = "trimap:settings"


class SettingsStore:
    """Reads and writes the settings hash (see the module comment)."""

    def __init__(self, store: RedisStore) -> None:
        self._store = store

    async def load(self) -> dict[str, Any]:
        """Every stored setting, decoded."""
        client = self._store.client
        raw: Any = await self._store.call(lambda: client.hgetall(SETTINGS_KEY))
        values: dict[str, Any] = {}
        for name, encoded in raw.items():
            try:
                values[name.decode()] = json.loads(encoded)
            except ValueError:
                continue
        return values

    async def update(self, values: Mapping[str, Any]) -> None:
        """Store ``values`` atomically; ``None`` unsets a key."""
        client = self._store.client

        def write() -> None:
            pipe = client.pipeline(transaction=True)
            for name, value in values.items():
                if value is None:
                    pipe.hdel(SETTINGS_KEY, name)
                else:
                    pipe.hset(SETTINGS_KEY, name, json.dumps(value, separators=(",", ":")))
            pipe.execute()

        if values:
            await self._store.call(write)
