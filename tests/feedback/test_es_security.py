"""The local Elasticsearch node with security on: TLS, users, least-privilege roles (real node)."""

from __future__ import annotations

import json
import os
import ssl
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import AuthenticationException, AuthorizationException, Elasticsearch
from pydantic import SecretStr

from feedback.es_access import USERNAMES, load_credentials
from feedback.services.elasticsearch import LocalElasticsearch
from feedback.services.provision import find_java
from feedback.services.security import add_file_user, department_roles, remove_file_user, write_roles
from feedback.settings import Settings
from sinks import IndexWriter, ensure_department_indexes, make_client, template_name
from tests.sinks.conftest import make_record

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _local_only(settings: Settings) -> None:
    if not settings.manages_es:
        pytest.skip("Elasticsearch is external (FEEDBACK_ES_URL); these tests check the node `feedback up` runs")


def _as_user(settings: Settings, username: str, password: str) -> Elasticsearch:
    es = settings.es.model_copy(update={"username": username, "password": SecretStr(password)})
    return make_client(settings.es_url, settings=es)


def test_anonymous_and_wrong_password_requests_are_refused_with_401(settings: Settings) -> None:
    _local_only(settings)
    anonymous = settings.es.model_copy(update={"credentials_file": None})
    with make_client(settings.es_url, settings=anonymous) as es, pytest.raises(AuthenticationException) as anon:
        es.search(index=f"{settings.es.index_prefix}-*")
    assert anon.value.meta.status == 401
    with _as_user(settings, USERNAMES["api"], "not-the-password") as es, pytest.raises(AuthenticationException) as bad:
        es.search(index=f"{settings.es.index_prefix}-*")
    assert bad.value.meta.status == 401
    # ...and with the right password the same user gets in.
    with make_client(settings.es_url, settings=settings.es, principal="api") as es:
        assert es.security.authenticate()["username"] == USERNAMES["api"]


def test_the_node_speaks_only_https_with_a_certificate_from_the_generated_ca(settings: Settings) -> None:
    _local_only(settings)
    port = settings.services.es_port
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)  # noqa: S310 - local node
    assert settings.es.ca_certs is not None and settings.es.ca_certs.is_file()
    context = ssl.create_default_context(cafile=str(settings.es.ca_certs))
    with pytest.raises(urllib.error.HTTPError) as refused:  # TLS verified against our CA; then 401
        urllib.request.urlopen(f"https://localhost:{port}/", timeout=5, context=context)  # noqa: S310
    assert refused.value.code == 401


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "feedback", *args], capture_output=True, text=True, timeout=300,
                          cwd=REPO, env=dict(os.environ), check=False)


def test_credentials_file_is_0600_and_no_command_prints_a_password(settings: Settings) -> None:
    _local_only(settings)
    path = settings.es.credentials_file
    assert path is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    passwords = [p.get_secret_value() for p in load_credentials(path).passwords.values()]
    up, status, show = _run_cli("up"), _run_cli("status", "--json"), _run_cli("config", "show")
    assert up.returncode == 0, up.stderr[-2000:]
    assert status.returncode == 0, status.stderr[-2000:]
    for done in (up, status, show):
        for pw in passwords:
            assert pw not in done.stdout and pw not in done.stderr
    sec = json.loads(status.stdout)["es_security"]
    assert sec["security"] == "on" and sec["tls"] is True
    assert set(USERNAMES.values()) <= set(sec["users"])


