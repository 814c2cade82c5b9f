"""One exception hierarchy for the whole project.

Every error a user or an operator can see derives from :class:`FeedbackError`. Each
carries the facts a dead-letter record or a log line needs (``stage``, ``source``,
``offset``) and a message that says what was expected, what was found and what to do.
The CLI catches :class:`FeedbackError` in one place and prints ``str(error)`` on one line.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "FeedbackError",
    "InvalidInput",
    "ModelNotFound",
    "ServiceError",
    "SinkUnavailable",
]


class FeedbackError(Exception):
    """Root of every error this project raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        stage: str | None = None,
        source: str | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.stage = stage
        self.source = source
        self.offset = offset

    def __str__(self) -> str:
        # One line, always: the CLI prints this verbatim.
        return " ".join(self.message.split())


class ConfigError(FeedbackError):
    """A setting or a configuration file is invalid; the message names the field."""


class InvalidInput(FeedbackError):
    """An input record cannot be turned into an event; it goes to the DLQ / rejects."""


class ModelNotFound(FeedbackError):
    """A model or model artifact is missing; the message names the path or model id."""


class ServiceError(FeedbackError):
    """Kafka or Elasticsearch cannot be provisioned, started, stopped or reached."""


class SinkUnavailable(FeedbackError):
    """The sink is down for now; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float = 1.0, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after
