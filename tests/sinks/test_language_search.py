"""Persian and English analysis on the real node: the feedback-analysis plugin's analyzers,
the template's ``.fa`` / ``.en`` subfields and a search that finds inflected forms.

Each search test indexes the same small corpus twice, once with the analyzers the node
has (the plugin) and once with the template as it was before them (``standard`` only),
and shows that the inflected form is found with the first and missed by the second.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from elasticsearch import Elasticsearch

from feedback.schema import ClassifiedFeedback
from feedback.settings import Settings
from sinks import (
    NO_ANALYZERS,
    PLUGIN,
    IndexWriter,
    LanguageAnalyzers,
    alias_name,
    detect_analyzers,
    index_template,
    make_client,
    template_name,
    version_index,
)
from sinks.search import SearchRequest, search
from tests.sinks.conftest import make_record

pytestmark = pytest.mark.integration

# name -> (language, text). Short real-looking messages; each test names the ones it wants.
TEXTS = {
    "books_zwnj": ("fa", "کتاب‌ها دیر رسیدند و جلدشان پاره بود"),
    "books_joined": ("fa", "کتابها را دیروز تحویل گرفتم"),
    "book_single": ("fa", "این کتاب خیلی خوب بود"),
    "wanted": ("fa", "می‌خواستم سفارشم را لغو کنم ولی نشد"),
    "cheaper": ("fa", "قیمت‌ها از همه ارزان‌تر بود"),
    "couriers": ("fa", "پیک‌ها همیشه دیر می‌آیند"),
    "deliveries": ("en", "Two deliveries never arrived and nobody called me"),
    "delivery": ("en", "The delivery was on time, thanks"),
    "refunded": ("en", "I was refunded after three weeks of emails"),
    "not_working": ("en", "The app is not working since the update"),
    "working": ("en", "Working fine for me now"),
    "customers": ("en", "Your customer's service desk ignores customers"),
}


@dataclass
class Indexed:
    es: Elasticsearch
    prefix: str
    ids: dict[str, str]  # name -> event id

    def find(self, query: str, *, size: int = 20) -> list[str]:
        """Names of the texts the search returns, best first."""
        page = search(self.es, SearchRequest(query=query, size=size), prefix=self.prefix)
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[h.id] for h in page.hits]


def _records() -> dict[str, ClassifiedFeedback]:
    out = {}
    for n, (name, (language, text)) in enumerate(TEXTS.items()):
        base = make_record(1000 + n)
        event = base.event.model_copy(update={"subject": None, "text": text,
                                               "received_at": base.event.received_at + timedelta(hours=n)})
        out[name] = base.model_copy(update={"event": event, "language": language, "redacted_text": text,
                                            "redacted_subject": None})
    return out


def _index(es: Elasticsearch, url: str, settings: Settings, analyzers: LanguageAnalyzers) -> Indexed:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    es.indices.put_index_template(name=template_name(prefix), **index_template(prefix, analyzers=analyzers))
    alias = alias_name(prefix, "billing")
    es.indices.create(index=version_index(prefix, "billing", 1), aliases={alias: {}})
    records = _records()
    writer = IndexWriter(url, settings=settings.es, client=es)
    assert writer.write(list(records.values()), index_for=lambda _r: alias, refresh=True) == []
    return Indexed(es=es, prefix=prefix, ids={k: r.event.id for k, r in records.items()})


def _drop(es: Elasticsearch, prefix: str) -> None:
    names = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all", ignore_unavailable=True))
    if names:
        es.indices.delete(index=",".join(names))
    es.options(ignore_status=404).indices.delete_index_template(name=template_name(prefix))


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[Elasticsearch]:
    # Admin: `_analyze` without an index is the cluster action cluster:admin/analyze (privilege
    # `manage`), which no service role has.
    es = make_client(settings.es_url, settings=settings.es, principal="admin")
    es.cluster.health(wait_for_status="yellow", timeout="30s")
    yield es
    es.close()


@pytest.fixture(scope="module")
def analysed(client: Elasticsearch, settings: Settings) -> Iterator[Indexed]:
    """The corpus under the template with the node's language analyzers."""
    indexed = _index(client, settings.es_url, settings, detect_analyzers(client))
    yield indexed
    _drop(client, indexed.prefix)


@pytest.fixture(scope="module")
def standard_only(client: Elasticsearch, settings: Settings) -> Iterator[Indexed]:
    """The same corpus under the template as it was before the analyzers (standard only)."""
    indexed = _index(client, settings.es_url, settings, NO_ANALYZERS)
    yield indexed
    _drop(client, indexed.prefix)


def _tokens(es: Elasticsearch, analyzer: str, text: str) -> list[str]:
    return [t["token"] for t in es.indices.analyze(analyzer=analyzer, text=text)["tokens"]]


# --- the plugin's analyzers -----------------------------------------------------------


