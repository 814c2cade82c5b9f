"""Principals, credentials and roles, without a node: what each client logs in as, what each role may do."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from feedback.cli.wiring import worker_environment
from feedback.errors import ConfigError, ServiceError
from feedback.es_access import PRINCIPALS, USERNAMES, client_options, load_credentials, new_credentials, save_credentials
from feedback.services.security import department_index_pattern, department_role, service_roles, write_roles
from feedback.settings import EsSettings, Settings


def _local(tmp_path: Path) -> Settings:
    return Settings(services={"home": tmp_path})


def test_local_settings_point_at_the_generated_ca_and_credentials_over_https(tmp_path: Path) -> None:
    s = _local(tmp_path)
    assert s.es_url.startswith("https://127.0.0.1:")
    assert s.es.ca_certs == tmp_path / "elasticsearch" / "config" / "certs" / "ca.crt"
    assert s.es.credentials_file == tmp_path / "elasticsearch-credentials.json"
    external = Settings(services={"home": tmp_path}, es={"url": "https://es.internal:9200"})
    assert external.es.ca_certs is None and external.es.credentials_file is None


def test_credentials_file_is_written_0600_and_each_principal_logs_in_as_its_own_user(tmp_path: Path) -> None:
    s = _local(tmp_path)
    assert s.es.credentials_file is not None
    creds = new_credentials()
    save_credentials(s.es.credentials_file, creds)
    assert stat.S_IMODE(s.es.credentials_file.stat().st_mode) == 0o600
    assert load_credentials(s.es.credentials_file) == creds
    seen = set()
    for principal in PRINCIPALS:
        opts = client_options(s.es, principal=principal)
        user, password = opts["basic_auth"]
        assert user == USERNAMES[principal] and password == creds.passwords[principal].get_secret_value()
        assert opts["ca_certs"] == str(s.es.ca_certs)
        seen.add(password)
    assert len(seen) == len(PRINCIPALS)  # one password per user
    assert not any(p.get_secret_value() in repr(creds) for p in creds.passwords.values())


def test_missing_credentials_say_to_run_up(tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match="run it"):
        client_options(_local(tmp_path).es, principal="api")


def test_a_users_own_cluster_uses_its_configured_credentials_for_every_principal() -> None:
    es = EsSettings(url="https://es.internal:9200", username="svc", password=SecretStr("pw"),
                    ca_certs=Path("/etc/ca.pem"))
    for principal in PRINCIPALS:
        assert client_options(es, principal=principal)["basic_auth"] == ("svc", "pw")
        assert client_options(es, principal=principal)["ca_certs"] == "/etc/ca.pem"
    keyed = EsSettings(url="https://es.internal:9200", api_key=SecretStr("k"), verify_certs=False)
    opts = client_options(keyed, principal="worker")
    assert opts["api_key"] == "k" and opts["verify_certs"] is False and "basic_auth" not in opts
    with pytest.raises(ConfigError, match="unknown Elasticsearch principal"):
        client_options(es, principal="root")  # type: ignore[arg-type]


def _matches(pattern: str, index: str) -> bool:
    assert pattern.startswith("/") and pattern.endswith("/")
    return re.fullmatch(pattern[1:-1].replace("\\", ""), index) is not None


def test_a_department_pattern_matches_its_alias_and_versions_only() -> None:
    pattern = department_index_pattern("feedback", "billing")
    assert department_role("feedback", "billing")["indices"][0]["names"] == [pattern]
    for index in ("feedback-billing", "feedback-billing-v1", "feedback-billing-v12"):
        assert _matches(pattern, index), index
    for index in ("feedback-billing-eu", "feedback-billing-eu-v1", "feedback-billingx", "feedback-orders",
                  "other-feedback-billing", "feedback-billing-vx"):
        assert not _matches(pattern, index), index
    assert department_index_pattern("feed.back", "a+b") == r"/feed\.back-a\+b(-v[0-9]+)?/"


def test_the_worker_role_writes_and_manages_but_never_reads() -> None:
    roles = service_roles(["feedback", "t*"])
    worker = roles[USERNAMES["worker"]]
    privileges = {p for i in worker["indices"] for p in i["privileges"]}
    assert "read" not in privileges and "all" not in privileges and "write" not in privileges
    assert worker["indices"][0]["names"] == ["feedback-*", "t*-*"]
    assert set(worker["cluster"]) == {"monitor", "manage_index_templates"}
    for reader in ("feedback_api", "feedback_trends"):
        on_departments = roles[reader]["indices"][0]["privileges"]
        assert "read" in on_departments and not {"index", "write", "create_doc", "manage"} & set(on_departments)
    assert "read" in roles["feedback_ops"]["indices"][0]["privileges"]


def test_roles_file_is_merged_without_yaml_anchors(tmp_path: Path) -> None:
    (tmp_path / "roles.yml").write_text("kept:\n  cluster: [monitor]\n")
    assert write_roles(tmp_path, service_roles(["feedback"]))
    text = (tmp_path / "roles.yml").read_text()
    assert "&id" not in text and "*id" not in text  # the node's parser does not resolve anchors
    assert "kept:" in text and "feedback_worker:" in text
    assert not write_roles(tmp_path, service_roles(["feedback"]))  # unchanged: not rewritten
    assert write_roles(tmp_path, {}, remove=["kept"]) and "kept:" not in (tmp_path / "roles.yml").read_text()


def test_roles_file_is_replaced_whole_keeping_its_mode(tmp_path: Path) -> None:
    # The node reloads roles.yml every second. Rewritten in place (truncate, then write), a
    # reload could read it empty: seen in .ci/run as "assigned roles [feedback_ops] were not
    # found" (403) right after a test removed its department roles. The file is now written
    # beside and renamed over the old one, with the old file's mode (and owner).
    path = tmp_path / "roles.yml"
    path.write_text("kept:\n  cluster: [monitor]\n")
    path.chmod(0o640)
    before = path.stat()
    assert write_roles(tmp_path, service_roles(["feedback"]))
    after = path.stat()
    assert after.st_ino != before.st_ino  # a new file renamed into place, never a truncated one
    assert (after.st_mode & 0o777, after.st_uid, after.st_gid) == (0o640, before.st_uid, before.st_gid)
    assert [p.name for p in tmp_path.iterdir()] == ["roles.yml"]  # no temporary file left behind


def test_a_worker_child_of_the_local_node_stays_local(tmp_path: Path) -> None:
    env = worker_environment(_local(tmp_path))
    assert "FEEDBACK_ES_URL" not in env or env["FEEDBACK_ES_URL"] == ""
    assert env["FEEDBACK_ES_CREDENTIALS_FILE"] == str(tmp_path / "elasticsearch-credentials.json")


def test_a_still_running_insecure_node_from_an_older_version_gets_a_clear_message(tmp_path: Path) -> None:
    import http.server
    import os
    import threading

    from feedback.services.elasticsearch import LocalElasticsearch

    class Plain(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the handler's API
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"version": {"number": "9.2.8"}}')

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Plain)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        s = Settings(services={"home": tmp_path, "es_port": server.server_address[1]})
        node = LocalElasticsearch(s)
        node.pid_file.parent.mkdir(parents=True)
        node.pid_file.write_text(str(os.getpid()))  # a live process, as the old node would be
        with pytest.raises(ServiceError, match="runs without security.*feedback down"):
            node.start()
    finally:
        server.shutdown()
