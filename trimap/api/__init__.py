"""The HTTP layer: routes, request/response models and error mapping, nothing else.

``create_app`` builds the Quart-Trio application around a ``Runtime``; the
service (or ``trimap.asgi`` under Hypercorn) serves it.
"""

from __future__ import annotations

from quart import request
from quart_trio import QuartTrio
from werkzeug.exceptions import RequestEntityTooLarge

from trimap.api import (
    accounts,
    content,
    events,
    health,
    logs,
    mailboxes,
    message_actions,
    messages,
    openapi,
    settings,
    stats,
    stream,
    submit,
    upload,
    verify,
    webhooks,
)
from trimap.api.context import EXTENSION_KEY
from trimap.api.errors import register_error_handlers
from trimap.config import Config
from trimap.runtime import Runtime

__all__ = ["attach", "build_app", "create_app"]


def create_app(instance: Runtime) -> QuartTrio:
    """The Quart-Trio app serving ``instance``."""
    app = build_app(instance.config)
    attach(app, instance)
    return app


def attach(app: QuartTrio, instance: Runtime) -> None:
    """Make ``app`` serve ``instance`` (``trimap.asgi`` attaches it once it has started)."""
    app.extensions[EXTENSION_KEY] = instance


def build_app(config: Config) -> QuartTrio:
    """The Quart-Trio app with every route, serving no instance yet (see ``attach``)."""
    app = QuartTrio("trimap")
    app.config["MAX_CONTENT_LENGTH"] = config.api_max_size
    app.json.sort_keys = False  # type: ignore[attr-defined]
    register_error_handlers(app)

    @app.before_request
    async def refuse_oversized_bodies() -> None:
        """Bodies announced larger than api.maxSize are refused before routing or reading."""
        length = request.content_length
        if length is not None and length > config.api_max_size:
            raise RequestEntityTooLarge()

    app.register_blueprint(health.blueprint)
    app.register_blueprint(accounts.blueprint)
    app.register_blueprint(events.blueprint)
    app.register_blueprint(settings.blueprint)
    app.register_blueprint(webhooks.blueprint)
    app.register_blueprint(stream.blueprint)
    app.register_blueprint(content.blueprint)
    app.register_blueprint(logs.blueprint)
    app.register_blueprint(stats.blueprint)
    app.register_blueprint(verify.blueprint)
    app.register_blueprint(mailboxes.blueprint)
    app.register_blueprint(messages.blueprint)
    app.register_blueprint(message_actions.blueprint)
    app.register_blueprint(upload.blueprint)
    app.register_blueprint(openapi.blueprint)
    app.register_blueprint(submit.blueprint)
    return app
