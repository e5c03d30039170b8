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
from trimap.runtime import Runtime

__all__ = ["create_app"]


def create_app(instance: Runtime) -> QuartTrio:
    """The Quart-Trio app serving ``instance``."""
    app = QuartTrio("trimap")
    app.config["MAX_CONTENT_LENGTH"] = instance.config.api_max_size
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[EXTENSION_KEY] = instance
    register_error_handlers(app)

    @app.before_request
    async def refuse_oversized_bodies() -> None:
        """Bodies announced larger than api.maxSize are refused before routing or reading."""
        length = request.content_length
        if length is not None and length > instance.config.api_max_size:
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
