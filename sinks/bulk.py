"""Bulk writers: the same pure pieces under a sync writer (replay) and an async one (worker).

Both retry what is transient — 429 (inside the client's bulk helper, then here), 5xx per
document, connection errors and timeouts for the whole request — with capped exponential
backoff, and keep waiting while Elasticsearch is down (backpressure): they return only
when every document was accepted or refused for itself. Refusals (mapping errors, too
large, other 4xx) come back as :class:`IndexFailure` for the dead-letter queue; nothing is
dropped. With ``deadline_s`` set, waiting longer raises :class:`SinkUnavailable` instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from elasticsearch import (
    ApiError,
    AsyncElasticsearch,
    ConnectionError,
    ConnectionTimeout,
    Elasticsearch,
    helpers,
)

from feedback.errors import SinkUnavailable
from feedback.es_access import Principal
from feedback.protocols import IndexFailure
from feedback.schema import ClassifiedFeedback
from feedback.settings import EsSettings
from sinks.client import make_async_client, make_client
from sinks.documents import alias_name, to_document

__all__ = ["AsyncIndexWriter", "Backoff", "IndexWriter", "bulk_actions", "is_transient_error", "sort_results"]

log = logging.getLogger(__name__)

# What a bulk request may fail with while the node is down, restarting or overloaded.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (ConnectionError, ConnectionTimeout)

# Options of the client's bulk helper. 429s are retried inside it first (its own capped
# backoff); whatever is still transient after that is retried by the writers' loop.
_BULK_OPTS: dict[str, Any] = {
    "raise_on_error": False,
    "raise_on_exception": True,
    "max_retries": 5,
    "initial_backoff": 0.5,
    "max_backoff": 10,
    "chunk_size": 500,
}


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff: initial · 2^attempt, at most ``cap`` seconds.

    >>> [Backoff(initial=1, cap=8).delay(a) for a in range(5)]
    [1.0, 2.0, 4.0, 8.0, 8.0]
    """

    initial: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        return float(min(self.cap, self.initial * (2 ** min(attempt, 30))))


def bulk_actions(
    docs: Iterable[ClassifiedFeedback], index_for: Callable[[ClassifiedFeedback], str]
) -> list[dict[str, Any]]:
    """Index actions (``_id`` = event id) for the bulk helper.

    >>> bulk_actions([], lambda d: "feedback-billing")
    []
    """
    out = []
    for d in docs:
        _id, body = to_document(d)
        out.append({"_op_type": "index", "_index": index_for(d), "_id": _id, "_source": body})
    return out


def _is_transient_status(status: int) -> bool:
    return status == 429 or status >= 500


def is_transient_error(error: Exception) -> bool:
    """Whether a failed bulk *request* is worth retrying (outage, overload), not a bug.

    >>> is_transient_error(ConnectionError("refused")), is_transient_error(ValueError("x"))
    (True, False)
    """
    if isinstance(error, TRANSIENT_ERRORS):
        return True
    return isinstance(error, ApiError) and _is_transient_status(error.meta.status)


def sort_results(results: Iterable[tuple[bool, dict[str, Any]]]) -> tuple[set[str], set[str], list[IndexFailure]]:
    """Bulk helper results → (accepted ids, ids to retry, permanent failures).

    >>> ok, retry, failed = sort_results([(True, {"index": {"_id": "a", "status": 201}}),
    ...     (False, {"index": {"_id": "b", "status": 503, "error": {"type": "unavailable_shards_exception"}}}),
    ...     (False, {"index": {"_id": "c", "status": 400, "error": {"type": "document_parsing_exception", "reason": "bad"}}})])
    >>> ok, retry, [f.reason for f in failed]
    ({'a'}, {'b'}, ['document_parsing_exception: bad'])
    """
    accepted: set[str] = set()
    retry: set[str] = set()
    failed: list[IndexFailure] = []
    for ok, item in results:
        info = next(iter(item.values()))
        _id, status = str(info.get("_id")), int(info.get("status", 0))
        if ok:
            accepted.add(_id)
        elif _is_transient_status(status):
            retry.add(_id)
        else:
            err = info.get("error") or {}
            reason = f"{err.get('type', 'error')}: {err.get('reason', err)}" if isinstance(err, dict) else str(err)
            failed.append(IndexFailure(event_id=_id, reason=reason, status=status))
    return accepted, retry, failed


