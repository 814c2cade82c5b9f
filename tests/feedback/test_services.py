"""Service provisioning errors: one clear line for a missing Java or a taken port."""

from __future__ import annotations

import json
import os
import signal
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


def _sleeper(*marker: str) -> subprocess.Popen[bytes]:
    """A long sleep whose command line carries ``marker`` (as `up`'s processes carry their home)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", *marker])


def _down(home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FEEDBACK_")},
           "FEEDBACK_SERVICES_HOME": str(home), "FEEDBACK_SERVICES_STOP_TIMEOUT": "5", **extra}
    return subprocess.run([sys.executable, "-m", "feedback", "down", "--json"], capture_output=True, text=True,
                          env=env, cwd=home.parent, timeout=60)


def _pid_files(home: Path, kafka: int, es: int) -> None:
    (home / "kafka").mkdir(parents=True)
    (home / "elasticsearch").mkdir(parents=True)
    (home / "kafka" / "kafka.pid").write_text(str(kafka))
    (home / "elasticsearch" / "es.pid").write_text(str(es))


def test_down_stops_what_up_started_and_leaves_a_reused_pid_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ours = _sleeper(str(home / "kafka" / "server.properties"))
    foreign = _sleeper()  # the PID in es.pid now belongs to another program
    try:
        _pid_files(home, ours.pid, foreign.pid)
        done = _down(home)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"stopped": ["kafka"]}
        assert ours.wait(timeout=10) == -signal.SIGTERM
        assert foreign.poll() is None, "down signalled a process that up did not start"
        assert not (home / "kafka" / "kafka.pid").exists()
    finally:
        for p in (ours, foreign):
            p.kill()
            p.wait()


def test_down_leaves_the_processes_of_a_sibling_home_alone(tmp_path: Path) -> None:
    # /…/feedback is a prefix of /…/feedback-tests: the other home's broker is not ours.
    home = tmp_path / "feedback"
    sibling = _sleeper(str(tmp_path / "feedback-tests" / "kafka" / "server.properties"))
    try:
        _pid_files(home, sibling.pid, sibling.pid)
        done = _down(home)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"stopped": []}
        assert sibling.poll() is None, "down stopped the services of another home"
    finally:
        sibling.kill()
        sibling.wait()


def test_down_stops_nothing_when_the_services_are_external(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ours = _sleeper(str(home / "kafka" / "server.properties"))
    try:
        _pid_files(home, ours.pid, ours.pid)
        done = _down(home, FEEDBACK_KAFKA_BOOTSTRAP="kafka.internal:9092", FEEDBACK_ES_URL="http://es.internal:9200")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"stopped": []}
        assert ours.poll() is None
    finally:
        ours.kill()
        ours.wait()
