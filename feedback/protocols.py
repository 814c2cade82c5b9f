"""The interfaces the wiring (CLI, API) passes into the stages.

Stages depend on these Protocols, never on each other's classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from feedback.schema import Classification

__all__ = ["Classifier"]


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
