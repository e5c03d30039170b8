# Project-wide pytest configuration: makes the test-bed fixtures (tests/fixtures/) available to
# every test: redis_server, redis_url, mailserver, make_mail_user, mail_user,
# make_webhook_receiver, webhook_receiver, imap_server and imap_user (server-generic IMAP).
# Waiting helpers live in tests/waiting.py.
pytest_plugins = [
    "tests.fixtures.redis_server",
    "tests.fixtures.mail_server",
    "tests.fixtures.webhook_receiver",
    "tests.fixtures.imap_servers",
]
