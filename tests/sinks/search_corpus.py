"""Real feedback texts (shared datasets) as classified records, indexed through the sink's
own template, aliases and ``to_document`` — the documents the search and trends tests query.

English: airline tweets (social); Persian: Snappfood app reviews. Sentiment is the dataset's
human label; topic and department follow fixed rules below, so tests can recompute every
expected count from :data:`records` alone.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from elasticsearch import Elasticsearch

from classifiers import datasets_dir
from feedback.schema import ClassifiedFeedback, FeedbackEvent, Label, make_event_id
from feedback.settings import EsSettings, Settings
from feedback.text import normalise
from sinks import IndexWriter, alias_name, make_client, ensure_department_indexes, template_name

LOCAL = Path(__file__).resolve().parents[2] / "samples"
T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
STEP = timedelta(minutes=37)
PER_LANGUAGE = 150

# topic -> department index (as feedback/config/routing.yaml ships it)
DEPARTMENTS = {
    "customer_service": "customer_success", "delivery_shipping": "logistics", "orders_cancellation": "orders",
    "product_quality": "product", "praise": "customer_success", "other": "triage",
}
INDEX_OF = {"customer_success": "customer-success", "logistics": "logistics", "orders": "orders",
            "product": "product", "triage": "triage"}
_AIRLINE = {"Customer Service Issue": "customer_service", "Late Flight": "delivery_shipping",
            "Lost Luggage": "delivery_shipping", "Cancelled Flight": "orders_cancellation"}
# Rows whose words the relevance tests ask for; always part of the corpus.
_MUST = {"lost luggage", "bag", "سرد", "پیک", "کیفیت"}


def _rows(name: str) -> list[dict[str, str]]:
    path = datasets_dir() / name / "dev.csv"
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _topic_en(row: dict[str, str]) -> str:
    if row["sentiment"] == "positive":
        return "praise"
    return _AIRLINE.get(row["negativereason"], "other")


def _topic_fa(text: str) -> str:
    if "پیک" in text or "دیر" in text or "سرد" in text:
        return "delivery_shipping"
    return "product_quality" if "کیفیت" in text or "طعم" in text else "other"


def _record(i: int, *, row: dict[str, str], topic: str, channel: str) -> ClassifiedFeedback:
    text = normalise(row["text"])
    event = FeedbackEvent(
        id=make_event_id(channel, "dataset", row["id"]), channel=channel,  # type: ignore[arg-type]
        source="dataset", external_id=row["id"], received_at=T0 + i * STEP, text=text, original_text=row["text"],
    )
    sentiment = row["sentiment"] if row["sentiment"] in ("positive", "negative", "neutral") else "neutral"
    department = DEPARTMENTS[topic]
    return ClassifiedFeedback(
        event=event, language=row["lang"], sentiment=Label(label=sentiment, score=0.9),
        topic=Label(label=topic, score=0.8), urgency="high" if "!!" in text else "normal",
        department=department, routing_rule=f"topic:{topic}", redacted_text=text, model_version="corpus-1",
        classified_at=T0 + i * STEP + timedelta(seconds=3),
    )


def _pick(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    chosen = [r for r in rows if any(w in normalise(r["text"]).lower() for w in _MUST)][: PER_LANGUAGE // 3]
    ids = {r["id"] for r in chosen}
    chosen += [r for r in rows if r["id"] not in ids][: PER_LANGUAGE - len(chosen)]
    return chosen


@lru_cache(maxsize=1)
def records() -> tuple[ClassifiedFeedback, ...]:
    """300 records: 150 English tweets and 150 Persian reviews, interleaved in time."""
    en = _pick(_rows("airline-tweets"))
    fa = _pick(_rows("snappfood-fa"))
    out: list[ClassifiedFeedback] = []
    for i, (a, b) in enumerate(zip(en, fa)):
        out.append(_record(2 * i, row=a, topic=_topic_en(a), channel="social"))
        out.append(_record(2 * i + 1, row=b, topic=_topic_fa(normalise(b["text"])), channel="app_review"))
    return tuple(out)


def index_corpus(es: Elasticsearch, *, url: str, settings: EsSettings, prefix: str) -> list[ClassifiedFeedback]:
    """Create the department indexes under ``prefix`` and index :func:`records` (refreshed)."""
    docs = list(records())
    ensure_department_indexes(es, prefix=prefix, departments=sorted(set(INDEX_OF.values())))
    writer = IndexWriter(url, settings=settings, client=es)
    failures = writer.write(docs, index_for=lambda d: alias_name(prefix, INDEX_OF[d.department]), refresh=True)
    assert failures == [], failures
    return docs


@contextmanager
def indexed_corpus(settings: Settings) -> Iterator[tuple[Settings, Elasticsearch, list[ClassifiedFeedback]]]:
    """The corpus indexed under a random index prefix; yields (settings with that prefix, client, records).

    The indexes and the template made under the prefix are deleted afterwards.
    """
    prefix = f"t{uuid.uuid4().hex[:10]}"
    es = make_client(settings.es_url, settings=settings.es, principal="ops")
    try:
        docs = index_corpus(es, url=settings.es_url, settings=settings.es, prefix=prefix)
        yield settings.model_copy(update={"es": settings.es.model_copy(update={"index_prefix": prefix})}), es, docs
    finally:
        names = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all", ignore_unavailable=True))
        if names:
            es.indices.delete(index=",".join(names))
        es.options(ignore_status=404).indices.delete_index_template(name=template_name(prefix))
        es.close()
