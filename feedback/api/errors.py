"""The one place that maps :class:`~feedback.errors.FeedbackError` to HTTP answers."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from feedback.errors import ConfigError, FeedbackError, InvalidInput, ModelNotFound, ServiceError, SinkUnavailable

__all__ = ["install_error_handler", "status_for"]

log = logging.getLogger(__name__)


def status_for(error: FeedbackError) -> int:
    """The HTTP status of an error: bad input 400, a service down 503, anything else 500.

    >>> status_for(InvalidInput("x"))
    400
    """
    if isinstance(error, InvalidInput):
        return 400
    if isinstance(error, (ServiceError, SinkUnavailable)):
        return 503
    if isinstance(error, (ConfigError, ModelNotFound)):
        return 500
    return 500


def install_error_handler(app: FastAPI) -> None:
    """Answer every FeedbackError as ``{"detail": "<one-line message>"}`` with its status."""

    async def handle(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, FeedbackError)
        status = status_for(error)
        if status >= 500:
            log.error("request failed status=%d: %s", status, error)
        return JSONResponse(status_code=status, content={"detail": str(error)})

    app.add_exception_handler(FeedbackError, handle)
