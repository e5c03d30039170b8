"""The whole service in one ``trio.run``: Redis, the account engine and HTTP.

How it works: ``serve`` opens the service's root nursery and starts, in order,

1. a private ``redis-server`` (supervised) when the configured Redis URL is
   the default and nothing answers there;
2. the event log on that Redis (``trimap.events.EventLog``), which account
   runners append to and readers page through;
3. the account registry (``trimap.accounts``), after loading the secrets key
   (``secrets.key``, or the key file in ``data.dir``, generated on the first
   start) and checking it against the key token in Redis;
4. the ``AccountEngine`` nursery, where account runners live (one per
   account, started from the registry, with an outbound HTTP client for the
   auth server);
5. the ``WebhookSupervisor`` (supervised), one sender task per webhook
   destination, each reading the event log with its own cursor, and the
   outbox worker (supervised), which sends queued and scheduled mail;
6. Hypercorn serving the Quart-Trio app on ``api.host:api.port``.

It then waits for a stop request (SIGINT/SIGTERM, or the ``stop`` event a
caller passes) and shuts down in the opposite order: Hypercorn stops accepting
and finishes in-flight requests, the engine stops every runner (LOGOUT), then
the root nursery is cancelled, which stops the webhook senders and the
private Redis (SIGTERM, so it flushes its AOF).

Rules it keeps: everything runs in the root nursery (nothing outlives
``serve``); the whole shutdown is bounded by ``shutdown.timeout`` seconds; a
resource that cannot start makes ``serve`` raise ``StartupError`` with a
one-line reason before anything is served.
"""

from __future__ import annotations

import logging
import signal
from functools import partial

import hypercorn.trio
import trio
from hypercorn.config import Config as HypercornConfig
from quart_trio import QuartTrio

from trimap.accounts import AccountRegistry
from trimap.accounts.authserver import AuthServer
from trimap.api import create_app
from trimap.config import Config
from trimap.engine import AccountEngine, RunnerServices
from trimap.engine.protocollogs import ProtocolLogging
from trimap.events import EventLog
from trimap.httpclient import HttpClient
from trimap.metrics import Metrics
from trimap.privateredis import PrivateRedis, PrivateRedisError
from trimap.runtime import Runtime
from trimap.secrets import SecretBox, SecretKeyError, load_secret_key
from trimap.settings import Settings
from trimap.store import (
    EventLogStore,
    ProtocolLogStore,
    RedisStore,
    SettingsStore,
    StoreUnavailable,
    WebhookStore,
    redacted_url,
)
from trimap.store.accounts import AccountStore
from trimap.store.outbox import OutboxStore
from trimap.store.sync import SyncStore
from trimap.submit.outbox import Outbox
from trimap.submit.send import Submitter
from trimap.supervise import Backoff, supervise
from trimap.sync.announce import NotifyOptions
from trimap.webhooks import WebhookSupervisor

__all__ = ["StartupError", "serve"]

log = logging.getLogger("trimap.service")

# Shares of shutdown.timeout given to in-flight HTTP requests and then to the account
# runners' LOGOUTs; the rest is for cancelling what is left and stopping the private Redis.
HTTP_SHARE_OF_SHUTDOWN = 0.4
ENGINE_SHARE_OF_SHUTDOWN = 0.3


class StartupError(Exception):
    """The service could not start; the message is one line for the operator."""


def _hypercorn_config(config: Config) -> HypercornConfig:
    """Hypercorn's settings, bound here so a busy port is a one-line ``StartupError``.

    The listening socket is created by us and handed to Hypercorn as ``fd://``
    (it takes ownership), so bind errors surface before serving starts, not
    wrapped in Hypercorn's nurseries.
    """
    http = HypercornConfig()
    host = f"[{config.api_host}]" if ":" in config.api_host else config.api_host
    http.bind = [f"{host}:{config.api_port}"]
    try:
        sockets = http.create_sockets()
    except OSError as exc:
        where = f"{config.api_host}:{config.api_port}"
        raise StartupError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    http.bind = [f"fd://{sock.detach()}" for sock in sockets.insecure_sockets]
    http.graceful_timeout = config.shutdown_timeout * HTTP_SHARE_OF_SHUTDOWN
    http.accesslog = None
    http.errorlog = logging.getLogger("trimap.http")
    return http


async def _stop_on_signals(stop: trio.Event) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("stop requested", extra={"signal": signal.Signals(signum).name})
            stop.set()


