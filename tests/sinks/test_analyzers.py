"""Choosing the language analyzers and building the template and the query with them (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from sinks import BUILTIN, NO_ANALYZERS, PLUGIN, LanguageAnalyzers, choose_analyzers, index_template
from sinks.search import SearchRequest, build_search_body


def _node(*, modules: list[str], plugins: list[str]) -> dict[str, Any]:
    return {"modules": [{"name": m} for m in modules], "plugins": [{"name": p} for p in plugins]}


@pytest.mark.parametrize(
    ("nodes", "expected"),
    [
        # A full distribution: analysis-common is a module; its built-in analyzers win over ours.
        ({"a": _node(modules=["analysis-common", "x-pack-core"], plugins=["feedback-analysis"])}, BUILTIN),
        ({"a": _node(modules=["analysis-common"], plugins=[])}, BUILTIN),
        # The integ-test-zip node feedback up runs.
        ({"a": _node(modules=["x-pack-core", "x-pack-security"], plugins=["feedback-analysis"])}, PLUGIN),
        ({"a": _node(modules=["x-pack-core"], plugins=[])}, NO_ANALYZERS),
        # One node without the plugin could not hold an index that names its analyzers.
        ({"a": _node(modules=[], plugins=["feedback-analysis"]), "b": _node(modules=[], plugins=[])}, NO_ANALYZERS),
        ({"a": _node(modules=["analysis-common"], plugins=[]), "b": _node(modules=[], plugins=["feedback-analysis"])},
         NO_ANALYZERS),
        ({}, NO_ANALYZERS),
    ],
)
def test_choose_analyzers_prefers_builtin_then_plugin_on_every_node(nodes: dict[str, Any],
                                                                    expected: LanguageAnalyzers) -> None:
    assert choose_analyzers({"nodes": nodes}) == expected


@pytest.mark.parametrize(("analyzers", "fa", "en"), [(BUILTIN, "persian", "english"),
                                                     (PLUGIN, "feedback_persian", "feedback_english")])
def test_template_indexes_text_and_subject_with_language_subfields(analyzers: LanguageAnalyzers, fa: str,
                                                                   en: str) -> None:
    props = index_template("acme", analyzers=analyzers)["template"]["mappings"]["properties"]
    for field in ("text", "subject"):
        assert props[field]["analyzer"] == "standard"
        assert props[field]["fields"]["fa"] == {"type": "text", "analyzer": fa}
        assert props[field]["fields"]["en"] == {"type": "text", "analyzer": en}
    assert props["subject"]["fields"]["raw"]["type"] == "keyword"


def test_template_without_analyzers_keeps_the_standard_fields_only() -> None:
    props = index_template("acme", analyzers=NO_ANALYZERS)["template"]["mappings"]["properties"]
    assert props["text"] == {"type": "text", "analyzer": "standard"}
    assert set(props["subject"]["fields"]) == {"raw"}


def test_query_searches_every_language_subfield_and_highlights_through_them() -> None:
    body = build_search_body(SearchRequest(query="deliveries"))
    clauses = [*body["query"]["bool"]["must"], *body["query"]["bool"]["should"]]
    assert len(clauses) == 3
    for clause in clauses:
        fields = clause["multi_match"]["fields"]
        assert {"text", "text.fa", "text.en", "subject^2", "subject.fa^2", "subject.en^2"} == set(fields)
    highlight = body["highlight"]["fields"]
    assert highlight["text"]["matched_fields"] == ["text", "text.fa", "text.en"]
    assert highlight["subject"]["matched_fields"] == ["subject", "subject.fa", "subject.en"]


def test_every_queried_subfield_exists_in_the_template() -> None:
    props = index_template("acme", analyzers=PLUGIN)["template"]["mappings"]["properties"]
    body = build_search_body(SearchRequest(query="x"))
    for field in body["query"]["bool"]["must"][0]["multi_match"]["fields"]:
        top, _, sub = field.split("^")[0].partition(".")
        assert top in props and (not sub or sub in props[top]["fields"]), field
