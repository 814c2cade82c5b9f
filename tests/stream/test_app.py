"""The Faust app's shape: what it declares decides which Faust machinery runs."""

from __future__ import annotations

from collections.abc import Sequence

from feedback.protocols import IndexFailure
from feedback.schema import Classification, ClassifiedFeedback
from feedback.settings import Settings
from stream.app import build_app
from stream.routing import load_routing


class _NoClassifier:
    model_version = "none"

    def classify_batch(self, texts: Sequence[str], *, ratings: Sequence[int | None] | None = None) -> list[Classification]:
        raise AssertionError("not called")


class _NoSink:
    async def write(self, items: Sequence[ClassifiedFeedback]) -> list[IndexFailure]:
        raise AssertionError("not called")

    async def close(self) -> None:
        return None


def test_the_pipeline_app_has_no_tables_so_no_changelog_recovery_can_stall_it(tmp_path: object) -> None:
    # faust-streaming 0.15's table recovery drops records from the agents' queues when it
    # resumes the partitions (issue #12): the classify/index app must hold no tables.
    app, _ = build_app(Settings(), classifier=_NoClassifier(), sink=_NoSink(), routing=load_routing(None))
    assert list(app.tables.keys()) == []
    assert sorted(app.agents) == ["classify", "index"]
