"""``feedback search`` and ``feedback trends`` end to end: the Typer commands against the
real Elasticsearch holding the real-text corpus."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from feedback.cli import app
from feedback.cli.search import bidi_isolate, marks_to_rich, sparkline
from feedback.schema import ClassifiedFeedback
from feedback.settings import Settings
from tests.sinks.search_corpus import indexed_corpus

Corpus = tuple[Settings, Elasticsearch, list[ClassifiedFeedback]]


@pytest.fixture(scope="module")
def corpus(settings: Settings) -> Iterator[Corpus]:
    with indexed_corpus(settings) as c:
        yield c


def _invoke(corpus: Corpus, *args: str) -> tuple[int, str]:
    env = {"FEEDBACK_ES_INDEX_PREFIX": corpus[0].es.index_prefix,
           "FEEDBACK_KAFKA_BOOTSTRAP": corpus[0].kafka_bootstrap, "COLUMNS": "160"}
    if corpus[0].es.url:  # the local node stays unset: the CLI then logs in with the local users
        env["FEEDBACK_ES_URL"] = corpus[0].es.url
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout


def test_terminal_helpers() -> None:
    assert bidi_isolate("سرد بود").startswith("\u2067") and bidi_isolate("cold") == "cold"
    assert marks_to_rich("you&#x27;ve <mark>lost</mark> [it]") == "you've [bold black on yellow]lost[/] \\[it]"
    assert sparkline([0, 0]) == "▁▁" and sparkline([1, 4]) == "▂█"


@pytest.mark.integration
def test_search_json_with_filters(corpus: Corpus) -> None:
    code, out = _invoke(corpus, "search", "luggage", "--department", "logistics,triage", "--sentiment", "negative",
                        "--size", "50", "--json")
    assert code == 0, out
    body = json.loads(out)
    expected = {d.event.id for d in corpus[2] if "luggage" in d.redacted_text.lower()
                and d.department in ("logistics", "triage") and d.sentiment.label == "negative"}
    assert {h["id"] for h in body["hits"]} == expected and expected


@pytest.mark.integration
def test_search_table_shows_persian_right_to_left_with_highlights(corpus: Corpus) -> None:
    code, out = _invoke(corpus, "search", "كيفيت", "--language", "fa", "--size", "3")
    assert code == 0, out
    assert "result(s) for 'کیفیت'" in out
    assert "\u2067" in out and "کیفیت" in out


@pytest.mark.integration
def test_trends_json_counts(corpus: Corpus) -> None:
    code, out = _invoke(corpus, "trends", "--since", "2026-03-02T00:00Z", "--until", "2026-03-04T00:00Z",
                        "--interval", "1d", "--json")
    assert code == 0, out
    body = json.loads(out)
    lo, hi = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC)
    counts = Counter(d.topic.label for d in corpus[2] if lo <= d.event.received_at < hi)
    assert {t["topic"]: t["total"] for t in body["trends"]["topics"] if t["total"]} == dict(counts)
    assert isinstance(body["alerts"], list)


@pytest.mark.integration
def test_trends_table_has_sparklines(corpus: Corpus) -> None:
    code, out = _invoke(corpus, "trends", "--since", "2026-03-01T00:00Z", "--until", "2026-03-09T00:00Z",
                        "--interval", "1d", "--department", "logistics")
    assert code == 0, out
    assert "delivery_shipping" in out and any(c in out for c in "▁▂▃▄▅▆▇█")


@pytest.mark.integration
def test_a_bad_page_size_is_one_clear_error(corpus: Corpus) -> None:
    env = {"FEEDBACK_ES_INDEX_PREFIX": corpus[0].es.index_prefix}
    result = CliRunner().invoke(app, ["search", "x", "--size", "1000"], env=env)
    assert result.exit_code != 0
    assert "at most 100" in str(result.exception)
