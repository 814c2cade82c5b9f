"""Elasticsearch: the index template, versioned department indexes behind aliases, bulk writers."""

from sinks.analyzers import (
    BUILTIN,
    NO_ANALYZERS,
    PLUGIN,
    LanguageAnalyzers,
    choose_analyzers,
    detect_analyzers,
)
from sinks.bulk import (
    AsyncIndexWriter,
    Backoff,
    IndexWriter,
    bulk_actions,
    is_transient_error,
    sort_results,
)
from sinks.client import make_async_client, make_client
from sinks.documents import alias_name, to_document, version_index
from sinks.indexes import (
    alias_targets,
    copy_missing,
    count_documents,
    create_next_versions,
    current_version,
    ensure_department_indexes,
    labels_of,
    rollback,
    switch_aliases,
    versions,
)
from sinks.template import index_template, template_name
from sinks.volumes import AsyncTopicVolumes, volumes_body

__all__ = [
    "BUILTIN",
    "NO_ANALYZERS",
    "PLUGIN",
    "LanguageAnalyzers",
    "AsyncIndexWriter",
    "AsyncTopicVolumes",
    "Backoff",
    "IndexWriter",
    "alias_name",
    "alias_targets",
    "bulk_actions",
    "choose_analyzers",
    "copy_missing",
    "count_documents",
    "create_next_versions",
    "current_version",
    "detect_analyzers",
    "ensure_department_indexes",
    "index_template",
    "is_transient_error",
    "labels_of",
    "make_async_client",
    "make_client",
    "rollback",
    "sort_results",
    "switch_aliases",
    "template_name",
    "to_document",
    "version_index",
    "versions",
    "volumes_body",
]
