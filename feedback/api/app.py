"""Build the FastAPI application: settings on ``app.state``, one error handler, the routers.

Every route needs an API key (``feedback.api.deps.require_caller``) except the webhook, which
checks its own HMAC signature, and the page, which answers 401 without a key (see
``routes/page.py``). FastAPI's own ``/docs`` and ``/redoc`` are off (they load from a CDN);
``/openapi.json`` is served by ``routes/schema.py`` behind a key.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI

from feedback.api.deps import require_caller
from feedback.api.errors import install_error_handler
from feedback.api.routes import alerts, feedback_item, ingest, page, schema, search, trends
from feedback.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings) -> FastAPI:
    """The HTTP service for ``feedback serve``; nothing is built at import time.

    >>> from fastapi.testclient import TestClient  # doctest: +SKIP
    >>> TestClient(create_app(get_settings())).get("/search").status_code  # doctest: +SKIP
    401
    """
    app = FastAPI(title="feedback pipeline", version="0.1.0", openapi_url=None, docs_url=None, redoc_url=None)
    app.state.settings = settings
    install_error_handler(app)
    keyed = [Depends(require_caller)]
    app.include_router(ingest.router)
    app.include_router(search.router, dependencies=keyed)
    app.include_router(feedback_item.router, dependencies=keyed)
    app.include_router(trends.router, dependencies=keyed)
    app.include_router(alerts.router, dependencies=keyed)
    app.include_router(schema.router, dependencies=keyed)
    app.include_router(page.router)
    return app
