"""Elasticsearch clients built from settings (sync for the CLI and replay, async for the worker)."""

from __future__ import annotations

from typing import Any

from elasticsearch import AsyncElasticsearch, Elasticsearch

from feedback.settings import EsSettings

__all__ = ["make_async_client", "make_client"]


def _options(settings: EsSettings) -> dict[str, Any]:
    opts: dict[str, Any] = {"request_timeout": settings.request_timeout}
    if settings.api_key is not None:
        opts["api_key"] = settings.api_key.get_secret_value()
    elif settings.username and settings.password is not None:
        opts["basic_auth"] = (settings.username, settings.password.get_secret_value())
    return opts


def make_client(url: str, *, settings: EsSettings) -> Elasticsearch:
    """A synchronous client for ``url`` with the credentials and timeout of ``settings``."""
    return Elasticsearch(url, **_options(settings))


def make_async_client(url: str, *, settings: EsSettings) -> AsyncElasticsearch:
    """An asyncio client (aiohttp) for ``url``."""
    return AsyncElasticsearch(url, **_options(settings))
