"""Accounts: the model, the registry and its change announcements (no HTTP, no Redis keys).

``trimap.store.accounts`` stores the registry; the HTTP routes (issue #7) and
the runner supervisor build on ``AccountRegistry``.
"""

from trimap.accounts.model import (
    ACCOUNT_STATES,
    Account,
    AccountError,
    AccountInput,
    AccountNotFound,
    AccountState,
    AccountSummary,
    Auth,
    ImapSettings,
    InvalidAccount,
    ServerSettings,
    SmtpSettings,
    TlsOptions,
    parse_account_input,
)
from trimap.accounts.registry import (
    AccountBackend,
    AccountChange,
    AccountChanges,
    AccountPage,
    AccountRegistry,
)

__all__ = [
    "ACCOUNT_STATES",
    "Account",
    "AccountBackend",
    "AccountChange",
    "AccountChanges",
    "AccountError",
    "AccountInput",
    "AccountNotFound",
    "AccountPage",
    "AccountRegistry",
    "AccountState",
    "AccountSummary",
    "Auth",
    "ImapSettings",
    "InvalidAccount",
    "ServerSettings",
    "SmtpSettings",
    "TlsOptions",
    "parse_account_input",
]
