"""The interfaces the wiring (CLI, API) passes into the stages.

Stages depend on these Protocols, never on each other's classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from feedback.schema import Classification, ClassifiedFeedback

__all__ = ["AsyncIndexSink", "Classifier", "IndexFailure", "TopicVolumes"]


class IndexFailure(BaseModel):
    """A document the search index refused for itself (not a transient outage)."""

    event_id: str
    reason: str
    status: int | None = None


@runtime_checkable
class AsyncIndexSink(Protocol):
    """Writes classified records to the search index.

    ``write`` retries transient failures (429, 5xx, connection errors) and waits while the
    index is down, so it returns only when every document was accepted or refused for
    itself; the refused ones come back as :class:`IndexFailure`.
    """

    async def write(self, items: Sequence[ClassifiedFeedback]) -> list[IndexFailure]: ...

    async def close(self) -> None: ...


@runtime_checkable
class Classifier(Protocol):
    """Classifies texts in batches; implementations are thread-safe."""

    @property
    def model_version(self) -> str: ...

    def classify_batch(
        self, texts: Sequence[str], *, ratings: Sequence[int | None] | None = None
    ) -> list[Classification]:
        """One :class:`Classification` per text, in order (always a list)."""
        ...


@runtime_checkable
class TopicVolumes(Protocol):
    """Event counts per ``received_at`` window, department and topic, and alert claims.

    ``claim`` returns True only for the first caller that claims a key, across workers
    and restarts, so every alert is raised once.
    """

    async def counts(self, *, since: float, until: float, size: int) -> dict[float, dict[str, dict[str, int]]]: ...

    async def raised(self, key: str) -> bool: ...

    async def claim(self, key: str) -> bool: ...

    async def close(self) -> None: ...
