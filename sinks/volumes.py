"""Topic volumes per department and event-time window, from Elasticsearch aggregations,
and the record of raised alerts that makes raising one idempotent.

The worker's spike check reads its counts here instead of keeping tables of its own: the
documents already carry ``department``, ``topic.label`` and ``received_at``, a replay or a
restart changes no count (document ids are event ids), and every worker may evaluate at
once because an alert is claimed by creating its document (``op_type=create``): the first
claim wins, every later one gets 409.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from elasticsearch import AsyncElasticsearch, ConflictError

from feedback.settings import EsSettings
from sinks.client import make_async_client

__all__ = ["AsyncTopicVolumes", "volumes_body"]

log = logging.getLogger(__name__)


def volumes_body(*, since: float, until: float, size: int) -> dict[str, Any]:
    """The search body: windows of ``size`` s of ``received_at`` in ``[since, until)`` → department → topic.

    >>> volumes_body(since=0, until=600, size=300)["aggs"]["w"]["date_histogram"]["fixed_interval"]
    '300s'
    """
    return {
        "size": 0,
        "query": {"range": {"received_at": {"gte": int(since * 1000), "lt": int(until * 1000),
                                            "format": "epoch_millis"}}},
        "aggs": {
            "w": {
                "date_histogram": {"field": "received_at", "fixed_interval": f"{size}s", "min_doc_count": 1},
                "aggs": {"d": {"terms": {"field": "department", "size": 100},
                               "aggs": {"t": {"terms": {"field": "topic.label", "size": 200}}}}},
            }
        },
    }


class AsyncTopicVolumes:
    """Counts for the worker's spike check, and the claims that keep alerts single."""

    def __init__(self, url: str, *, settings: EsSettings, prefix: str, aliases: list[str]) -> None:
        self._url, self._settings = url, settings
        self._client: AsyncElasticsearch | None = None
        self.aliases = ",".join(aliases)
        self.claims_index = f"{prefix}-alerts-raised"

    @property
    def es(self) -> AsyncElasticsearch:
        if self._client is None:  # created lazily, on the worker's running loop
            # Not the writer: counting needs read access, which the worker's writing user lacks.
            self._client = make_async_client(self._url, settings=self._settings, principal="trends")
        return self._client

    async def counts(self, *, since: float, until: float, size: int) -> dict[float, dict[str, dict[str, int]]]:
        """Window start (epoch s) → department → topic → count, by ``received_at``."""
        res = await self.es.search(index=self.aliases, ignore_unavailable=True,
                                   body=volumes_body(since=since, until=until, size=size))
        out: dict[float, dict[str, dict[str, int]]] = {}
        for w in res.get("aggregations", {}).get("w", {}).get("buckets", []):
            out[w["key"] / 1000.0] = {
                d["key"]: {t["key"]: t["doc_count"] for t in d["t"]["buckets"]} for d in w["d"]["buckets"]
            }
        return out

    async def raised(self, key: str) -> bool:
        """Whether an alert with this key was claimed already."""
        res = await self.es.options(ignore_status=404).exists(index=self.claims_index, id=key)
        return bool(res)

    async def claim(self, key: str) -> bool:
        """Claim the alert ``key``; True only for the first caller, ever."""
        try:
            await self.es.index(index=self.claims_index, id=key, op_type="create",
                                document={"key": key, "claimed_at": datetime.now(UTC).isoformat()})
        except ConflictError:
            return False
        return True

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
