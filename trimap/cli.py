"""The ``trimap`` command.

How it works: ``main`` splits the command line into an optional subcommand
(``serve``, the default), ``--config FILE`` and dotted overrides in the
reference product's style (``--api.port=3000`` or ``--api.port 3000``), loads
the configuration, sets up logging and runs the service in one
``trio.run``.  ``trimap events --follow ...`` instead tails a running
service's ``/v1/stream`` (``trimap.follow``) and needs no configuration.

Rules it keeps: every problem an operator can cause (bad flag, unknown key,
bad value, unreadable file, port in use, no redis-server) ends the process
with a non-zero status and exactly one line on stderr that says what is
wrong; a clean stop (SIGINT/SIGTERM) exits 0.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import trio

from trimap import __version__
from trimap.config import SETTINGS, ConfigError, load_config
from trimap.follow import FollowError, FollowOptions, FollowUsageError, follow, parse_follow
from trimap.logs import configure_logging
from trimap.service import StartupError, serve

__all__ = ["main"]

USAGE = """\
usage: trimap [serve] [--config FILE] [--KEY=VALUE ...]
       trimap events --follow [--url ws://127.0.0.1:3000] [--cursor C] [--account A] [--event E ...]

Serve trimap. Configuration comes from the TOML file, then the environment,
then --KEY=VALUE overrides, for these keys:
"""
EXIT_USAGE = 2
EXIT_FAILURE = 1


class UsageError(Exception):
    """The command line itself is malformed."""


@dataclass(slots=True)
class CommandLine:
    command: str = "serve"
    config_file: Path | None = None
    overrides: dict[str, str] = field(default_factory=dict)
    show_help: bool = False
    show_version: bool = False
    follow: FollowOptions | None = None


def parse_command_line(argv: Sequence[str]) -> CommandLine:
    """Split ``argv`` into the subcommand, the config file and the dotted overrides."""
    parsed = CommandLine()
    args = list(argv)
    if args and not args[0].startswith("-"):
        parsed.command = args.pop(0)
        if parsed.command not in ("serve", "events"):
            raise UsageError(f"unknown command '{parsed.command}'")
        if parsed.command == "events":
            parsed.show_help = "-h" in args or "--help" in args
            parsed.follow = None if parsed.show_help else parse_follow(args)
            return parsed
    while args:
        arg = args.pop(0)
        if arg in ("-h", "--help"):
            parsed.show_help = True
            continue
        if arg == "--version":
            parsed.show_version = True
            continue
        if not arg.startswith("--") or len(arg) == 2:
            raise UsageError(f"unexpected argument '{arg}'")
        name, has_value, value = arg[2:].partition("=")
        if not has_value:
            if not args:
                raise UsageError(f"--{name} needs a value")
            value = args.pop(0)
        if name == "config":
            parsed.config_file = Path(value)
        else:
            parsed.overrides[name] = value
    return parsed


def _usage() -> str:
    lines = [f"  --{s.key}  {s.description} (env {', '.join(s.env_names)})" for s in SETTINGS]
    return USAGE + "\n".join(lines) + "\n"


def _follow(options: FollowOptions) -> int:
    try:
        trio.run(follow, options)
    except FollowError as exc:
        print(f"trimap: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:  # Ctrl-C before the signal receiver was installed
        pass
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``trimap`` command; returns the process exit status."""
    try:
        command_line = parse_command_line(sys.argv[1:] if argv is None else argv)
        if command_line.show_help:
            sys.stdout.write(_usage())
            return 0
        if command_line.show_version:
            print(f"trimap {__version__}")
            return 0
        if command_line.follow is not None:
            return _follow(command_line.follow)
        config = load_config(command_line.overrides, command_line.config_file)
    except (UsageError, FollowUsageError, ConfigError) as exc:
        print(f"trimap: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(config.log_level)
    try:
        trio.run(serve, config)
    except StartupError as exc:
        print(f"trimap: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return 0


if __name__ == "__main__":
    sys.exit(main())
