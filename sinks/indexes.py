"""Versioned department indexes behind aliases: create, version, switch atomically, copy."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError, helpers

from feedback.errors import FeedbackError
from sinks.analyzers import detect_analyzers
from sinks.documents import alias_name, version_index
from sinks.template import DEFAULT_REFRESH_INTERVAL, index_template, template_name

__all__ = [
    "alias_targets",
    "copy_missing",
    "count_documents",
    "create_next_versions",
    "current_version",
    "ensure_department_indexes",
    "labels_of",
    "rollback",
    "switch_aliases",
    "versions",
]

log = logging.getLogger(__name__)


def _put_template(es: Elasticsearch, *, prefix: str, refresh_interval: str) -> None:
    """(Re)write the index template with the language analyzers the cluster has now.

    Only indexes created afterwards get it: existing versions keep their mapping until a
    replay makes new ones.
    """
    es.indices.put_index_template(
        name=template_name(prefix),
        **index_template(prefix, analyzers=detect_analyzers(es), refresh_interval=refresh_interval),
    )


def ensure_department_indexes(
    es: Elasticsearch, *, prefix: str, departments: Iterable[str], refresh_interval: str = DEFAULT_REFRESH_INTERVAL
) -> dict[str, str]:
    """Template, ``-v1`` index and alias for each department, unless the alias exists.

    Safe when several workers start at once: index and alias are created in one request,
    and "already exists" from a concurrent creator is success. An index left without its
    alias (a crash between steps, a hand-deleted alias) gets the alias back on its newest
    version. The indexes the aliases point at get ``refresh_interval`` (a dynamic setting),
    so a changed setting applies at the next start, not only to future versions.
    Returns department index suffix → the concrete index its alias points at.

    >>> ensure_department_indexes(es, prefix="feedback", departments=["billing"])  # doctest: +SKIP
    {'billing': 'feedback-billing-v1'}
    """
    departments = list(departments)
    _put_template(es, prefix=prefix, refresh_interval=refresh_interval)
    for dept in departments:
        alias = alias_name(prefix, dept)
        if es.indices.exists_alias(name=alias):
            continue
        try:
            es.indices.create(index=version_index(prefix, dept, 1), aliases={alias: {}})
            log.info("created index=%s alias=%s", version_index(prefix, dept, 1), alias)
        except BadRequestError as e:
            if e.error != "resource_already_exists_exception":
                raise
            if not es.indices.exists_alias(name=alias):
                newest = version_index(prefix, dept, versions(es, prefix=prefix, department=dept)[-1])
                es.indices.put_alias(index=newest, name=alias)
                log.warning("alias was missing; restored alias=%s index=%s", alias, newest)
    targets = alias_targets(es, prefix=prefix, departments=departments)
    if targets:
        es.indices.put_settings(index=",".join(sorted(set(targets.values()))), settings={"refresh_interval": refresh_interval})
    return targets


def _version_of(index: str) -> int:
    m = re.search(r"-v(\d+)$", index)
    return int(m.group(1)) if m else 0


def alias_targets(es: Elasticsearch, *, prefix: str, departments: Iterable[str]) -> dict[str, str]:
    """Department index suffix → the concrete index its alias points at now (absent: no alias)."""
    out: dict[str, str] = {}
    for dept in departments:
        try:
            found = es.indices.get_alias(name=alias_name(prefix, dept))
        except NotFoundError:
            continue
        # Numeric, not string order: v10 is newer than v9.
        out[dept] = max(found.keys(), key=_version_of)
    return out


def current_version(es: Elasticsearch, *, prefix: str, department: str) -> int | None:
    """The version number the department's alias points at, or None without an alias.

    >>> current_version(es, prefix="feedback", department="billing")  # doctest: +SKIP
    1
    """
    target = alias_targets(es, prefix=prefix, departments=[department]).get(department)
    return None if target is None else _version_of(target)


def versions(es: Elasticsearch, *, prefix: str, department: str) -> list[int]:
    """Every version number that exists for a department, oldest first."""
    pattern = re.compile(re.escape(alias_name(prefix, department)) + r"-v(\d+)$")
    names = es.indices.get(index=f"{alias_name(prefix, department)}-v*", expand_wildcards="all", ignore_unavailable=True)
    return sorted(int(m.group(1)) for n in names if (m := pattern.match(n)))


def create_next_versions(
    es: Elasticsearch, *, prefix: str, departments: Iterable[str], refresh_interval: str = DEFAULT_REFRESH_INTERVAL
) -> dict[str, str]:
    """A new empty ``-v<N+1>`` index (from the template) for each department; dept → index."""
    _put_template(es, prefix=prefix, refresh_interval=refresh_interval)
    out = {}
    for dept in departments:
        existing = versions(es, prefix=prefix, department=dept)
        index = version_index(prefix, dept, (existing[-1] if existing else 0) + 1)
        es.indices.create(index=index)
        out[dept] = index
    return out


def switch_aliases(es: Elasticsearch, *, prefix: str, targets: dict[str, str]) -> None:
    """Point every department alias at its target index in ONE atomic alias update.

    Readers see either all old versions or all new ones; the old indexes stay for rollback.

    >>> switch_aliases(es, prefix="feedback", targets={"billing": "feedback-billing-v2"})  # doctest: +SKIP
    """
    actions: list[dict[str, dict[str, object]]] = []
    for dept, index in targets.items():
        alias = alias_name(prefix, dept)
        actions.append({"remove": {"index": f"{alias}-v*", "alias": alias, "must_exist": False}})
        actions.append({"add": {"index": index, "alias": alias}})
    if actions:
        es.indices.update_aliases(actions=actions)
        log.info("switched aliases targets=%s", targets)


def rollback(es: Elasticsearch, *, prefix: str, departments: Iterable[str]) -> dict[str, str]:
    """Point each alias back at the newest version older than its current one (atomically).

    Returns department index suffix → the index its alias points at now. A department
    with no older version is an error that names it; nothing is switched then.

    >>> rollback(es, prefix="feedback", departments=["billing"])  # doctest: +SKIP
    {'billing': 'feedback-billing-v1'}
    """
    targets: dict[str, str] = {}
    for dept in departments:
        now = current_version(es, prefix=prefix, department=dept)
        older = [v for v in versions(es, prefix=prefix, department=dept) if now is not None and v < now]
        if not older:
            raise FeedbackError(
                f"cannot roll back {alias_name(prefix, dept)}: expected a version older than v{now}, found none; "
                "nothing was switched"
            )
        targets[dept] = version_index(prefix, dept, older[-1])
    switch_aliases(es, prefix=prefix, targets=targets)
    return targets


def count_documents(es: Elasticsearch, indexes: Iterable[str]) -> int:
    names = ",".join(indexes)
    if not names:
        return 0
    es.indices.refresh(index=names)
    return int(es.count(index=names)["count"])


def labels_of(es: Elasticsearch, *, indexes: Iterable[str], ids: list[str]) -> dict[str, dict[str, str]]:
    """id → {department, sentiment, topic} for the documents with these ids."""
    names = ",".join(indexes)
    if not ids or not names:
        return {}
    res = es.search(index=names, size=len(ids), query={"ids": {"values": ids}},
                    source_includes=["department", "sentiment.label", "topic.label"])
    return {
        h["_id"]: {
            "department": h["_source"].get("department"),
            "sentiment": h["_source"].get("sentiment", {}).get("label"),
            "topic": h["_source"].get("topic", {}).get("label"),
        }
        for h in res["hits"]["hits"]
    }


def copy_missing(es: Elasticsearch, *, previous: dict[str, str], targets: dict[str, str], batch: int = 500) -> int:
    """Copy each document of ``previous[dept]`` whose id is in none of the targets into ``targets[dept]``.

    After a replay of a time range, this carries everything outside the range into the new
    version, so switching the aliases loses nothing (documents that the replay re-routed to
    another department are not copied back, so nothing is doubled either).
    """
    target_names = ",".join(sorted(set(targets.values())))
    es.indices.refresh(index=target_names)
    copied = 0
    for dept, source_index in previous.items():
        if dept not in targets or source_index == targets[dept]:
            continue
        chunk: list[dict[str, object]] = []
        for hit in helpers.scan(es, index=source_index, query={"query": {"match_all": {}}}, size=batch):
            chunk.append(hit)
            if len(chunk) >= batch:
                copied += _copy_chunk(es, chunk, target_names, targets[dept])
                chunk = []
        if chunk:
            copied += _copy_chunk(es, chunk, target_names, targets[dept])
    es.indices.refresh(index=target_names)
    return copied


def _copy_chunk(es: Elasticsearch, hits: list[dict[str, object]], target_names: str, target: str) -> int:
    ids = [str(h["_id"]) for h in hits]
    present = {h["_id"] for h in es.search(index=target_names, size=len(ids), source=False,
                                            query={"ids": {"values": ids}})["hits"]["hits"]}
    actions = [{"_op_type": "create", "_index": target, "_id": h["_id"], "_source": h["_source"]}
               for h in hits if h["_id"] not in present]
    ok, errors = helpers.bulk(es, actions, raise_on_error=False)
    # "create" refuses ids that arrived meanwhile (409): the newer document wins, as it should.
    real = [e for e in errors if next(iter(e.values())).get("status") != 409]  # type: ignore[union-attr]
    if real:
        raise FeedbackError(f"{len(real)} document(s) failed to copy into {target}: {real[0]}")
    return int(ok)
