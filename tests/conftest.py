# Project-wide pytest configuration: makes the test-bed fixtures (tests/fixtures/) available to
# every test: redis_server, redis_url, mailserver, make_mail_user, mail_user,
# make_webhook_receiver, webhook_receiver, cyrus_server (a second real IMAP server), imap_server
# and imap_user (server-generic IMAP: every test using them runs on Dovecot and on Cyrus).
# Waiting helpers live in tests/waiting.py.
import signal
from types import FrameType

pytest_plugins = [
    "tests.fixtures.redis_server",
    "tests.fixtures.mail_server",
    "tests.fixtures.cyrus_server",
    "tests.fixtures.webhook_receiver",
    "tests.fixtures.imap_servers",
]


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure() -> None:
    # SIGTERM (CI timeouts, `timeout`, kill) ends the run like Ctrl-C: pytest then still runs the
    # fixtures' finalizers, so no Dovecot, SMTP or Redis process outlives a killed test run.
    signal.signal(signal.SIGTERM, _interrupt)
