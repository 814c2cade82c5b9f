"""Which language analyzers the cluster offers: its built-in ones, our plugin's, or none.

A full Elasticsearch distribution has the ``analysis-common`` module with the built-in
``persian`` and ``english`` analyzers. The ``integ-test-zip`` node ``feedback up`` runs has
no such module, so ``feedback up`` installs the ``feedback-analysis`` plugin, which offers
the same Lucene analyzers as ``feedback_persian`` and ``feedback_english``. The template
indexes ``text.fa`` / ``text.en`` (and ``subject.fa`` / ``subject.en``) with whichever is
there; on a cluster with neither, those subfields are left out and search falls back to
the ``standard``-analysed fields.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from elasticsearch import ApiError, Elasticsearch, TransportError
from pydantic import BaseModel, ConfigDict

from feedback.errors import ServiceError

__all__ = ["BUILTIN", "NO_ANALYZERS", "PLUGIN", "LanguageAnalyzers", "choose_analyzers", "detect_analyzers"]

log = logging.getLogger(__name__)


class LanguageAnalyzers(BaseModel):
    """The analyzer names for the Persian and English subfields, and where they come from."""

    model_config = ConfigDict(frozen=True)

    origin: Literal["analysis-common", "feedback-analysis", "none"]
    persian: str | None
    english: str | None

    def subfields(self) -> dict[str, dict[str, str]]:
        """The ``fields`` of a text field: ``fa`` and ``en`` with their analyzers (empty with none).

        >>> PLUGIN.subfields()["fa"]
        {'type': 'text', 'analyzer': 'feedback_persian'}
        """
        out: dict[str, dict[str, str]] = {}
        if self.persian:
            out["fa"] = {"type": "text", "analyzer": self.persian}
        if self.english:
            out["en"] = {"type": "text", "analyzer": self.english}
        return out


BUILTIN = LanguageAnalyzers(origin="analysis-common", persian="persian", english="english")
PLUGIN = LanguageAnalyzers(origin="feedback-analysis", persian="feedback_persian", english="feedback_english")
NO_ANALYZERS = LanguageAnalyzers(origin="none", persian=None, english=None)


def choose_analyzers(nodes_info: dict[str, Any]) -> LanguageAnalyzers:
    """Pick the analyzers every node has, from a ``GET _nodes/plugins`` answer (pure).

    The built-in ones win (a user's own cluster); a node lacking both means none, because
    an index whose mapping names an analyzer one node lacks cannot be allocated there.

    >>> choose_analyzers({"nodes": {"n1": {"modules": [{"name": "analysis-common"}], "plugins": []}}}).origin
    'analysis-common'
    >>> choose_analyzers({"nodes": {"n1": {"modules": [], "plugins": [{"name": "feedback-analysis"}]}}}).persian
    'feedback_persian'
    """
    nodes = list((nodes_info.get("nodes") or {}).values())
    if not nodes:
        return NO_ANALYZERS

    def everywhere(kind: str, name: str) -> bool:
        return all(any(p.get("name") == name for p in node.get(kind) or []) for node in nodes)

    if everywhere("modules", "analysis-common") or everywhere("plugins", "analysis-common"):
        return BUILTIN
    if everywhere("plugins", PLUGIN.origin):
        return PLUGIN
    return NO_ANALYZERS


def detect_analyzers(es: Elasticsearch) -> LanguageAnalyzers:
    """Ask the cluster which modules and plugins its nodes run and choose the analyzers.

    Needs the cluster privilege ``monitor`` (``GET _nodes/plugins``).

    >>> detect_analyzers(es)  # doctest: +SKIP
    LanguageAnalyzers(origin='feedback-analysis', persian='feedback_persian', english='feedback_english')
    """
    try:
        info = es.nodes.info(metric="plugins", filter_path="nodes.*.modules.name,nodes.*.plugins.name")
    except ApiError as e:
        raise ServiceError(
            f"cannot tell which analyzers Elasticsearch has: GET _nodes/plugins answered {e.meta.status} "
            f"({e.error}); give the user the cluster privilege 'monitor'"
        ) from e
    except TransportError as e:
        raise ServiceError(
            f"Elasticsearch did not answer GET _nodes/plugins ({type(e).__name__}: {e}); check that it runs "
            "(feedback status)"
        ) from e
    chosen = choose_analyzers(dict(info))
    if chosen == NO_ANALYZERS:
        log.warning(
            "no Persian/English analyzers on the cluster (neither analysis-common nor the %s plugin); "
            "indexing with the standard analyzer only", PLUGIN.origin,
        )
    else:
        log.info("language analyzers origin=%s persian=%s english=%s", chosen.origin, chosen.persian, chosen.english)
    return chosen
