"""Elasticsearch API keys scoped to departments: the role descriptors (pure), the security
check on the real node, and, on a node with security on, a key that reads its department only."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from elasticsearch import AuthenticationException, AuthorizationException
from pydantic import SecretStr
from typer.testing import CliRunner

from feedback.api.deps import make_es_client
from feedback.api.es_keys import EsKeysUnavailable, create_es_key, department_pattern, role_descriptors, security_enabled
from feedback.cli import app
from feedback.settings import Settings


def _as_python(lucene: str) -> re.Pattern[str]:
    """The Lucene regex of a role pattern (``/.../``) as a Python one: same syntax for what we emit."""
    assert lucene.startswith("/") and lucene.endswith("/")
    return re.compile(lucene[1:-1])


@pytest.mark.parametrize(
    ("name", "reads"),
    [
        ("feedback-billing", True),
        ("feedback-billing-v1", True),
        ("feedback-billing-v12", True),
        ("feedback-billing-eu", False),  # a department named billing-eu
        ("feedback-billing-eu-v1", False),
        ("feedback-billingx", False),
        ("feedback-billing-vx", False),
        ("xfeedback-billing", False),
        ("feedback-orders", False),
    ],
)
def test_department_pattern_matches_the_alias_and_versions_only(name: str, reads: bool) -> None:
    assert bool(_as_python(department_pattern("feedback", "billing")).fullmatch(name)) is reads


def test_special_characters_of_the_prefix_are_escaped() -> None:
    pattern = _as_python(department_pattern("fb.t", "customer-success"))
    assert pattern.fullmatch("fb.t-customer-success-v2") and not pattern.fullmatch("fbxt-customer-success")


def test_role_descriptors_read_only_and_ops_reads_every_department() -> None:
    d = role_descriptors(prefix="feedback", indexes=["orders", "billing"], ops=False)
    [(name, role)] = d.items()
    assert role["cluster"] == []
    [grant] = role["indices"]
    assert grant["names"] == ["/feedback-billing(-v[0-9]+)?/", "/feedback-orders(-v[0-9]+)?/"]
    assert set(grant["privileges"]) == {"read", "view_index_metadata"}  # no write, no manage
    ops = role_descriptors(prefix="feedback", indexes=[], ops=True)
    assert next(iter(ops.values()))["indices"][0]["names"] == ["feedback-*"]
    with pytest.raises(ValueError):
        role_descriptors(prefix="feedback", indexes=[], ops=False)


@pytest.mark.integration
def test_security_check_answers_on_the_real_node(settings: Settings) -> None:
    es = make_es_client(settings, "admin")
    try:
        probe = es.options(ignore_status=(400, 404, 405, 500)).security.authenticate()
        assert security_enabled(es) is (probe.meta.status == 200)
    finally:
        es.close()


@pytest.mark.integration
def test_es_key_reads_its_department_only_and_revoke_invalidates_it(
    isolated_settings: Settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """On a cluster that can issue API keys: the key reads its department only, and revoke
    invalidates it. On the local node (security on, but no .security index without
    analysis-common, see es_keys.py) `keys create` still issues the API's own key and says
    plainly that no Elasticsearch API key could be made; that is asserted instead."""
    s = isolated_settings
    admin = make_es_client(s, "admin")
    assert security_enabled(admin), "the node must run with security on"
    prefix = s.es.index_prefix
    try:
        for dept in ("billing", "orders"):
            admin.index(index=f"{prefix}-{dept}-v1", id=f"{dept}-1", document={"department": dept}, refresh=True)
            admin.indices.put_alias(index=f"{prefix}-{dept}-v1", name=f"{prefix}-{dept}")
        env = {"FEEDBACK_API_KEYS_FILE": str(tmp_path / "keys.json"), "FEEDBACK_ES_INDEX_PREFIX": prefix}
        result = CliRunner().invoke(app, ["keys", "create", "-d", "billing", "--name", f"t-{uuid.uuid4().hex[:6]}",
                                          "--json"], env=env)
        assert result.exit_code == 0, result.output
        created = json.loads(result.stdout)
        es_key = created["es_api_key"]
        if es_key is None:
            assert "cannot issue Elasticsearch API keys" in created["es_api_key_unavailable"]
            assert created["key"].startswith("fbk_") and created["es_api_key_id"] is None
            with pytest.raises(EsKeysUnavailable):
                create_es_key(admin, name="t-probe", descriptors={}, metadata={})
            return
        assert es_key["id"]
        # The key's own client, built like every other (same URL and TLS settings), with only the key.
        as_key = s.es.model_copy(update={"api_key": SecretStr(es_key["encoded"]), "username": None, "password": None})
        reader = make_es_client(s.model_copy(update={"es": as_key}))
        try:
            hits = reader.search(index=f"{prefix}-billing")["hits"]["hits"]
            assert [h["_id"] for h in hits] == ["billing-1"]
            assert reader.search(index=f"{prefix}-billing-v1")["hits"]["total"]["value"] == 1
            with pytest.raises(AuthorizationException):
                reader.search(index=f"{prefix}-orders")
            with pytest.raises(AuthorizationException):
                reader.index(index=f"{prefix}-billing", document={"x": 1})
            # A wildcard search expands only to what the key may read.
            wide = reader.search(index=f"{prefix}-*")["hits"]["hits"]
            assert {h["_id"] for h in wide} == {"billing-1"}
            revoked = CliRunner().invoke(app, ["keys", "revoke", created["id"]], env=env)
            assert revoked.exit_code == 0 and es_key["id"] in revoked.stdout
            with pytest.raises(AuthenticationException):
                reader.search(index=f"{prefix}-billing")
        finally:
            reader.close()
    finally:
        admin.close()


class _Probe:
    """The meta and body of one canned error answer (logic test; the real node is asked above)."""

    def __init__(self, status: int, body: object) -> None:
        from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig

        self.meta = ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                                    node=NodeConfig("http", "localhost", 9200))
        self.body = body


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [(400, "no handler found for uri [/_security/_authenticate]", False),
     (500, "Security must be explicitly enabled when using a [basic] license", False)],
)
def test_security_probe_reads_off_from_the_answers_of_a_node_without_it(status: int, message: str, expected: bool) -> None:
    from elasticsearch import ApiError

    probe = _Probe(status, {"error": message})

    class Security:
        def authenticate(self) -> None:
            raise ApiError(message, meta=probe.meta, body=probe.body)  # type: ignore[arg-type]

    class Client:
        security = Security()

    assert security_enabled(Client()) is expected  # type: ignore[arg-type]
