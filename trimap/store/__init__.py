"""trimap's storage layer: the only code that knows Redis key names, codecs and scripts."""

from trimap.store.client import RedisHealth, RedisStore, StoreUnavailable, redacted_url
from trimap.store.eventlog import EventLogStore, position_at, position_before, position_time
from trimap.store.protocollog import ProtocolLogStore
from trimap.store.settings import SettingsStore
from trimap.store.webhooks import WebhookStore

__all__ = [
    "EventLogStore",
    "ProtocolLogStore",
    "RedisHealth",
    "RedisStore",
    "SettingsStore",
    "StoreUnavailable",
    "WebhookStore",
    "position_at",
    "position_before",
    "position_time",
    "redacted_url",
]
