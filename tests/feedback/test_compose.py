"""docker-compose.yml cannot run here; check that it agrees with the settings the code reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from feedback.settings import ApiSettings, ServicesSettings, Settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def _setting_exists(var: str) -> bool:
    """FEEDBACK_<SECTION>_<FIELD> must name a real field of a real section."""
    assert var.startswith("FEEDBACK_")
    section, _, field = var.removeprefix("FEEDBACK_").lower().partition("_")
    info = Settings.model_fields.get(section)
    if info is None or info.annotation is None:
        return False
    return field in info.annotation.model_fields  # type: ignore[union-attr]


def test_services_are_all_there(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"setup", "kafka", "elasticsearch", "kibana", "worker", "api"}
    for name, svc in compose["services"].items():
        assert "healthcheck" in svc, f"{name} has no health check"


def test_worker_and_api_share_one_image_built_from_the_dockerfile(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["worker"]["build"] == "."
    assert services["worker"]["image"] == services["api"]["image"]
    assert (REPO / "Dockerfile").is_file()


def test_every_feedback_variable_is_a_real_setting(compose: dict[str, Any]) -> None:
    seen = set()
    for svc in compose["services"].values():
        for var in (svc.get("environment") or {}):
            if var.startswith("FEEDBACK_"):
                seen.add(var)
                assert _setting_exists(var), f"{var} in docker-compose.yml is not read by feedback/settings.py"
    assert {"FEEDBACK_KAFKA_BOOTSTRAP", "FEEDBACK_ES_URL"} <= seen


def test_endpoints_agree_with_the_ports(compose: dict[str, Any]) -> None:
    services = compose["services"]
    env = services["worker"]["environment"]
    s = Settings(kafka={"bootstrap": env["FEEDBACK_KAFKA_BOOTSTRAP"]}, es={"url": env["FEEDBACK_ES_URL"]})
    host, port = s.kafka_bootstrap.split(":")
    assert host == "kafka" and f"PLAINTEXT://kafka:{port}" in services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert s.es_url == "https://elasticsearch:9200"
    assert "127.0.0.1:9200:9200" in services["elasticsearch"]["ports"]
    api_port = services["api"]["environment"]["FEEDBACK_API_PORT"]
    assert f"127.0.0.1:{api_port}:{api_port}" in services["api"]["ports"]
    # The local defaults use the same well-known ports as the compose file publishes.
    assert str(ServicesSettings().kafka_port) == port
    assert ApiSettings().port == int(api_port)


def test_elasticsearch_and_kibana_run_with_security_and_tls(compose: dict[str, Any]) -> None:
    services = compose["services"]
    es = services["elasticsearch"]["environment"]
    assert es["xpack.security.enabled"] == "true" and es["xpack.security.http.ssl.enabled"] == "true"
    assert es["ELASTIC_PASSWORD"].startswith("${ELASTIC_PASSWORD:?")  # from the environment, never a default
    kibana = services["kibana"]["environment"]
    assert kibana["ELASTICSEARCH_HOSTS"].startswith("https://") and kibana["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert kibana["ELASTICSEARCH_PASSWORD"].startswith("${KIBANA_PASSWORD:?")
    setup = "\n".join(services["setup"]["command"])
    assert "elasticsearch-certutil" in setup and "kibana_system/_password" in setup
    for name, user in (("worker", "feedback_worker"), ("api", "feedback_api")):
        env = services[name]["environment"]
        assert env["FEEDBACK_ES_USERNAME"] == user and env["FEEDBACK_ES_PASSWORD"].startswith("${")
        assert env["FEEDBACK_ES_CA_CERTS"] == "/certs/ca/ca.crt" and f"_security/user/{user}" in setup
