"""``GET /feedback/{id}``: one item with its classification and routing explanation.

An item of a department outside the caller's key answers 404 like a missing one, so a key
cannot learn that another department's item exists.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from feedback.api.deps import CallerDep, EsDep, SettingsDep
from sinks.search import FeedbackItem, get_feedback

__all__ = ["router"]

router = APIRouter(tags=["search"])


@router.get("/feedback/{feedback_id}", response_model=FeedbackItem, responses={404: {"description": "no such item"}})
async def feedback_item(feedback_id: str, settings: SettingsDep, caller: CallerDep, es: EsDep) -> FeedbackItem | JSONResponse:
    """The indexed item, its labels, and which routing rule sent it to which department."""
    item = await run_in_threadpool(get_feedback, es, feedback_id, prefix=settings.es.index_prefix)
    if item is None or not caller.may_read(item.department):
        return JSONResponse(status_code=404, content={
            "detail": f"no feedback with id {feedback_id!r} in the departments of this API key; "
                      "take ids from GET /search"})
    return item
