"""Elasticsearch clients built from settings (sync for the CLI and replay, async for the worker).

Each client acts as one principal (see ``feedback.es_access``): on the local node that
`feedback up` runs it logs in as that principal's least-privileged user over HTTPS; on a
user's own cluster the configured credentials serve every principal.
"""

from __future__ import annotations

from elasticsearch import AsyncElasticsearch, Elasticsearch

from feedback.es_access import Principal, client_options
from feedback.settings import EsSettings

__all__ = ["make_async_client", "make_client"]


def make_client(url: str, *, settings: EsSettings, principal: Principal = "api") -> Elasticsearch:
    """A synchronous client for ``url`` acting as ``principal`` (TLS, credentials and timeout of ``settings``).

    >>> make_client("https://es.internal:9200", settings=EsSettings(url="https://es.internal:9200"),
    ...             principal="ops")  # doctest: +ELLIPSIS
    <Elasticsearch(['https://es.internal:9200'])>
    """
    return Elasticsearch(url, **client_options(settings, principal=principal, url=url))


def make_async_client(url: str, *, settings: EsSettings, principal: Principal = "api") -> AsyncElasticsearch:
    """An asyncio client (aiohttp) for ``url`` acting as ``principal``."""
    return AsyncElasticsearch(url, **client_options(settings, principal=principal, url=url))