def test_the_local_node_offers_the_plugin_analyzers(client: Elasticsearch) -> None:
    assert detect_analyzers(client) == PLUGIN


@pytest.mark.parametrize(
    ("analyzer", "text", "tokens"),
    [
        # ZWNJ splits the plural; ها is a stopword. Letters fold to the Arabic forms Lucene uses.
        ("feedback_persian", "کتاب‌ها", ["كتاب"]),
        # Without the ZWNJ the stemmer strips ها.
        ("feedback_persian", "کتابها", ["كتاب"]),
        ("feedback_persian", "کتاب", ["كتاب"]),
        # The prefix می splits off (and is a stopword); the personal ending stays: no verb lemmas.
        ("feedback_persian", "می‌خواستم", ["خواستم"]),
        ("feedback_persian", "خواستن", ["خواستن"]),
        # تر splits off at the ZWNJ (a stopword), then ان is stripped as if a plural: ارزان (cheap)
        # and ارز (currency) share a stem. Over-stemming is the price of a suffix stripper.
        ("feedback_persian", "ارزان‌تر", ["ارز"]),
        ("feedback_persian", "ارزان", ["ارز"]),
        # Persian digits fold to ASCII.
        ("feedback_persian", "سفارش ۱۲۳", ["سفارش", "123"]),
        ("feedback_english", "Two deliveries", ["two", "deliveri"]),
        ("feedback_english", "the delivery", ["deliveri"]),
        ("feedback_english", "the customer's orders", ["custom", "order"]),
        ("feedback_arabic", "والكتاب", ["كتاب"]),
    ],
)
def test_analyze_api_returns_the_plugin_tokens(client: Elasticsearch, analyzer: str, text: str,
                                               tokens: list[str]) -> None:
    assert _tokens(client, analyzer, text) == tokens


def test_new_indexes_map_text_and_subject_with_the_language_subfields(analysed: Indexed) -> None:
    mapping = analysed.es.indices.get_mapping(index=alias_name(analysed.prefix, "billing"))
    props = next(iter(mapping.values()))["mappings"]["properties"]
    for field in ("text", "subject"):
        assert props[field]["analyzer"] == "standard"
        assert props[field]["fields"]["fa"] == {"type": "text", "analyzer": "feedback_persian"}
        assert props[field]["fields"]["en"] == {"type": "text", "analyzer": "feedback_english"}


# --- search finds inflected forms ---------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("کتاب", {"books_zwnj", "books_joined", "book_single"}),
        ("كتاب", {"books_zwnj", "books_joined", "book_single"}),  # Arabic kaf, as typed on an Arabic keyboard
        ("کتاب‌ها", {"books_zwnj", "books_joined", "book_single"}),
        ("خواستم", {"wanted"}),
        ("ارزان", {"cheaper"}),
        ("پیک", {"couriers"}),
        ("delivery", {"deliveries", "delivery"}),
        ("deliveries", {"deliveries", "delivery"}),
        ("refund", {"refunded"}),
        ("customer", {"customers"}),
    ],
)
def test_search_finds_the_inflected_forms(analysed: Indexed, query: str, expected: set[str]) -> None:
    assert set(analysed.find(query)) == expected


@pytest.mark.parametrize(("query", "missed"), [("کتاب", "books_zwnj"), ("delivery", "deliveries"),
                                                ("خواستم", "wanted"), ("refund", "refunded")])
def test_without_the_analyzers_the_inflected_form_is_missed(standard_only: Indexed, query: str, missed: str) -> None:
    assert missed not in standard_only.find(query)


def test_verbs_are_not_lemmatised_so_the_infinitive_misses_the_past_tense(analysed: Indexed) -> None:
    # What PersianStemFilter cannot do: خواستن (to want) and می‌خواستم (I wanted) keep different stems.
    assert "wanted" not in analysed.find("خواستن")


def test_english_stopwords_do_not_break_search(analysed: Indexed) -> None:
    # A sentence full of stopwords still finds the stemmed content word ...
    assert set(analysed.find("where are the deliveries")) >= {"deliveries", "delivery"}
    # ... "not" is an English stopword, but the standard field keeps it: the phrase ranks first.
    assert analysed.find("is not working")[0] == "not_working"
    # A query made only of stopwords still matches through the standard field.
    assert "delivery" in analysed.find("the")


def test_highlights_mark_words_found_through_their_stem(analysed: Indexed) -> None:
    page = search(analysed.es, SearchRequest(query="delivery"), prefix=analysed.prefix)
    marked = {h.id: h.highlights for h in page.hits}
    assert any("<mark>deliveries</mark>" in f for f in marked[analysed.ids["deliveries"]])
    page = search(analysed.es, SearchRequest(query="کتاب"), prefix=analysed.prefix)
    fragments = [f for h in page.hits if h.id == analysed.ids["books_joined"] for f in h.highlights]
    assert any("<mark>کتابها</mark>" in f for f in fragments)
