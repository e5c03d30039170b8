"""trimap's Prometheus metrics, in a registry of its own.

How it works: a ``Metrics`` object owns a ``CollectorRegistry`` and the
metrics trimap records; the service builds one and hands it to the parts
that count things.  Nothing is registered in prometheus_client's global
default registry, so two instances in one process (tests) never share
counts, and the default process metrics are not exposed.

Rules it keeps: counters count from the start of the process ("from now");
label values are event kinds and other closed sets, never account ids or
anything user-supplied, so the number of series stays bounded.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

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
