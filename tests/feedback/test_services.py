"""Service provisioning errors: one clear line for a missing Java or a taken port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from feedback.errors import ServiceError
from feedback.services.kafka import LocalKafka
from feedback.services.provision import find_java, java_version
from feedback.settings import Settings


def test_find_java_rejects_a_configured_jdk_that_is_too_old(tmp_path: Path) -> None:
    fake = tmp_path / "jdk"
    fake.mkdir()
    (fake / "release").write_text('JAVA_VERSION="11.0.2"\n')
    with pytest.raises(ServiceError, match=r"needs Java 21\+, but .* is Java 11"):
        find_java(21, configured=fake, purpose="Elasticsearch")


def test_find_java_names_what_to_do_when_none_is_new_enough() -> None:
    with pytest.raises(ServiceError) as e:
        find_java(999, configured=None, purpose="Kafka")
    assert "no Java 999+ found for Kafka" in str(e.value)
    assert "FEEDBACK_SERVICES_KAFKA_JAVA_HOME" in str(e.value)


def test_java_version_reads_the_release_file(tmp_path: Path) -> None:
    (tmp_path / "release").write_text('IMPLEMENTOR="x"\nJAVA_VERSION="25.0.1"\n')
    assert java_version(tmp_path) == 25


def test_taken_port_is_reported_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        settings = Settings(services={"home": tmp_path, "kafka_port": port, "controller_port": port + 1})
        with pytest.raises(ServiceError, match=f"port {port} on 127.0.0.1 is taken"):
            LocalKafka(settings).start()
    assert not (tmp_path / "kafka" / "kafka.pid").exists()


def test_cli_failure_is_one_line_and_nonzero(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")},
            "FEEDBACK_SERVICES_HOME": str(tmp_path),
            "FEEDBACK_SERVICES_KAFKA_PORT": str(port),
            "FEEDBACK_SERVICES_CONTROLLER_PORT": str(port + 1),
            "FEEDBACK_SERVICES_ES_PORT": str(port + 2),
        }
        done = subprocess.run(
            [sys.executable, "-m", "feedback", "up"], capture_output=True, text=True, env=env, cwd=tmp_path,
            timeout=60,
        )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == [f"error: port {port} on 127.0.0.1 is taken by another process, so Kafka cannot start; "
                     "stop it or set FEEDBACK_SERVICES_KAFKA_PORT / FEEDBACK_SERVICES_CONTROLLER_PORT"]
