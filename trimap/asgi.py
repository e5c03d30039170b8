"""``hypercorn -k trio 'trimap.asgi:app'``: the whole service under an outside Hypercorn.

How it works: importing this module loads the configuration the way the
``trimap`` command does, minus the command line: the file named by
``TRIMAP_CONFIG`` (if set), then the environment (``TRIMAP_*``, ``REDIS_URL``
...).  ``app`` is the same Quart-Trio app ``trimap`` serves; its lifespan
(``while_serving``) starts everything else -- Redis (a private one if
needed), the event log, the account engine, the webhook senders, the outbox
-- in a nursery of its own before the first request, and on shutdown stops
the account runners (LOGOUT) and then the rest.  ``api.host``/``api.port``
are Hypercorn's business here (``--bind``); the other keys apply as usual.

Rules it keeps: nothing outlives the lifespan; a configuration error stops
the import with the same one-line message the command gives.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator
from pathlib import Path

import trio

from trimap.api import attach, build_app
from trimap.config import CONFIG_FILE_ENV, load_config
from trimap.logs import configure_logging
from trimap.service import start_runtime

__all__ = ["app"]

_file = os.environ.get(CONFIG_FILE_ENV)
config = load_config(config_file=Path(_file) if _file else None)
configure_logging(config.log_level)
app = build_app(config)


@app.while_serving
async def _lifespan() -> AsyncGenerator[None, None]:
    async with trio.open_nursery() as nursery:
        stop = trio.Event()
        instance = await start_runtime(config, nursery, stop)
        attach(app, instance)
        yield
        stop.set()
        await instance.engine.shutdown()
        nursery.cancel_scope.cancel()
    instance.store.close()