@pytest.fixture
def departments_indexed(settings: Settings) -> Iterator[str]:
    """Indexes billing, billing-eu and orders under a random prefix, each with its own documents."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    ops = make_client(settings.es_url, settings=settings.es, principal="ops")
    try:
        ensure_department_indexes(ops, prefix=prefix, departments=["billing", "billing-eu", "orders"])
        writer = IndexWriter(settings.es_url, settings=settings.es)  # as the worker
        for n, dept in enumerate(["billing", "billing", "billing-eu", "orders"]):
            assert writer.write([make_record(n, department=dept)], index_for=lambda r: f"{prefix}-{r.department}",
                               refresh=True) == []
        writer.close()
        yield prefix
    finally:
        names = list(ops.indices.get(index=f"{prefix}-*", expand_wildcards="all", ignore_unavailable=True))
        if names:
            ops.indices.delete(index=",".join(names))
        ops.options(ignore_status=404).indices.delete_index_template(name=template_name(prefix))
        ops.close()


@pytest.fixture
def billing_reader(settings: Settings, departments_indexed: str) -> Iterator[tuple[Elasticsearch, str]]:
    """A file-realm user holding only the billing department's read role (for this prefix)."""
    prefix = departments_indexed
    node = LocalElasticsearch(settings)
    java = find_java(21, configured=settings.services.es_java_home, purpose="Elasticsearch")
    roles = department_roles(prefix, ["billing", "billing-eu", "orders"])
    username, password = f"{prefix}_billing", uuid.uuid4().hex
    write_roles(node.conf, roles)
    add_file_user(dist=node.dist, conf=node.conf, java=java, username=username, password=password,
                  roles=[f"{prefix}_read_billing"])
    client = _as_user(settings, username, password)
    deadline = time.monotonic() + 30
    while True:  # the node reloads users and roles files every second
        try:
            if client.security.has_privileges(index=[{"names": [f"{prefix}-billing"], "privileges": ["read"]}])[
                    "has_all_requested"]:
                break
        except AuthenticationException:
            pass
        assert time.monotonic() < deadline, "the department user or role was not loaded within 30s"
        time.sleep(1)
    try:
        yield client, prefix
    finally:
        client.close()
        remove_file_user(dist=node.dist, conf=node.conf, java=java, username=username)
        write_roles(node.conf, {}, remove=roles)


def test_a_department_reader_sees_its_own_alias_and_nothing_of_other_departments(
    settings: Settings, billing_reader: tuple[Elasticsearch, str]
) -> None:
    _local_only(settings)
    es, prefix = billing_reader
    own = es.search(index=f"{prefix}-billing")["hits"]["hits"]
    assert len(own) == 2 and {h["_source"]["department"] for h in own} == {"billing"}
    assert len(es.search(index=f"{prefix}-billing-v1")["hits"]["hits"]) == 2
    # billing-eu starts with "billing": a wildcard role would leak it, the regular expression does not.
    for other in (f"{prefix}-orders", f"{prefix}-billing-eu", f"{prefix}-billing-eu-v1", f"{prefix}-orders-v1"):
        with pytest.raises(AuthorizationException) as denied:
            es.search(index=other)
        assert denied.value.meta.status == 403, other
    with pytest.raises(AuthorizationException):
        es.get(index=f"{prefix}-orders-v1", id=make_record(3, department="orders").event.id)
    # A wildcard expands only to what the user may read.
    seen = es.search(index=f"{prefix}-*", size=50)["hits"]["hits"]
    assert {h["_index"] for h in seen} == {f"{prefix}-billing-v1"}
    # Reading is all it may do.
    with pytest.raises(AuthorizationException):
        es.index(index=f"{prefix}-billing", id="x", document={"department": "billing"})


def test_the_worker_writes_but_cannot_read_documents(settings: Settings, departments_indexed: str) -> None:
    _local_only(settings)
    prefix = departments_indexed
    record = make_record(0, department="billing")
    with make_client(settings.es_url, settings=settings.es, principal="worker") as worker:
        assert worker.security.authenticate()["username"] == USERNAMES["worker"]
        for index in (f"{prefix}-billing", f"{prefix}-orders", f"{prefix}-*"):
            with pytest.raises(AuthorizationException) as denied:
                worker.search(index=index)
            assert denied.value.meta.status == 403
        with pytest.raises(AuthorizationException):
            worker.get(index=f"{prefix}-billing-v1", id=record.event.id)
        with pytest.raises(AuthorizationException):  # nothing outside the project's indexes either
            worker.index(index="other-index", id="x", document={"a": 1})
    # The readers cannot write.
    for principal in ("api", "trends"):
        with make_client(settings.es_url, settings=settings.es, principal=principal) as reader:  # type: ignore[arg-type]
            assert reader.count(index=f"{prefix}-billing")["count"] == 2
            with pytest.raises(AuthorizationException):
                reader.index(index=f"{prefix}-billing", id="x", document={"department": "billing"})


def test_up_again_keeps_users_passwords_and_certificate(settings: Settings) -> None:
    _local_only(settings)
    assert settings.es.credentials_file is not None and settings.es.ca_certs is not None
    before = (settings.es.credentials_file.read_bytes(), settings.es.ca_certs.read_bytes())
    done = _run_cli("up", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert "elasticsearch" in report["already_running"]
    assert (settings.es.credentials_file.read_bytes(), settings.es.ca_certs.read_bytes()) == before
    with make_client(settings.es_url, settings=settings.es, principal="ops") as ops:
        assert ops.security.authenticate()["username"] == USERNAMES["ops"]
