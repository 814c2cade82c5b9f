"""Build the FastAPI application: settings on ``app.state``, one error handler, the routers."""

from __future__ import annotations

from fastapi import FastAPI

from feedback.api.errors import install_error_handler
from feedback.api.routes import ingest
from feedback.api.routes import alerts, feedback_item, page, search, trends
from feedback.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings) -> FastAPI:
    """The HTTP service for ``feedback serve``; nothing is built at import time.

    >>> from fastapi.testclient import TestClient  # doctest: +SKIP
    >>> TestClient(create_app(get_settings())).post("/ingest/social", content=b"{}").status_code  # doctest: +SKIP
    400
    """
    app = FastAPI(title="feedback pipeline", version="0.1.0")
    app.state.settings = settings
    install_error_handler(app)
    app.include_router(ingest.router)
    app.include_router(search.router)
    app.include_router(feedback_item.router)
    app.include_router(trends.router)
    app.include_router(alerts.router)
    app.include_router(page.router)
    return app
