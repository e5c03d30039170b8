"""trimap's storage layer: the only code that knows Redis key names, codecs and scripts."""

from trimap.store.client import RedisHealth, RedisStore, StoreUnavailable, redacted_url

__all__ = ["RedisHealth", "RedisStore", "StoreUnavailable", "redacted_url"]
