"""``InvalidFields``: the one exception shape for "these fields are wrong".

Validation anywhere in trimap (accounts, settings, compose requests, search
criteria) collects every problem as ``{field key: what is wrong}`` and raises
a subclass of ``InvalidFields``; the API answers it with one 400 naming every
field (``trimap.api.errors.invalid_input``).  Messages never quote a secret.
"""

from __future__ import annotations

__all__ = ["InvalidFields"]


class InvalidFields(ValueError):
    """Validation failed; ``fields`` maps each field key to what is wrong with it."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in fields.items()))
        self.fields = fields
