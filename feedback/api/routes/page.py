"""``GET /``: the web page (search, trends chart, open alerts) and its static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

__all__ = ["STATIC", "router"]

STATIC = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(tags=["page"])


@router.get("/", include_in_schema=False, response_model=None)
async def index() -> FileResponse:
    """The single page; everything it needs is under /static (no CDN)."""
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")


@router.get("/static/{name}", include_in_schema=False, response_model=None)
async def static_file(name: str) -> FileResponse | JSONResponse:
    """Only files that ship in feedback/api/static (no subfolders, no path tricks)."""
    allowed = {p.name: p for p in STATIC.iterdir() if p.is_file()}
    if name not in allowed:
        return JSONResponse(status_code=404, content={"detail": f"no static file {name!r}; expected one of "
                                                                f"{', '.join(sorted(allowed))}"})
    return FileResponse(allowed[name])