class _Progress:
    """The state both writers loop on: what still waits, what was refused, how long."""

    def __init__(self, docs: Sequence[ClassifiedFeedback], *, backoff: Backoff, deadline_s: float | None) -> None:
        self.pending = {d.event.id: d for d in docs}
        self.failures: list[IndexFailure] = []
        self.attempt = 0
        self._backoff = backoff
        self._deadline_s = deadline_s
        self._start = time.monotonic()

    def absorb(self, results: list[tuple[bool, dict[str, Any]]]) -> None:
        accepted, _retry, failed = sort_results(results)
        self.failures += failed
        for _id in accepted | {f.event_id for f in failed}:
            self.pending.pop(_id, None)

    def request_failed(self, error: Exception) -> None:
        if not is_transient_error(error):
            raise error
        log.warning(
            "elasticsearch unavailable error=%s waiting=%d attempt=%d", type(error).__name__, len(self.pending), self.attempt
        )

    def next_delay(self) -> float:
        """Seconds to wait before the next round; raises once past the deadline."""
        delay = self._backoff.delay(self.attempt)
        elapsed = time.monotonic() - self._start
        if self._deadline_s is not None and elapsed + delay > self._deadline_s:
            raise SinkUnavailable(
                f"elasticsearch did not accept {len(self.pending)} document(s) within {self._deadline_s:.0f}s; "
                "check that it is up (feedback status) and retry",
                retry_after=delay,
                stage="index",
            )
        self.attempt += 1
        return delay


class IndexWriter:
    """Synchronous writer (replay, scripts): documents go to the index ``index_for`` names.

    >>> writer = IndexWriter("http://127.0.0.1:9200", settings=EsSettings())  # doctest: +SKIP
    >>> writer.write(docs, index_for=lambda d: "feedback-billing-v2", refresh=True)  # doctest: +SKIP
    []
    """

    def __init__(
        self,
        url: str,
        *,
        settings: EsSettings,
        backoff: Backoff | None = None,
        deadline_s: float | None = None,
        client: Elasticsearch | None = None,
        principal: Principal = "worker",
    ) -> None:
        self.es = client or make_client(url, settings=settings, principal=principal)
        self.backoff = backoff or Backoff()
        self.deadline_s = deadline_s

    def write(
        self,
        docs: Sequence[ClassifiedFeedback],
        *,
        index_for: Callable[[ClassifiedFeedback], str],
        refresh: bool = False,
    ) -> list[IndexFailure]:
        """Write every document; return those Elasticsearch refused for themselves."""
        progress = _Progress(docs, backoff=self.backoff, deadline_s=self.deadline_s)
        while progress.pending:
            results: list[tuple[bool, dict[str, Any]]] = []
            try:
                actions = bulk_actions(progress.pending.values(), index_for)
                for ok, item in helpers.streaming_bulk(self.es, actions, **_BULK_OPTS):
                    results.append((ok, item))
            except Exception as e:  # noqa: BLE001 - sorted by request_failed, which re-raises non-transient errors
                progress.request_failed(e)
            progress.absorb(results)
            if progress.pending:
                time.sleep(progress.next_delay())
        if refresh and docs:
            self.es.indices.refresh(index=",".join(sorted({index_for(d) for d in docs})))
        return progress.failures

    def close(self) -> None:
        self.es.close()


class AsyncIndexWriter:
    """The worker's writer: each record goes to the alias of its department.

    Writes require the alias (``require_alias``), so a missing alias is a refusal, never a
    silently auto-created index without the template's mapping.

    >>> sink = AsyncIndexWriter("http://127.0.0.1:9200", settings=EsSettings(), prefix="feedback",
    ...                         index_of_department={"customer_success": "customer-success"})
    >>> sink.alias_for_department("customer_success")
    'feedback-customer-success'
    """

    def __init__(
        self,
        url: str,
        *,
        settings: EsSettings,
        prefix: str,
        index_of_department: dict[str, str],
        backoff: Backoff | None = None,
        deadline_s: float | None = None,
        client: AsyncElasticsearch | None = None,
    ) -> None:
        self._url, self._settings = url, settings
        self._client = client
        self.prefix = prefix
        self.index_of_department = dict(index_of_department)
        self.backoff = backoff or Backoff()
        self.deadline_s = deadline_s

    @property
    def es(self) -> AsyncElasticsearch:
        # Created lazily: the aiohttp session must belong to the worker's running loop.
        if self._client is None:
            self._client = make_async_client(self._url, settings=self._settings, principal="worker")
        return self._client

    def alias_for_department(self, department: str) -> str:
        return alias_name(self.prefix, self.index_of_department.get(department, department))

    def alias_for(self, doc: ClassifiedFeedback) -> str:
        return self.alias_for_department(doc.department)

    async def write(self, items: Sequence[ClassifiedFeedback], *, refresh: bool = False) -> list[IndexFailure]:
        """Write every record; return those Elasticsearch refused for themselves."""
        progress = _Progress(items, backoff=self.backoff, deadline_s=self.deadline_s)
        while progress.pending:
            results: list[tuple[bool, dict[str, Any]]] = []
            try:
                actions = bulk_actions(progress.pending.values(), self.alias_for)
                async for ok, item in helpers.async_streaming_bulk(self.es, actions, require_alias=True, **_BULK_OPTS):
                    results.append((ok, item))
            except Exception as e:  # noqa: BLE001 - sorted by request_failed, which re-raises non-transient errors
                progress.request_failed(e)
            progress.absorb(results)
            if progress.pending:
                await asyncio.sleep(progress.next_delay())
        if refresh and items:
            await self.es.indices.refresh(index=",".join(sorted({self.alias_for(d) for d in items})))
        return progress.failures

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
