"""One APIRouter per resource; ``feedback.api.app.create_app`` includes them."""

from feedback.api.routes import alerts, feedback_item, ingest, page, schema, search, trends

__all__ = ["alerts", "feedback_item", "ingest", "page", "schema", "search", "trends"]
