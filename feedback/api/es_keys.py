"""Elasticsearch API keys scoped to departments, issued beside the API's own keys.

Where the cluster runs with security, ``feedback keys create`` also creates an Elasticsearch
API key whose role descriptors read only the named departments' aliases and their versioned
indexes, matched by a regular expression (``/feedback-billing(-v[0-9]+)?/``: a wildcard
``feedback-billing*`` would also match a department ``billing-eu``). Document- and field-level
security need a paid licence, so the scope is by index; one index per department gives it.
An API key never has more rights than the user that creates it: create keys with the admin
credentials (``FEEDBACK_ES_*``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from feedback.errors import ServiceError

__all__ = [
    "READ_PRIVILEGES",
    "EsKeysUnavailable",
    "create_es_key",
    "department_pattern",
    "invalidate_es_key",
    "role_descriptors",
    "security_enabled",
]

log = logging.getLogger(__name__)

READ_PRIVILEGES = ["read", "view_index_metadata"]
_LUCENE_SPECIAL = re.compile(r'([.?+*|{}\[\]()"\\#@&<>~])')


def department_pattern(prefix: str, index: str) -> str:
    """The index-name regex of one department: its alias and every ``-v<N>`` version, nothing else.

    >>> department_pattern("feedback", "billing")
    '/feedback-billing(-v[0-9]+)?/'
    >>> department_pattern("fb.test", "customer-success")
    '/fb\\\\.test-customer-success(-v[0-9]+)?/'
    """
    escaped = _LUCENE_SPECIAL.sub(r"\\\1", f"{prefix}-{index}")
    return f"/{escaped}(-v[0-9]+)?/"


def role_descriptors(*, prefix: str, indexes: Sequence[str], ops: bool) -> dict[str, Any]:
    """The ``role_descriptors`` of a key reading ``indexes`` (department index suffixes), or all for ops.

    >>> role_descriptors(prefix="feedback", indexes=["billing"], ops=False)["feedback_departments_read"]["indices"]
    [{'names': ['/feedback-billing(-v[0-9]+)?/'], 'privileges': ['read', 'view_index_metadata'], 'allow_restricted_indices': False}]
    """
    if ops:
        names = [f"{prefix}-*"]
        role = "feedback_ops_read"
    else:
        names = [department_pattern(prefix, i) for i in sorted(set(indexes))]
        role = "feedback_departments_read"
    if not names:
        raise ValueError("a department key needs at least one department index")
    return {role: {"cluster": [], "indices": [{"names": names, "privileges": list(READ_PRIVILEGES),
                                               "allow_restricted_indices": False}]}}


def _unreachable(action: str, error: Exception) -> ServiceError:
    return ServiceError(
        f"Elasticsearch did not answer {action} ({type(error).__name__}: {error}); check that it runs "
        "(feedback status) and that FEEDBACK_ES_URL and its credentials are right"
    )


def security_enabled(es: Elasticsearch) -> bool:
    """Whether the cluster enforces security.

    ``GET /_security/_authenticate``: 200 means security on. A node without the security
    handler (400/404/405: the module is absent or disabled) or one that says security is not
    enabled answers "off". Anything else falls back to ``GET /_xpack`` →
    ``features.security.enabled`` (not asked first: the ``integ-test-zip`` node has no
    monitoring module, so its ``/_xpack`` answers 500). Credentials the node refuses (401)
    are an error, not "off".
    """
    try:
        es.security.authenticate()
        return True
    except ApiError as e:
        if e.meta.status == 401:
            raise _refused(e) from e
        said = str(e).lower()
        if e.meta.status in (400, 404, 405) or "must be explicitly enabled" in said or "security is not enabled" in said:
            return False
        log.debug("GET /_security/_authenticate failed (%s); asking GET /_xpack", e)
    except TransportError as e:
        raise _unreachable("GET /_security/_authenticate", e) from e
    try:
        info = es.xpack.info(categories="features")
    except (ApiError, TransportError) as e:
        raise _unreachable("GET /_xpack", e) from e
    security = info.get("features", {}).get("security", {})
    return bool(security.get("available")) and bool(security.get("enabled"))


def _refused(error: Exception) -> ServiceError:
    return ServiceError(f"Elasticsearch refused the credentials ({error}); set FEEDBACK_ES_API_KEY or "
                        "FEEDBACK_ES_USERNAME/FEEDBACK_ES_PASSWORD to an admin's")


class EsKeysUnavailable(ServiceError):
    """The cluster has security but cannot issue API keys (its ``.security`` index cannot exist)."""


# The security index's mapping uses analysis-common's `pattern_capture` filter: a node without
# that module (the local integ-test distribution) has file-realm users and roles, but no native
# users, roles or API keys (/work/shared/notes/es-security-index.md).
_NO_SECURITY_INDEX = re.compile(r"Unknown (filter|tokenizer|analyzer) type|security index|\.security", re.I)


def create_es_key(
    es: Elasticsearch, *, name: str, descriptors: Mapping[str, Any], metadata: Mapping[str, Any]
) -> tuple[str, str]:
    """Create the key; ``(id, encoded)``, where ``encoded`` goes in ``Authorization: ApiKey <encoded>``."""
    try:
        res = es.security.create_api_key(name=name, role_descriptors=dict(descriptors), metadata=dict(metadata))
    except ApiError as e:
        if e.meta.status in (400, 500, 503) and _NO_SECURITY_INDEX.search(str(e)):
            raise EsKeysUnavailable(
                f"this cluster cannot issue Elasticsearch API keys: it cannot create its .security index ({e.message}; "
                "the index needs the analysis-common module, which the local integ-test node lacks)"
            ) from e
        raise _unreachable("the API key creation (POST /_security/api_key)", e) from e
    except TransportError as e:
        raise _unreachable("the API key creation (POST /_security/api_key)", e) from e
    return str(res["id"]), str(res["encoded"])


def invalidate_es_key(es: Elasticsearch, key_id: str) -> None:
    """Invalidate the key (idempotent on the server: an invalidated key stays invalid)."""
    try:
        es.security.invalidate_api_key(ids=[key_id])
    except (ApiError, TransportError) as e:
        raise _unreachable(f"the invalidation of API key {key_id} (DELETE /_security/api_key)", e) from e
