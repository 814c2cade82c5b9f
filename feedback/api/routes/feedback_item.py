"""``GET /feedback/{id}``: one item with its classification and routing explanation."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from feedback.api.deps import SettingsDep
from feedback.api.routes.search import es_client
from sinks.search import FeedbackItem, get_feedback

__all__ = ["router"]

router = APIRouter(tags=["search"])


@router.get("/feedback/{feedback_id}", response_model=FeedbackItem, responses={404: {"description": "no such item"}})
async def feedback_item(feedback_id: str, request: Request, settings: SettingsDep) -> FeedbackItem | JSONResponse:
    """The indexed item, its labels, and which routing rule sent it to which department."""
    item = await run_in_threadpool(get_feedback, es_client(request), feedback_id, prefix=settings.es.index_prefix)
    if item is None:
        return JSONResponse(status_code=404, content={
            "detail": f"no feedback with id {feedback_id!r} in the indexes under {settings.es.index_prefix!r}; "
                      "take ids from GET /search"})
    return item
