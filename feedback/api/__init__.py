"""The HTTP API (FastAPI): one router module per resource under ``feedback.api.routes``."""

from feedback.api.app import create_app

__all__ = ["create_app"]
