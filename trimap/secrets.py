"""Secrets at rest: ``SecretBox`` (AES-256-GCM) and the key it uses.

How it works: ``SecretBox.encrypt(text, bound_to=...)`` seals one value with
AES-256-GCM (the ``cryptography`` package) under a fresh random 96-bit nonce
and returns a printable token::

    1:<key id>:<base64url(nonce || ciphertext || tag)>

``1`` is the token format and the key id is a fingerprint of the key (the
first 8 hex digits of a SHA-256 over it), so a later key rotation can tell
which key sealed a value.  The format, the key id and ``bound_to`` (the owner
of the value, e.g. an account id and a field name) are the associated data:
a token copied to another account or field, or re-labelled with another key
id, does not decrypt.

The key is 32 random bytes, written as base64.  It comes from the
``secrets.key`` setting (or ``TRIMAP_SECRETS_KEY``); without one, trimap uses
the key file ``<data.dir>/secret.key``, which ``load_secret_key`` generates
on the first start and reads on every later one.

Rules it keeps:

* A key never appears in an error message, a log line or a ``repr``; errors
  name where the key came from and, at most, its key id.
* The key file is created once, mode 0600, atomically (written to a private
  temporary file, then hard-linked into place, which fails rather than
  replace an existing file) and synced to disk; it is never overwritten.
* A token that does not decrypt raises ``SecretDecryptError`` naming the key
  id and the owner, never the token or the text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "KEY_FILE_NAME",
    "SecretBox",
    "SecretDecryptError",
    "SecretKeyError",
    "decode_key",
    "load_secret_key",
    "token_key_id",
]

log = logging.getLogger("trimap.secrets")

KEY_FILE_NAME = "secret.key"
KEY_BYTES = 32
NONCE_BYTES = 12
TOKEN_FORMAT = "1"


class SecretKeyError(Exception):
    """The secrets key is malformed, unreadable or not the one the data needs (one line)."""


class SecretDecryptError(Exception):
    """A stored token did not decrypt: another key, another owner, or tampered with."""


def decode_key(text: str) -> bytes:
    """The 32-byte key written as ``text`` (base64); ``ValueError`` never quotes the text."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("expected base64 of 32 bytes (e.g. openssl rand -base64 32)") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"expected base64 of 32 bytes, got {len(key)} bytes")
    return key


def _encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def key_id(key: bytes) -> str:
    """A short public fingerprint of ``key``, written into every token it seals."""
    return hashlib.sha256(b"trimap secret key id\0" + key).hexdigest()[:8]


def token_key_id(token: str) -> str:
    """The key id written in ``token`` (public), or ``""`` when it is not a token."""
    token_format, _, rest = token.partition(":")
    return rest.partition(":")[0] if token_format == TOKEN_FORMAT else ""


def _read_key_file(path: Path) -> bytes | None:
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not ASCII text"
        raise SecretKeyError(f"cannot read the secrets key file {path}: {reason}") from None
    try:
        key = decode_key(text)
    except ValueError as exc:
        raise SecretKeyError(f"the secrets key file {path} is malformed: {exc}") from None
    if path.stat().st_mode & 0o077:
        log.warning("the secrets key file is readable by other users", extra={"path": str(path)})
    return key


def _create_key_file(path: Path) -> bytes:
    """Write a new random key to ``path`` unless a file is already there; return the key kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(KEY_BYTES)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(_encode_key(key) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError:
        existing = _read_key_file(path)  # another process created it first: use theirs
        assert existing is not None
        return existing
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    log.info("generated a new secrets key; back it up", extra={"path": str(path)})
    return key


def load_secret_key(configured: bytes | None, data_dir: Path) -> tuple[bytes, str]:
    """The key and where it came from: ``configured`` if set, else the key file in ``data_dir``.

    The key file is generated when it does not exist.  Raises ``SecretKeyError``
    for a key file that cannot be read or created, or is malformed.
    """
    if configured is not None:
        return configured, "secrets.key"
    path = data_dir / KEY_FILE_NAME
    try:
        key = _read_key_file(path) or _create_key_file(path)
    except OSError as exc:
        raise SecretKeyError(f"cannot create the secrets key file {path}: {exc.strerror}") from None
    return key, str(path)


class SecretBox:
    """Seals and opens short secrets with one AES-256-GCM key (see the module comment)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("a SecretBox key is 32 bytes")
        self._aead = AESGCM(key)
        self.key_id = key_id(key)

    def __repr__(self) -> str:
        return f"SecretBox(key_id={self.key_id!r})"

    def _associated_data(self, token_key_id: str, bound_to: str) -> bytes:
        return f"{TOKEN_FORMAT}:{token_key_id}:{bound_to}".encode()

    def encrypt(self, text: str, *, bound_to: str) -> str:
        """A token holding ``text`` that only opens with this key and the same ``bound_to``."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(
            nonce, text.encode(), self._associated_data(self.key_id, bound_to)
        )
        body = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{TOKEN_FORMAT}:{self.key_id}:{body}"

    def decrypt(self, token: str, *, bound_to: str) -> str:
        """The text sealed in ``token`` for ``bound_to``; ``SecretDecryptError`` otherwise."""
        token_format, _, rest = token.partition(":")
        token_key_id, _, body = rest.partition(":")
        if token_format != TOKEN_FORMAT or not body:
            raise SecretDecryptError(f"secret of {bound_to} is not a token of this format")
        if token_key_id != self.key_id:
            raise SecretDecryptError(
                f"secret of {bound_to} was sealed with key {token_key_id}, "
                f"not with the current key {self.key_id}"
            )
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = self._aead.decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], self._associated_data(token_key_id, bound_to)
            )
            return plain.decode()
        except (binascii.Error, ValueError, InvalidTag, UnicodeDecodeError):
            raise SecretDecryptError(
                f"secret of {bound_to} does not decrypt with key {self.key_id} "
                "(sealed for another owner, or altered)"
            ) from None
