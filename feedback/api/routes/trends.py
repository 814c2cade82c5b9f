"""``GET /trends``: topic × sentiment counts over time and the change vs the previous period."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from feedback.api.deps import SettingsDep
from feedback.api.routes.search import es_client
from feedback.times import parse_time
from sinks.trends import Trends, TrendsRequest, trends

__all__ = ["router"]

router = APIRouter(tags=["trends"])


@router.get("/trends", response_model=Trends)
async def get_trends(
    request: Request,
    settings: SettingsDep,
    since: Annotated[str, Query(description="ISO 8601 time or a duration ago (7d, 24h)")] = "7d",
    until: Annotated[str, Query(description="ISO 8601 time, 'now' or a duration ago")] = "now",
    interval: Annotated[str, Query(description="bucket width: 15m, 1h, 1d")] = "1d",
    department: str | None = None,
    topic: str | None = None,
) -> Trends:
    """Counts per topic, sentiment and interval in ``[since, until)``, with the previous period's totals."""
    now = datetime.now(UTC)
    req = TrendsRequest(since=parse_time(since, now=now), until=parse_time(until, now=now), interval=interval,
                        department=department or None, topic=topic or None)
    return await run_in_threadpool(trends, es_client(request), req, prefix=settings.es.index_prefix)
