"""`feedback worker` itself against the real stack: what it indexes, where its alerts go,
and its stop conditions.

One worker run (module fixture) takes a burst of 30 deliveries that carry personal data,
plus a chat whose agent turn repeats the customer's contacts. (Alert delivery to
``FEEDBACK_STREAM_ALERT_WEBHOOK`` is checked by the share-based spike test in
test_pipeline_integration.py, which raises a real alert.)
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from feedback.cli.wiring import department_aliases
from feedback.schema import Channel, FeedbackEvent, make_event_id, utcnow
from feedback.settings import Settings
from producers import ingest_paths
from tests.conftest import isolated_stack
from tests.feedback.test_alert_webhook import Receiver
from tests.stream.helpers import alerts, indexed_docs, log_tail, produce_raw, start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Personal data the pipeline must never index: e-mail, Iranian mobile, a Luhn-valid card.
EMAIL, PHONE, CARD = "jane.doe@example.com", "+98 912 345 6789", "4111 1111 1111 1111"
SECRETS = (EMAIL, "jane.doe", "912 345 6789", "9123456789", CARD, "4111111111111111", "ORIGINAL-ONLY")
BURST = 30


@dataclass
class Run:
    settings: Settings
    ids: list[str]
    docs: list[dict[str, Any]]
    receiver: Receiver
    returncode: int
    log: str


def _burst_event(n: int) -> FeedbackEvent:
    ext = f"burst-{uuid.uuid4().hex[:8]}-{n}"
    text = (f"My order #{1000 + n} still has not been delivered, the shipment is two weeks late. "
            f"Mail me at {EMAIL} or call {PHONE}; I paid with card {CARD}.")
    return FeedbackEvent(id=make_event_id("social", "tests", ext), channel=Channel("social"), source="tests",
                         external_id=ext, received_at=utcnow(), text=text, subject=f"Late order, {EMAIL}",
                         original_text=f"ORIGINAL-ONLY <p>{text}</p>")


@pytest.fixture(scope="module")
def run(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("worker")
    receiver = Receiver()
    with isolated_stack(settings) as s:
        try:
            events = [_burst_event(n) for n in range(BURST)]
            produce_raw(s, "social", [(e.id.encode(), e.model_dump_json().encode()) for e in events])
            chat = tmp / "chat.jsonl"
            chat.write_text(json.dumps({"conversation_id": f"pii-{uuid.uuid4().hex[:8]}", "customer_id": "c-1",
                                        "messages": [
                {"role": "customer", "text": f"Refund please, reach me at {EMAIL}", "timestamp": "2026-11-02T09:00:00Z"},
                {"role": "agent", "text": f"Noted: we will call {PHONE} and write to {EMAIL}",
                 "timestamp": "2026-11-02T09:01:00Z"}]}) + "\n")
            report = ingest_paths("chat", [chat], s)
            assert report.ok, report
            ids = [e.id for e in events] + report.event_ids
            worker = start_worker(s, tmp, "--idle", "15", "--timeout", "400", FEEDBACK_STREAM_METRICS_PORT="0")
            aliases = department_aliases(s)
            try:
                wait_for(lambda: set(ids) <= {d["_id"] for d in indexed_docs(s, aliases)}, timeout=400,
                         what=f"indexing\n{log_tail(tmp)}")
            finally:
                code = stop_worker(worker)
            yield Run(s, ids, indexed_docs(s, aliases), receiver, code, log_tail(tmp, lines=200))
        finally:
            receiver.close()


def test_indexed_documents_carry_no_personal_data_and_no_original_text(run: Run) -> None:
    assert sorted(d["_id"] for d in run.docs) == sorted(run.ids)
    for doc in run.docs:
        source = json.dumps(doc, ensure_ascii=False)
        leaked = [s for s in SECRETS if s in source]
        assert not leaked, f"{doc['_id']} ({doc['channel']}) indexed {leaked}: {source[:600]}"
        assert "original_text" not in doc
    burst = [d for d in run.docs if d["channel"] == "social"]
    assert all("[EMAIL]" in d["text"] and "[PHONE]" in d["text"] and "[CARD]" in d["text"] for d in burst)
    assert all(d["subject"] == "Late order, [EMAIL]" for d in burst)
    [chat] = [d for d in run.docs if d["channel"] == "chat"]
    assert chat["text"] == "Refund please, reach me at [EMAIL]"


def test_worker_stops_by_itself_after_max_events(isolated_settings: Settings, tmp_path: Path) -> None:
    events = [_burst_event(n) for n in range(6)]
    produce_raw(isolated_settings, "social", [(e.id.encode(), e.model_dump_json().encode()) for e in events])
    started = time.monotonic()
    worker = start_worker(isolated_settings, tmp_path, "--max-events", "6", "--timeout", "240")
    try:
        code = worker.wait(timeout=300)
    finally:
        stop_worker(worker)
    elapsed = time.monotonic() - started
    log = log_tail(tmp_path, lines=200)
    assert code == 0, log
    assert "worker stopping: max_events=6 reached" in log, log
    assert elapsed < 240, f"stopped by the timeout, not by --max-events ({elapsed:.0f}s)"
    docs = indexed_docs(isolated_settings, department_aliases(isolated_settings))
    assert sorted(d["_id"] for d in docs) == sorted(e.id for e in events)
