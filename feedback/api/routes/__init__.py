"""One APIRouter per resource; ``feedback.api.app.create_app`` includes them."""

from feedback.api.routes import ingest

__all__ = ["ingest"]
