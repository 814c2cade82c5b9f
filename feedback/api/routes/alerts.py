"""``GET /alerts``: the spikes currently flagged on the alerts topic, for the caller's departments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from feedback.alerts import open_alerts, read_alerts
from feedback.api.deps import CallerDep, SettingsDep, scoped_departments
from feedback.schema import Alert
from feedback.times import parse_duration

__all__ = ["OpenAlerts", "router"]

router = APIRouter(tags=["trends"])


class OpenAlerts(BaseModel):
    since: datetime
    alerts: list[Alert]


@router.get("/alerts", response_model=OpenAlerts, responses={403: {"description": "a department outside the key"}})
async def get_alerts(
    settings: SettingsDep,
    caller: CallerDep,
    within: Annotated[str, Query(description="how far back an alert stays open: 1h, 24h, 7d")] = "24h",
    department: str | None = None,
) -> OpenAlerts:
    """The latest alert per department and topic raised within ``within``, newest first."""
    scope = scoped_departments(caller, [department] if department else [])
    keep = parse_duration(within)
    now = datetime.now(UTC)
    found = await run_in_threadpool(read_alerts, settings, since=now - keep)
    alerts = [a for a in open_alerts(found, now=now, keep=keep) if not scope or a.department in scope]
    return OpenAlerts(since=now - keep, alerts=alerts)
