"""Settings precedence: environment over YAML over defaults; errors name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedback.errors import ConfigError
from feedback.settings import Settings, get_settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(__import__("os").environ):
        if name.startswith("FEEDBACK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray feedback.yaml or .env
    return tmp_path


def test_defaults_point_at_local_services(clean_env: Path) -> None:
    s = get_settings()
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert s.es_url == "https://127.0.0.1:9200"
    assert s.manages_kafka and s.manages_es
    assert s.kafka.raw_partitions >= 3
    assert s.kafka.raw_topics == [
        "feedback.raw.email", "feedback.raw.chat", "feedback.raw.app_review", "feedback.raw.social"
    ]


def test_yaml_overrides_defaults(clean_env: Path) -> None:
    (clean_env / "feedback.yaml").write_text("kafka:\n  raw_partitions: 6\nservices:\n  es_port: 9333\n")
    s = get_settings()
    assert s.kafka.raw_partitions == 6
    assert s.es_url == "https://127.0.0.1:9333"


def test_env_overrides_yaml(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / "feedback.yaml").write_text("kafka:\n  raw_partitions: 6\n  bootstrap: yaml-host:1\n")
    monkeypatch.setenv("FEEDBACK_KAFKA_RAW_PARTITIONS", "9")
    monkeypatch.setenv("FEEDBACK_ES_URL", "http://10.0.0.1:9200")
    s = get_settings()
    assert s.kafka.raw_partitions == 9  # env wins over YAML
    assert s.kafka.bootstrap == "yaml-host:1"  # YAML wins over the default
    assert s.es_url == "http://10.0.0.1:9200" and not s.manages_es


def test_dotenv_sits_between_env_and_yaml(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / "feedback.yaml").write_text("services:\n  kafka_port: 1111\n  es_port: 2222\n")
    (clean_env / ".env").write_text("FEEDBACK_SERVICES_KAFKA_PORT=3333\nFEEDBACK_SERVICES_ES_PORT=4444\n")
    monkeypatch.setenv("FEEDBACK_SERVICES_ES_PORT", "5555")
    s = get_settings()
    assert s.services.kafka_port == 3333
    assert s.services.es_port == 5555


def test_config_file_from_env(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = clean_env / "elsewhere.yaml"
    cfg.write_text("stream:\n  batch_size: 7\n")
    monkeypatch.setenv("FEEDBACK_CONFIG", str(cfg))
    assert get_settings().stream.batch_size == 7


def test_missing_config_file_is_a_clear_error(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_CONFIG", str(clean_env / "nope.yaml"))
    with pytest.raises(ConfigError, match="nope.yaml"):
        get_settings()


def test_invalid_value_names_the_variable(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_KAFKA_RAW_PARTITIONS", "zero")
    with pytest.raises(ConfigError, match="kafka.raw_partitions") as e:
        get_settings()
    assert "FEEDBACK_KAFKA_RAW_PARTITIONS" in str(e.value)


def test_secrets_are_masked_in_dump(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_ES_PASSWORD", "hunter2")
    dumped = Settings().model_dump_json()
    assert "hunter2" not in dumped
    assert "**" in dumped


def test_the_latency_modes_settings_are_read_and_a_malformed_refresh_interval_is_refused(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDBACK_STREAM_BATCH_WITHIN", "0.1")
    monkeypatch.setenv("FEEDBACK_ES_REFRESH_INTERVAL", "200ms")
    s = get_settings()
    assert s.stream.batch_within == 0.1 and s.es.refresh_interval == "200ms"
    for bad in ("fast", "0s", "-1", "200"):
        monkeypatch.setenv("FEEDBACK_ES_REFRESH_INTERVAL", bad)
        with pytest.raises(ConfigError, match="refresh_interval"):
            get_settings()
