"""Search relevance before and after the language analyzers, on the real node::

    python benchmarks/search_relevance.py [--per-language 300] [--json-out F]

A fixed corpus of real messages (English: airline tweets and app reviews; Persian:
Snappfood and Digikala reviews; all from the train splits in ``../shared/datasets``) is
indexed twice through the sink's own template: once as before (``standard`` analyzer only)
and once with the analyzers the node offers (the ``feedback-analysis`` plugin locally).
Every query of ``benchmarks/relevance_judgments.py`` runs through ``sinks.search.search``
against both, over the whole mixed-language corpus (no language filter, as a person
searches), and is scored against the judged relevant messages:

- P@10: relevant hits among the first 10, over 10;
- R@10: relevant hits among the first 10, over min(10, relevant messages);
- MRR: 1 / rank of the first relevant hit (0 if none in the first 100);
- nDCG@10 with binary gains;
- found: relevant messages anywhere in the first 100 hits, over all relevant messages.

The corpus is deterministic: for every judged word form, up to 3 messages holding it (so the
inflected forms are present), then messages in a fixed hash order until a language has
``--per-language`` (the Persian forms alone pick more than 300).
Relevance is judged over the whole corpus, not only over the messages picked for a query.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import re
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch, helpers

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.relevance_judgments import QUERIES  # noqa: E402
from classifiers import datasets_dir  # noqa: E402
from feedback.settings import get_settings  # noqa: E402
from feedback.text import ZWNJ, normalise  # noqa: E402
from sinks import (  # noqa: E402
    NO_ANALYZERS,
    LanguageAnalyzers,
    alias_name,
    detect_analyzers,
    index_template,
    make_client,
    template_name,
    version_index,
)
from sinks.search import SearchRequest, search  # noqa: E402

SOURCES = {"en": ["airline-tweets", "maalej-app-reviews"], "fa": ["snappfood-fa", "digikala-recommend-fa"]}
PER_FORM = 3
DEPTH = 100
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def words(text: str) -> set[str]:
    """The words of a message as the judgments spell them: folded, lower case, no ZWNJ.

    Both with and without an apostrophe, so "customer's" holds "customer's" and "customer".
    """
    folded = normalise(text).lower()
    return {w.replace(ZWNJ, "") for pattern in (r"[\w\u200c']+", r"[\w\u200c]+") for w in re.findall(pattern, folded)}


def _order(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()


def corpus(per_language: int) -> dict[str, tuple[str, str]]:
    """id -> (language, normalised text): the fixed benchmark corpus."""
    out: dict[str, tuple[str, str]] = {}
    for lang, names in SOURCES.items():
        rows: list[tuple[str, str]] = []
        for name in names:
            with (datasets_dir() / name / "train.csv").open(encoding="utf-8", newline="") as f:
                rows.extend((f"{name}-{r['id']}", normalise(r["text"])) for r in csv.DictReader(f) if r["text"].strip())
        rows.sort(key=lambda r: _order(r[0]))
        vocab = [words(text) for _rid, text in rows]
        chosen: dict[str, str] = {}
        for _query, forms in QUERIES[lang]:
            for form in sorted(forms):
                holding = [r for r, w in zip(rows, vocab, strict=True) if form in w][:PER_FORM]
                chosen.update(holding)
        for rid, text in rows:
            if len(chosen) >= per_language:
                break
            chosen.setdefault(rid, text)
        out.update({rid: (lang, text) for rid, text in chosen.items()})
    return out


def _document(n: int, rid: str, lang: str, text: str) -> dict[str, Any]:
    return {
        "id": rid, "channel": "app_review", "source": "benchmark", "external_id": rid, "author": "a",
        "received_at": (T0 + timedelta(minutes=n)).isoformat(), "classified_at": T0.isoformat(),
        "subject": None, "text": text, "truncated": False, "rating": None, "language": lang,
        "sentiment": {"label": "neutral", "score": 1.0}, "topic": {"label": "other", "score": 1.0}, "topics": [],
        "urgency": "normal", "urgency_reasons": [], "department": "triage", "routing_rule": "default",
        "model_version": "benchmark", "metadata": {},
    }


def index(es: Elasticsearch, docs: dict[str, tuple[str, str]], analyzers: LanguageAnalyzers) -> str:
    """Index ``docs`` under a fresh prefix with the template built for ``analyzers``; the prefix."""
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    es.indices.put_index_template(name=template_name(prefix), **index_template(prefix, analyzers=analyzers))
    es.indices.create(index=version_index(prefix, "triage", 1), aliases={alias_name(prefix, "triage"): {}})
    actions = ({"_index": alias_name(prefix, "triage"), "_id": rid, "_source": _document(n, rid, lang, text)}
               for n, (rid, (lang, text)) in enumerate(docs.items()))
    helpers.bulk(es, actions, refresh=True)
    return prefix


def drop(es: Elasticsearch, prefix: str) -> None:
    names = list(es.indices.get(index=f"{prefix}-*", expand_wildcards="all", ignore_unavailable=True))
    if names:
        es.indices.delete(index=",".join(names))
    es.options(ignore_status=404).indices.delete_index_template(name=template_name(prefix))


def score(ranked: list[str], relevant: set[str]) -> dict[str, float]:
    """P@10, R@10 (over min(10, |relevant|)), MRR, nDCG@10 and found (recall in the first 100)."""
    top = ranked[:10]
    gains = [1.0 if r in relevant else 0.0 for r in top]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
    ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(relevant))))
    first = next((i for i, r in enumerate(ranked) if r in relevant), None)
    return {
        "p@10": sum(gains) / 10,
        "r@10": sum(gains) / min(10, len(relevant)),
        "mrr": 0.0 if first is None else 1 / (first + 1),
        "ndcg@10": dcg / ideal if ideal else 0.0,
        "found": len(set(ranked) & relevant) / len(relevant),
    }


def run(per_language: int) -> dict[str, Any]:
    settings = get_settings()
    es = make_client(settings.es_url, settings=settings.es, principal="ops")
    docs = corpus(per_language)
    after_analyzers = detect_analyzers(es)
    variants = {"before (standard only)": NO_ANALYZERS, f"after ({after_analyzers.origin})": after_analyzers}
    prefixes = {name: index(es, docs, a) for name, a in variants.items()}
    results: dict[str, Any] = {"corpus": {lang: sum(1 for d in docs.values() if d[0] == lang) for lang in SOURCES},
                               "queries": [], "means": {}}
    try:
        for lang, queries in QUERIES.items():
            for query, forms in queries:
                relevant = {rid for rid, (_l, text) in docs.items() if words(text) & forms}
                row: dict[str, Any] = {"language": lang, "query": query, "relevant": len(relevant)}
                for name, prefix in prefixes.items():
                    page = search(es, SearchRequest(query=query, size=DEPTH), prefix=prefix, max_page_size=DEPTH)
                    row[name] = score([h.id for h in page.hits], relevant)
                results["queries"].append(row)
        for lang in QUERIES:
            rows = [r for r in results["queries"] if r["language"] == lang]
            results["means"][lang] = {
                name: {m: round(sum(r[name][m] for r in rows) / len(rows), 3) for m in rows[0][name]}
                for name in prefixes
            }
    finally:
        for prefix in prefixes.values():
            drop(es, prefix)
        es.close()
    return results


def markdown(results: dict[str, Any]) -> str:
    metrics = ["p@10", "r@10", "mrr", "ndcg@10", "found"]
    lines = [f"corpus: {results['corpus']['en']} English + {results['corpus']['fa']} Persian messages", "",
             "| language | mapping | " + " | ".join(metrics) + " |", "|---|---|" + "---|" * len(metrics)]
    for lang, by_name in results["means"].items():
        for name, m in by_name.items():
            lines.append(f"| {lang} | {name} | " + " | ".join(f"{m[k]:.3f}" for k in metrics) + " |")
    lines += ["", "| query | relevant | found before | found after | nDCG@10 before | nDCG@10 after |",
              "|---|---|---|---|---|---|"]
    for r in results["queries"]:
        before, after = [v for k, v in r.items() if isinstance(v, dict)]
        lines.append(f"| {r['query']} | {r['relevant']} | {before['found']:.2f} | {after['found']:.2f} | "
                     f"{before['ndcg@10']:.2f} | {after['ndcg@10']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-language", type=int, default=300)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    results = run(args.per_language)
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(markdown(results))


if __name__ == "__main__":
    main()
