"""``GET /``: the web page (search, trends chart, open alerts), one self-contained document.

A browser cannot send a header on a plain navigation, and the page keeps the key in
``sessionStorage`` only, so the page is the same document with or without a key: its CSS and
script are inlined (no other route serves files) and it holds no data. Without a valid key it
answers 401 (the browser still shows it, and it asks for the key); every data request the page
makes then carries ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from feedback.api.deps import key_store

__all__ = ["STATIC", "page_html", "router"]

STATIC = Path(__file__).resolve().parents[1] / "static"

router = APIRouter(tags=["page"])

_bearer = HTTPBearer(auto_error=False)
_header = APIKeyHeader(name="X-API-Key", auto_error=False)


@lru_cache(maxsize=1)
def page_html() -> str:
    """index.html with style.css and app.js inlined (read once)."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    css = (STATIC / "style.css").read_text(encoding="utf-8")
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    link = '<link rel="stylesheet" href="/static/style.css">'
    tag = '<script src="/static/app.js"></script>'
    if link not in html or tag not in html:
        raise RuntimeError(f"{STATIC / 'index.html'} lost its stylesheet link or script tag; the page cannot be built")
    return html.replace(link, f"<style>\n{css}</style>").replace(tag, f"<script>\n{script}</script>")


@router.get("/", include_in_schema=False, response_model=None)
async def index(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header: Annotated[str | None, Depends(_header)],
) -> HTMLResponse:
    """The page: 200 for a valid key, else 401 with the same page, which asks for the key."""
    key = (bearer.credentials if bearer is not None else None) or header
    known = key is not None and key_store(request).authenticate(key.strip()) is not None
    return HTMLResponse(page_html(), status_code=200 if known else 401,
                        headers=None if known else {"WWW-Authenticate": "Bearer"})
