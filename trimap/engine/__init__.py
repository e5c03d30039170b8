"""The account engine: one nursery per account, each holding a connection that is watched.

* ``engine``: ``AccountEngine``, the supervisor that follows the registry;
* ``runner``: ``AccountRunner``, one account's connect/watch/reconnect loop and states;
* ``login``: opening a logged-in connection from an account's settings;
* ``watch``: the connected phase: folder list, syncs, IDLE, NOTIFY, the API gate.
"""

from trimap.engine.engine import AccountEngine
from trimap.engine.runner import (
    AccountNotConnected,
    AccountRunner,
    AccountSession,
    RunnerServices,
)

__all__ = [
    "AccountEngine",
    "AccountNotConnected",
    "AccountRunner",
    "AccountSession",
    "RunnerServices",
]
