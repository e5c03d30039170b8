"""Configuration: layering order, types, and one-line refusals naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from trimap.config import DEFAULT_REDIS_URL, SETTINGS, ConfigError, load_config


def test_defaults_match_the_reference_product() -> None:
    config = load_config(environ={})
    assert (config.api_host, config.api_port) == ("127.0.0.1", 3000)
    assert config.redis_url == DEFAULT_REDIS_URL
    assert config.redis_url_is_default
    assert config.api_max_size == 25 * 1024 * 1024
    assert config.log_level == "info"


def test_file_then_environment_then_command_line(tmp_path: Path) -> None:
    config_file = tmp_path / "trimap.toml"
    config_file.write_text(
        '[api]\nport = 4000\nhost = "0.0.0.0"\nmaxSize = "10M"\n[log]\nlevel = "debug"\n'
    )
    environ = {"API_PORT": "5000", "TRIMAP_LOG_LEVEL": "warn"}
    config = load_config({"log.level": "error"}, config_file, environ)
    assert config.api_host == "0.0.0.0"  # file
    assert config.api_max_size == 10 * 1024 * 1024  # file, base 1024
    assert config.api_port == 5000  # environment beats file
    assert config.log_level == "error"  # command line beats environment


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        ("REDIS_URL", "redis://example:6380/2", "redis_url", "redis://example:6380/2"),
        ("API_HOST", "::1", "api_host", "::1"),
        ("API_MAX_SIZE", "512kB", "api_max_size", 512 * 1024),
        ("LOG_LEVEL", "WARNING", "log_level", "warn"),
        ("TRIMAP_DATA_DIR", "/var/lib/trimap", "data_dir", Path("/var/lib/trimap")),
        ("TRIMAP_SHUTDOWN_TIMEOUT", "2.5", "shutdown_timeout", 2.5),
    ],
)
def test_environment_names(name: str, value: str, field: str, expected: object) -> None:
    assert getattr(load_config(environ={name: value}), field) == expected


@pytest.mark.parametrize(
    ("overrides", "environ", "names"),
    [
        ({"api.port": "abc"}, {}, "'api.port'"),
        ({"api.port": "70000"}, {}, "'api.port'"),
        ({"api.maxSize": "lots"}, {}, "'api.maxSize'"),
        ({"dbs.redis": "http://x"}, {}, "'dbs.redis'"),
        ({"log.level": "loud"}, {}, "'log.level'"),
        ({"api.colour": "blue"}, {}, "'api.colour'"),
        ({}, {"TRIMAP_API_COLOUR": "blue"}, "'TRIMAP_API_COLOUR'"),
        ({}, {"API_PORT": "-1"}, "API_PORT"),
    ],
)
def test_bad_values_are_refused_with_the_key_named(
    overrides: dict[str, str], environ: dict[str, str], names: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(overrides, environ=environ)
    message = str(caught.value)
    assert names in message
    assert "\n" not in message


def test_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(config_file=tmp_path / "missing.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[api\nport=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(config_file=broken, environ={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[dbs]\nmysql = 'x'\n")
    with pytest.raises(ConfigError, match=r"'dbs\.mysql'"):
        load_config(config_file=unknown, environ={})


def test_every_setting_has_a_description_and_a_parseable_default() -> None:
    for setting in SETTINGS:
        assert setting.description
        assert setting.parse(setting.default) == setting.default


def test_configuration_reference_is_current() -> None:
    from trimap.configdoc import render_configuration_reference

    committed = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    assert committed == render_configuration_reference(), (
        "docs/configuration.md is stale: python -m trimap.configdoc > docs/configuration.md"
    )


def test_event_log_settings_take_durations_and_counts() -> None:
    defaults = load_config(environ={})
    assert defaults.events_retention == 7 * 86400
    assert defaults.events_max_length == 500_000
    assert defaults.events_dedupe_window == 3600
    config = load_config(
        {"events.retention": "36h", "events.dedupeWindow": "0"},
        environ={"TRIMAP_EVENTS_MAXLENGTH": "2000"},
    )
    assert (config.events_retention, config.events_dedupe_window) == (36 * 3600, 0)
    assert config.events_max_length == 2000
    assert load_config({"events.retention": "2w"}, environ={}).events_retention == 14 * 86400
    assert load_config({"events.retention": "90"}, environ={}).events_retention == 90
    for key, value in [
        ("events.retention", "30s"),
        ("events.retention", "soon"),
        ("events.maxLength", "10"),
        ("events.maxLength", "1e6"),
        ("events.dedupeWindow", "8d"),
    ]:
        with pytest.raises(ConfigError, match=f"'{key}'"):
            load_config({key: value}, environ={})
