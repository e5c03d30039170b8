# Project-wide pytest configuration: makes the test-bed fixtures (tests/fixtures/) available to
# every test: redis_server, redis_url, mailserver, make_mail_user, mail_user,
# make_webhook_receiver, webhook_receiver, cyrus_server (a second real IMAP server), imap_server
# and imap_user (server-generic IMAP: every test using them runs on Dovecot and on Cyrus).
# Waiting helpers live in tests/waiting.py.
import signal
from collections.abc import Iterator
from types import FrameType

import pytest
from _pytest.outcomes import Skipped

pytest_plugins = [
    "tests.fixtures.redis_server",
    "tests.fixtures.mail_server",
    "tests.fixtures.cyrus_server",
    "tests.fixtures.webhook_receiver",
    "tests.fixtures.imap_servers",
    "tests.fixtures.api_service",
]


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure() -> None:
    # SIGTERM (CI timeouts, `timeout`, kill) ends the run like Ctrl-C: pytest then still runs the
    # fixtures' finalizers, so no Dovecot, SMTP or Redis process outlives a killed test run.
    signal.signal(signal.SIGTERM, _interrupt)


def _original_skip(error: BaseException | None) -> Skipped | None:
    """The first Skipped with a message inside an exception (group) chain."""
    queue = [error]
    while queue:
        current = queue.pop()
        if isinstance(current, Skipped) and current.msg:
            return current
        if isinstance(current, BaseExceptionGroup):
            queue.extend(current.exceptions)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    # pytest-trio 0.8 re-raises a skip from inside a trio test as a bare pytest.skip(),
    # dropping its reason; put the reason of the original skip back into the report.
    report = yield
    error = call.excinfo.value if call.excinfo else None
    if report.skipped and isinstance(error, Skipped) and not error.msg:
        original = _original_skip(error.__context__)
        if original is not None:
            path, line, _ = item.location
            report.longrepr = (path, (line or 0) + 1, f"Skipped: {original.msg}")
    return report
