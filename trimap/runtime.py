"""What a running trimap instance is made of, handed to the HTTP layer.

How it works: ``trimap.service`` builds one ``Runtime`` after its resources
are up (configuration, the Redis store, the account engine, the event log,
the metrics, the account registry, the settings, the webhook supervisor, the
sync and protocol-log stores, the auth server client) and
passes it to ``trimap.api.create_app``.  Request handlers reach it through
``trimap.api.context.runtime()``; they never build resources of their own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import trio

from trimap.accounts import AccountRegistry
from trimap.accounts.authserver import AuthServer
from trimap.config import Config
from trimap.engine import AccountEngine
from trimap.events import EventLog
from trimap.metrics import Metrics
from trimap.settings import Settings
from trimap.store import ProtocolLogStore, RedisStore
from trimap.store.outbox import OutboxStore
from trimap.store.sync import SyncStore
from trimap.submit.outbox import Outbox
from trimap.submit.send import Submitter
from trimap.webhooks import WebhookSupervisor

__all__ = ["Runtime"]


@dataclass(slots=True)
class Runtime:
    """The live parts of one trimap instance."""

    config: Config
    store: RedisStore
    engine: AccountEngine
    events: EventLog
    metrics: Metrics
    settings: Settings
    webhooks: WebhookSupervisor
    accounts: AccountRegistry
    sync: SyncStore
    protocol_logs: ProtocolLogStore
    auth_server: AuthServer
    submitter: Submitter
    outbox: Outbox
    outbox_store: OutboxStore
    private_redis: bool = False
    stopping: trio.Event = field(default_factory=trio.Event)  # set when the service stops
    started_at: float = field(default_factory=time.time)

    @property
    def uptime(self) -> float:
        return time.time() - self.started_at
