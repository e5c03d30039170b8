"""Secrets at rest: SecretBox tokens, the key file, and the ``secrets.key`` setting."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from trimap.config import ConfigError, load_config
from trimap.secrets import (
    KEY_FILE_NAME,
    SecretBox,
    SecretDecryptError,
    SecretKeyError,
    load_secret_key,
    token_key_id,
)


def new_key() -> bytes:
    return os.urandom(32)


def test_round_trip_with_a_fresh_nonce_each_time() -> None:
    box = SecretBox(new_key())
    first = box.encrypt("hunter2 ✓", bound_to="a")
    second = box.encrypt("hunter2 ✓", bound_to="a")
    assert first != second
    assert first.startswith(f"1:{box.key_id}:") and token_key_id(first) == box.key_id
    assert "hunter2" not in first
    assert box.decrypt(first, bound_to="a") == box.decrypt(second, bound_to="a") == "hunter2 ✓"
    assert box.decrypt(box.encrypt("", bound_to="a"), bound_to="a") == ""


def test_a_token_opens_only_for_its_owner_its_key_and_unaltered() -> None:
    key = new_key()
    box = SecretBox(key)
    token = box.encrypt("hunter2", bound_to='["a1","imap.auth.pass"]')
    with pytest.raises(SecretDecryptError) as moved:
        box.decrypt(token, bound_to='["a2","imap.auth.pass"]')
    with pytest.raises(SecretDecryptError):
        box.decrypt(token, bound_to='["a1","smtp.auth.pass"]')
    other = SecretBox(new_key())
    with pytest.raises(SecretDecryptError) as wrong_key:
        other.decrypt(token, bound_to='["a1","imap.auth.pass"]')
    assert box.key_id in str(wrong_key.value) and other.key_id in str(wrong_key.value)
    relabelled = token.replace(box.key_id, other.key_id)
    with pytest.raises(SecretDecryptError):
        other.decrypt(relabelled, bound_to='["a1","imap.auth.pass"]')
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    for broken in (flipped, token[:20], "1:" + box.key_id + ":!!", "not a token"):
        with pytest.raises(SecretDecryptError) as error:
            box.decrypt(broken, bound_to='["a1","imap.auth.pass"]')
        assert "hunter2" not in str(error.value)
    for error_text in (str(moved.value), str(wrong_key.value), repr(box)):
        assert "hunter2" not in error_text and token not in error_text
        assert base64.b64encode(key).decode() not in error_text


def test_key_file_is_generated_once_private_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key, source = load_secret_key(None, data_dir)
    path = data_dir / KEY_FILE_NAME
    assert source == str(path) and len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = path.read_bytes()
    assert base64.b64decode(written) == key
    assert load_secret_key(None, data_dir) == (key, source)
    assert path.read_bytes() == written
    assert [p.name for p in data_dir.iterdir()] == [KEY_FILE_NAME]  # no temporary left


def test_a_configured_key_wins_and_no_file_is_written(tmp_path: Path) -> None:
    key = new_key()
    assert load_secret_key(key, tmp_path) == (key, "secrets.key")
    assert not (tmp_path / KEY_FILE_NAME).exists()


@pytest.mark.parametrize(
    "content",
    ["", "short", base64.b64encode(b"x" * 16).decode(), base64.b64encode(b"y" * 33).decode()],
)
def test_a_malformed_key_file_is_refused_without_quoting_it(tmp_path: Path, content: str) -> None:
    path = tmp_path / KEY_FILE_NAME
    path.write_text(content + "\n")
    path.chmod(0o600)
    with pytest.raises(SecretKeyError) as error:
        load_secret_key(None, tmp_path)
    message = str(error.value)
    assert str(path) in message and "\n" not in message
    assert not content or content not in message
    assert path.read_text() == content + "\n"  # never overwritten


def test_the_setting_takes_base64_and_never_prints_it() -> None:
    key = new_key()
    text = base64.b64encode(key).decode()
    config = load_config(environ={"TRIMAP_SECRETS_KEY": text})
    assert config.secrets_key == key
    assert text not in repr(config) and str(key) not in repr(config)
    assert load_config(environ={}).secrets_key is None
    assert load_config({"secrets.key": text}, environ={}).secrets_key == key
    for bad in ("c2VjcmV0LXZhbHVl", "not base64 at all!", base64.b64encode(b"z" * 31).decode()):
        with pytest.raises(ConfigError) as error:
            load_config(environ={"TRIMAP_SECRETS_KEY": bad})
        message = str(error.value)
        assert "'secrets.key'" in message and "TRIMAP_SECRETS_KEY" in message
        assert bad not in message
