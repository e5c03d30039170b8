"""trimap's Prometheus metrics, in a registry of its own.

How it works: a ``Metrics`` object owns a ``CollectorRegistry`` and the
metrics trimap records; the service builds one and hands it to the parts
that count things.  Nothing is registered in prometheus_client's global
default registry, so two instances in one process (tests) never share
counts, and the default process metrics are not exposed.

Rules it keeps: counters count from the start of the process ("from now");
label values are event kinds and other closed sets, never account ids or
anything user-supplied, so the number of series stays bounded.  Webhook
metrics are labelled ``destination="global"`` or ``destination="account"`` (every
per-account URL together), so the number of series stays bounded.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["Metrics"]


class Metrics:
    """The registry and every metric trimap records."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.events = Counter(
            "trimap_events",
            "Events appended to the event log, by event type.",
            ["event"],
            registry=self.registry,
        )
        self.duplicate_events = Counter(
            "trimap_events_duplicate",
            "Events not appended because an event with the same id was already in the "
            "de-duplication window, by event type.",
            ["event"],
            registry=self.registry,
        )
        self.webhook_deliveries = Counter(
            "trimap_webhook_deliveries",
            "Webhook delivery attempts by destination and result: success (2xx), rejected "
            "(another status), timeout, error (no connection, broken response), and expired "
            "(events trimmed from the log before they could be delivered).",
            ["destination", "result"],
            registry=self.registry,
        )
        self.webhook_latency = Histogram(
            "trimap_webhook_delivery_latency_seconds",
            "Seconds from an event's append to the log to its 2xx answer, retries included.",
            ["destination"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
            registry=self.registry,
        )
        self.webhook_lag = Gauge(
            "trimap_webhook_lag_seconds",
            "Age of the oldest event a webhook destination has not acknowledged (0: caught up).",
            ["destination"],
            registry=self.registry,
        )
