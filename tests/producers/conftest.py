"""Producer test fixtures: a random topic prefix on the real broker, cleaned up after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from feedback.settings import Settings
from tests.producers.helpers import kafka_topics


@pytest.fixture
def ingest_settings(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """The session's settings under a random topic prefix (topics created, then deleted),
    writing rejects files under ``tmp_path``."""
    with kafka_topics(settings, rejects_dir=tmp_path / "rejects") as isolated:
        yield isolated