async def _serve_http(
    app: QuartTrio,
    config: Config,
    stop: trio.Event,
    finished: trio.Event,
    *,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    try:
        await hypercorn.trio.serve(
            app, _hypercorn_config(config), shutdown_trigger=stop.wait, task_status=task_status
        )
    finally:
        finished.set()


async def _http_client(*, task_status: trio.TaskStatus[HttpClient]) -> None:
    """An outbound HTTP client (for the auth server) open until cancelled."""
    async with HttpClient() as client:
        task_status.started(client)
        await trio.sleep_forever()


async def _notify_options(settings: Settings) -> NotifyOptions:
    values = await settings.read(("notifyText", "notifyTextSize", "notifyHeaders"))
    headers = values.get("notifyHeaders")
    return NotifyOptions(
        text=bool(values.get("notifyText")),
        text_size=int(values.get("notifyTextSize") or 0),
        headers=frozenset(h.lower() for h in headers) if isinstance(headers, list) else None,
    )


async def _open_store(config: Config, nursery: trio.Nursery) -> tuple[RedisStore, bool]:
    """The store at the configured URL, or at a private Redis started for the default URL."""
    store = RedisStore(config.redis_url)
    if await store.answers():
        return store, False
    if not config.redis_url_is_default:
        log.warning("Redis is not reachable yet", extra={"url": redacted_url(config.redis_url)})
        return store, False
    store.close()
    private = PrivateRedis(config.data_dir)
    log.info(
        "no Redis at the default URL, starting a private redis-server",
        extra={"directory": str(private.directory)},
    )
    try:
        url: str = await nursery.start(partial(supervise, "private-redis", private.run))
    except PrivateRedisError as exc:
        raise StartupError(str(exc)) from None
    return RedisStore(url), True


def _secret_box(config: Config) -> tuple[SecretBox, str]:
    """The box for secrets at rest (its key loaded or generated once) and the key's source."""
    try:
        key, source = load_secret_key(config.secrets_key, config.data_dir)
    except SecretKeyError as exc:
        raise StartupError(str(exc)) from None
    return SecretBox(key), source


async def _open_accounts(store: RedisStore, box: SecretBox, source: str) -> AccountRegistry:
    """The account registry, the secrets key checked against the one the data was sealed with."""
    accounts = AccountRegistry(AccountStore(store, box))
    try:
        await accounts.check_key()
    except SecretKeyError as exc:
        raise StartupError(f"{source}: {exc}") from None
    except StoreUnavailable:
        log.warning("Redis is not reachable: the secrets key is checked on first use")
    return accounts


async def serve(
    config: Config,
    *,
    stop: trio.Event | None = None,
    handle_signals: bool = True,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run trimap until ``stop`` is set or a signal arrives; started with the bound URLs."""
    if stop is None:
        stop = trio.Event()
    try:
        await _run(config, stop, handle_signals, task_status)
    except BaseExceptionGroup as group:
        startup_errors, others = group.split(StartupError)
        if startup_errors is None or others is not None:
            raise
        raise _first_leaf(startup_errors) from None


def _first_leaf(group: BaseExceptionGroup[StartupError]) -> StartupError:
    error = group.exceptions[0]
    return _first_leaf(error) if isinstance(error, BaseExceptionGroup) else error


async def start_runtime(config: Config, nursery: trio.Nursery, stop: trio.Event) -> Runtime:
    """Start everything but HTTP in ``nursery`` (steps 1 to 5 of the module comment) and
    give the ``Runtime`` the app serves; ``trimap.asgi`` uses it under an outside Hypercorn."""
    store, private = await _open_store(config, nursery)
    metrics = Metrics()
    events = EventLog(
        EventLogStore(
            store,
            retention=config.events_retention,
            max_length=config.events_max_length,
            dedupe_window=config.events_dedupe_window,
        ),
        metrics,
    )
    box, key_source = _secret_box(config)
    accounts = await _open_accounts(store, box, key_source)
    settings = Settings(SettingsStore(store), box)
    auth_http = await nursery.start(_http_client)
    protocol_logs = ProtocolLogStore(store)
    protocol_logging = ProtocolLogging(protocol_logs, settings)
    auth_server = AuthServer(auth_http, settings.auth_server)
    sync_store = SyncStore(store)
    nursery.start_soon(protocol_logging.run)
    engine = AccountEngine(
        accounts,
        RunnerServices(
            record_state=accounts.set_state,
            sink=events,
            sync_store=sync_store,
            notify_options=partial(_notify_options, settings),
            auth_server=auth_server.credentials,
            protocol_log=protocol_logging.for_account,
        ),
        stop_timeout=config.shutdown_timeout * ENGINE_SHARE_OF_SHUTDOWN,
    )
    protocol_logging.follow(engine)
    await nursery.start(engine.run)
    webhooks = WebhookSupervisor(
        events,
        settings,
        accounts,
        WebhookStore(store),
        metrics,
        retry_min=config.webhooks_retry_min,
        retry_max=config.webhooks_retry_max,
        connect_timeout=config.webhooks_connect_timeout,
        response_timeout=config.webhooks_timeout,
    )
    await nursery.start(partial(supervise, "webhooks", webhooks.run, backoff=Backoff()))
    submitter = Submitter(
        accounts,
        engine,
        sync_store,
        auth_server.credentials,
        events,
        max_original=config.api_max_size,
    )
    outbox_store = OutboxStore(store)
    outbox = Outbox(
        outbox_store,
        submitter,
        events,
        retry_min=config.outbox_retry_min,
        retry_max=config.outbox_retry_max,
        max_age=config.events_retention,
    )
    await nursery.start(partial(supervise, "outbox", outbox.run, backoff=Backoff()))
    runtime = Runtime(
        config,
        store,
        engine,
        events,
        metrics,
        settings,
        webhooks,
        accounts=accounts,
        sync=sync_store,
        protocol_logs=protocol_logs,
        auth_server=auth_server,
        submitter=submitter,
        outbox=outbox,
        outbox_store=outbox_store,
        private_redis=private,
        stopping=stop,
    )
    return runtime


async def _run(
    config: Config,
    stop: trio.Event,
    handle_signals: bool,
    task_status: trio.TaskStatus[list[str]],
) -> None:
    async with trio.open_nursery() as nursery:
        if handle_signals:
            nursery.start_soon(_stop_on_signals, stop)
        runtime = await start_runtime(config, nursery, stop)
        engine, store, private = runtime.engine, runtime.store, runtime.private_redis
        app = create_app(runtime)
        http_finished = trio.Event()
        bound: list[str] = await nursery.start(_serve_http, app, config, stop, http_finished)
        log.info("trimap is serving", extra={"addresses": bound, "privateRedis": private})
        task_status.started(bound)
        await stop.wait()
        with trio.move_on_after(config.shutdown_timeout * HTTP_SHARE_OF_SHUTDOWN + 0.2):
            await http_finished.wait()
        await engine.shutdown()
        nursery.cancel_scope.cancel()
    store.close()
    log.info("trimap stopped")
