"""Webhooks: every event of the log, POSTed to each destination, at least once, in order.

``WebhookSupervisor`` keeps one ``WebhookSender`` task per destination, in step
with the settings (the global URL) and the accounts (their own URLs); each
sender reads the event log with its own cursor.  ``AccountRouting`` decides
whether an account's events go to the global URL or to its own, and
``AccountWakeups`` wakes per-account senders.  No HTTP routes here
(``trimap.api.webhooks``) and no Redis keys (``trimap.store``).
"""

from trimap.webhooks.routing import AccountRouting, account_key
from trimap.webhooks.sender import (
    ACCOUNT_LABEL,
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    USER_AGENT,
    Destination,
    RetryDelays,
    WebhookSender,
    sign,
)
from trimap.webhooks.supervisor import (
    GLOBAL,
    DestinationStatus,
    UnknownDestination,
    WebhookSupervisor,
    destinations,
)
from trimap.webhooks.wakeups import AccountWakeups

__all__ = [
    "ACCOUNT_LABEL",
    "EVENT_ID_HEADER",
    "GLOBAL",
    "SIGNATURE_HEADER",
    "USER_AGENT",
    "AccountRouting",
    "AccountWakeups",
    "Destination",
    "DestinationStatus",
    "RetryDelays",
    "UnknownDestination",
    "WebhookSender",
    "WebhookSupervisor",
    "account_key",
    "destinations",
    "sign",
]
