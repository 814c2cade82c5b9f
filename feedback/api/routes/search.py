"""``GET /search``: full-text search with the filters of ``feedback search``, within the
departments of the caller's key (a ``department`` outside them is 403).

The Elasticsearch client is built once per app (``feedback.api.deps.es_client``) and closed
at shutdown.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from elasticsearch import Elasticsearch
from fastapi import APIRouter, FastAPI, Query
from fastapi.concurrency import run_in_threadpool

from feedback.api.deps import CallerDep, EsDep, SettingsDep, scoped_departments
from feedback.times import parse_time
from sinks.search import SearchFilters, SearchPage, SearchRequest, search

__all__ = ["router"]

log = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    client: Elasticsearch | None = getattr(app.state, "es", None)
    if client is not None:
        client.close()


router = APIRouter(tags=["search"], lifespan=_lifespan)


Many = Annotated[list[str] | None, Query()]


@router.get("/search", response_model=SearchPage, responses={403: {"description": "a department outside the key"}})
async def search_feedback(
    settings: SettingsDep,
    caller: CallerDep,
    es: EsDep,
    q: Annotated[str, Query(description="words to find; Persian letter variants and digits are folded")] = "",
    department: Annotated[list[str] | None, Query(description="only these of the key's departments")] = None,
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
    """Search the feedback routed to the key's departments; results carry ``<mark>`` highlights."""
    filters = SearchFilters(
        department=scoped_departments(caller, department or []), channel=channel or [], sentiment=sentiment or [],
        topic=topic or [], language=language or [], urgency=urgency or [],
        since=parse_time(since) if since else None, until=parse_time(until) if until else None,
    )
    req = SearchRequest(query=q, filters=filters, sort=sort, page=page, size=size)
    return await run_in_threadpool(
        search, es, req, prefix=settings.es.index_prefix, max_page_size=settings.api.max_page_size
    )
