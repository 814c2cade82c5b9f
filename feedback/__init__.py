"""Core package: the event schema, settings, errors, text normalisation, CLI and API."""

from feedback.errors import FeedbackError
from feedback.schema import ClassifiedFeedback, FeedbackEvent
from feedback.settings import Settings, get_settings

__all__ = ["ClassifiedFeedback", "FeedbackError", "FeedbackEvent", "Settings", "get_settings"]
