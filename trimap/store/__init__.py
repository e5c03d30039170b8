"""trimap's storage layer: the only code that knows Redis key names, codecs and scripts."""

from trimap.store.client import RedisHealth, RedisStore, StoreUnavailable, redacted_url
from trimap.store.eventlog import EventLogStore

__all__ = ["EventLogStore", "RedisHealth", "RedisStore", "StoreUnavailable", "redacted_url"]
