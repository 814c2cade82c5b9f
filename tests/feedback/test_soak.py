"""The fault soak CI runs: >= 2,000 real sample events, every fault kind once, nothing lost,
nothing doubled, no stall (real Kafka, real Elasticsearch, real worker processes)."""

from __future__ import annotations

import pytest

from feedback.cli.soak_run import FAULTS, run_soak
from feedback.settings import Settings
from tests.conftest import REPO

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.restarts_services]


def test_a_soak_with_every_fault_loses_doubles_and_stalls_nothing(settings: Settings) -> None:
    if not (settings.manages_es and settings.manages_kafka):
        pytest.skip("the soak stops and starts the local services; these settings point at external ones")
    report = run_soak(settings, events=2000, faults=list(FAULTS), es_outage=60.0)
    detail = report.model_dump_json(indent=1)
    artifacts = REPO / "test-artifacts"
    if artifacts.is_dir():  # scripts/test.sh makes it: CI keeps the soak's report
        (artifacts / "soak.json").write_text(detail)
    assert report.produced == 2000 + report.poison, detail
    assert report.lost == 0, detail
    assert report.doubled == 0, detail
    # No stall: lag never went without progress longer than the outage plus the watchdog's limit.
    assert report.longest_no_progress_s <= settings.stream.stall_timeout + 60.0, detail
    assert report.restarts >= 2, detail  # the kill and the clean restart at least
