"""The one index template every department index is created from."""

from __future__ import annotations

from typing import Any

from sinks.analyzers import LanguageAnalyzers

__all__ = ["DEFAULT_REFRESH_INTERVAL", "index_template", "template_name"]

# Elasticsearch's own default: documents become searchable within a second (settings: es.refresh_interval).
DEFAULT_REFRESH_INTERVAL = "1s"
_KEYWORD = {"type": "keyword"}
_LABEL = {"properties": {"label": _KEYWORD, "score": {"type": "float"}}}


def template_name(prefix: str) -> str:
    return f"{prefix}-feedback"


def index_template(prefix: str, *, analyzers: LanguageAnalyzers, refresh_interval: str = DEFAULT_REFRESH_INTERVAL) -> dict[str, Any]:
    """The composable template for ``<prefix>-<department>-v<N>`` indexes.

    The text is folded in Python (``feedback.text.normalise``: Persian letter variants,
    digits, ZWNJ) before indexing and before querying. ``text`` and ``subject`` are analysed
    with ``standard`` (exact word forms, every language), and each has the subfields ``fa``
    (Persian analyzer: ZWNJ splits, normalisation, stopwords, stemming) and ``en`` (English
    analyzer: possessives, stopwords, Porter stemming) when the cluster has those analyzers
    (``analyzers``, see :func:`sinks.analyzers.detect_analyzers`). Every document gets both
    subfields whatever its detected language: a message mixes languages, the language
    detector can be wrong, and each analyzer leaves the other script's words unstemmed.
    ``refresh_interval`` is how soon an indexed document becomes searchable.

    >>> from sinks.analyzers import PLUGIN
    >>> t = index_template("feedback", analyzers=PLUGIN)
    >>> t["index_patterns"], t["template"]["mappings"]["properties"]["text"]["fields"]["fa"]["analyzer"]
    (['feedback-*-v*'], 'feedback_persian')
    """
    languages = analyzers.subfields()
    text = {"type": "text", "analyzer": "standard", "fields": {"raw": {"type": "keyword", "ignore_above": 256}, **languages}}
    return {
        "index_patterns": [f"{prefix}-*-v*"],
        "priority": 200,
        "template": {
            "settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": refresh_interval},
            "mappings": {
                "dynamic": "strict",
                "properties": {
                    "id": _KEYWORD,
                    "channel": _KEYWORD,
                    "source": _KEYWORD,
                    "external_id": _KEYWORD,
                    "author": _KEYWORD,
                    "thread_id": _KEYWORD,
                    "received_at": {"type": "date"},
                    "classified_at": {"type": "date"},
                    "subject": text,
                    "text": {"type": "text", "analyzer": "standard", **({"fields": languages} if languages else {})},
                    "truncated": {"type": "boolean"},
                    "rating": {"type": "byte"},
                    "language": _KEYWORD,
                    "sentiment": _LABEL,
                    "topic": _LABEL,
                    # Every topic the model scored above the secondary threshold (primary included).
                    "topics": _LABEL,
                    "urgency": _KEYWORD,
                    "urgency_reasons": _KEYWORD,
                    "department": _KEYWORD,
                    "routing_rule": _KEYWORD,
                    "model_version": _KEYWORD,
                    # Channel-specific extras are kept for display, not searched.
                    "metadata": {"type": "object", "enabled": False},
                },
            },
        },
    }
