"""Query-string validation in the API's style: every problem collected, then one 400.

``QueryParser(request.args, allowed=...)`` reads typed values (``integer``,
``boolean``, ``choice``, ``text``) with defaults and limits; ``check()`` raises
the 400 (``invalid_input``) naming every bad or unknown key.  Booleans accept
the reference's ``true/1/Y`` and ``false/0/N``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TypeVar

from trimap.api.errors import invalid_input

__all__ = ["QueryParser"]

T = TypeVar("T", bound=str)

_TRUE = frozenset({"true", "1", "y", "yes"})
_FALSE = frozenset({"false", "0", "n", "no"})


class QueryParser:
    """Typed, validated query parameters (see the module comment)."""

    def __init__(self, args: Mapping[str, str], *, allowed: Collection[str]) -> None:
        self._args = args
        self.problems: dict[str, str] = {
            key: f'"{key}" is not allowed' for key in args if key not in allowed
        }

    def text(self, key: str, *, required: bool = False, max_length: int = 1024) -> str | None:
        value = self._args.get(key)
        if value is None or value == "":
            if required:
                self.problems[key] = f'"{key}" is required'
            return None
        if len(value) > max_length:
            self.problems[key] = f'"{key}" must be at most {max_length} characters'
            return None
        return value

    def integer(self, key: str, default: int, *, minimum: int, maximum: int) -> int:
        raw = self._args.get(key)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems[key] = f'"{key}" must be a number'
            return default
        if not minimum <= value <= maximum:
            self.problems[key] = f'"{key}" must be from {minimum} to {maximum}'
            return default
        return value

    def boolean(self, key: str, default: bool) -> bool:
        raw = self._args.get(key)
        if raw is None or raw == "":
            return default
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        self.problems[key] = f'"{key}" must be a boolean'
        return default

    def choice(self, key: str, choices: Collection[T]) -> T | None:
        raw = self._args.get(key)
        if raw is None or raw == "":
            return None
        for choice in choices:
            if raw == choice:
                return choice
        self.problems[key] = f'"{key}" must be one of {", ".join(choices)}'
        return None

    def check(self) -> None:
        """Raise the 400 naming every problem found so far."""
        if self.problems:
            raise invalid_input(self.problems)
