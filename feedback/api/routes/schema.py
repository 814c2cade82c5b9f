"""``GET /openapi.json``: the OpenAPI schema, behind a key like the data routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

__all__ = ["router"]

router = APIRouter(tags=["schema"])


@router.get("/openapi.json", include_in_schema=False)
async def openapi_schema(request: Request) -> dict[str, Any]:
    """The schema FastAPI builds from the routers (security schemes included)."""
    schema: dict[str, Any] = request.app.openapi()
    return schema
