"""Webhooks: every event of the log, POSTed to each destination, at least once, in order.

``WebhookSupervisor`` keeps one ``WebhookSender`` task per destination, in step
with the settings; each sender reads the event log with its own cursor.  No
HTTP routes here (``trimap.api.webhooks``) and no Redis keys (``trimap.store``).
"""

from trimap.webhooks.sender import (
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

__all__ = [
    "EVENT_ID_HEADER",
    "GLOBAL",
    "SIGNATURE_HEADER",
    "USER_AGENT",
    "Destination",
    "DestinationStatus",
    "RetryDelays",
    "UnknownDestination",
    "WebhookSender",
    "WebhookSupervisor",
    "destinations",
    "sign",
]
