"""The one index template every department index is created from."""

from __future__ import annotations

from typing import Any

__all__ = ["index_template", "template_name"]

_KEYWORD = {"type": "keyword"}
_LABEL = {"properties": {"label": _KEYWORD, "score": {"type": "float"}}}


def template_name(prefix: str) -> str:
    return f"{prefix}-feedback"


def index_template(prefix: str) -> dict[str, Any]:
    """The composable template for ``<prefix>-<department>-v<N>`` indexes.

    The node we provision has no language analyzers (no analysis-common module), so the
    text is folded in Python (``feedback.text.normalise``: Persian letter variants, digits,
    ZWNJ) before indexing and before querying, and analysed with ``standard`` here.

    >>> index_template("feedback")["index_patterns"]
    ['feedback-*-v*']
    """
    text = {"type": "text", "analyzer": "standard", "fields": {"raw": {"type": "keyword", "ignore_above": 256}}}
    return {
        "index_patterns": [f"{prefix}-*-v*"],
        "priority": 200,
        "template": {
            "settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s"},
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
                    "text": {"type": "text", "analyzer": "standard"},
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
