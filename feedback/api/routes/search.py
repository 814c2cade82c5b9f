"""``GET /search``: full-text search with the filters of ``feedback search``.

The Elasticsearch client is built once per app (on first use) and closed at shutdown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from elasticsearch import Elasticsearch
from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool

from feedback.api.deps import SettingsDep
from feedback.times import parse_time
from sinks import make_client
from sinks.search import SearchFilters, SearchPage, SearchRequest, search

__all__ = ["es_client", "router"]

log = logging.getLogger(__name__)
_lock = threading.Lock()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    client: Elasticsearch | None = getattr(app.state, "search_es", None)
    if client is not None:
        client.close()


router = APIRouter(tags=["search"], lifespan=_lifespan)


def es_client(request: Request) -> Elasticsearch:
    """The app's one synchronous Elasticsearch client (thread-safe; used from the threadpool)."""
    app = request.app
    with _lock:
        client: Elasticsearch | None = getattr(app.state, "search_es", None)
        if client is None:
            settings = app.state.settings
            client = make_client(settings.es_url, settings=settings.es, principal="api")
            app.state.search_es = client
        return client


Many = Annotated[list[str] | None, Query()]


@router.get("/search", response_model=SearchPage)
async def search_feedback(
    request: Request,
    settings: SettingsDep,
    q: Annotated[str, Query(description="words to find; Persian letter variants and digits are folded")] = "",
    department: Many = None,
    channel: Many = None,
    sentiment: Many = None,
    topic: Many = None,
    language: Many = None,
    urgency: Many = None,
    since: Annotated[str | None, Query(description="ISO 8601 time or a duration ago (7d, 2h)")] = None,
    until: Annotated[str | None, Query(description="ISO 8601 time or a duration ago")] = None,
    sort: Literal["relevance", "time"] = "relevance",
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, description="at most settings.api.max_page_size")] = 20,
) -> SearchPage:
    """Search the feedback routed to the departments; results carry ``<mark>`` highlights."""
    filters = SearchFilters(
        department=department or [], channel=channel or [], sentiment=sentiment or [], topic=topic or [],
        language=language or [], urgency=urgency or [],
        since=parse_time(since) if since else None, until=parse_time(until) if until else None,
    )
    req = SearchRequest(query=q, filters=filters, sort=sort, page=page, size=size)
    es = es_client(request)
    return await run_in_threadpool(
        search, es, req, prefix=settings.es.index_prefix, max_page_size=settings.api.max_page_size
    )
