"""``GET /trends``: topic × sentiment counts over time and the change vs the previous period,
over the departments of the caller's key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from feedback.api.deps import CallerDep, EsDep, SettingsDep, scoped_departments
from feedback.times import parse_time
from sinks.trends import Trends, TrendsRequest, trends

__all__ = ["router"]

router = APIRouter(tags=["trends"])


@router.get("/trends", response_model=Trends, responses={403: {"description": "a department outside the key"}})
async def get_trends(
    settings: SettingsDep,
    caller: CallerDep,
    es: EsDep,
    since: Annotated[str, Query(description="ISO 8601 time or a duration ago (7d, 24h)")] = "7d",
    until: Annotated[str, Query(description="ISO 8601 time, 'now' or a duration ago")] = "now",
    interval: Annotated[str, Query(description="bucket width: 15m, 1h, 1d")] = "1d",
    department: str | None = None,
    topic: str | None = None,
) -> Trends:
    """Counts per topic, sentiment and interval in ``[since, until)``, with the previous period's totals."""
    scope = scoped_departments(caller, [department] if department else [])
    now = datetime.now(UTC)
    req = TrendsRequest(since=parse_time(since, now=now), until=parse_time(until, now=now), interval=interval,
                        department=department or None, topic=topic or None, scope=scope)
    return await run_in_threadpool(trends, es, req, prefix=settings.es.index_prefix)
