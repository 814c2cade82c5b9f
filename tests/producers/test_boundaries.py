"""Error boundaries of issue #15 outside the parsers: files, folders, the CLI, the webhook."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedback.api import create_app
from feedback.settings import Settings
from producers import ParseOptions, RejectsFile, expand_paths, parse_path
from tests.producers.hostile import corpus
from tests.feedback.api_keys import signed, with_api

OPTIONS = ParseOptions(author_secret=b"k")
REPO = Path(__file__).resolve().parents[2]
MAIL = (b"Message-ID: <%s@x>\nFrom: a@b.c\nTo: s@acme.example\nDate: Mon, 02 Nov 2026 09:00:00 +0000\n\n%s\n")


def _feedback(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "feedback", *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


@pytest.mark.parametrize("args", [(), ("ingest",), ("ingest", "chat", "-weird.jsonl"), ("ingest", "chat", "--bogus")])
def test_cli_usage_errors_are_one_line_and_a_non_zero_exit(args: tuple[str, ...]) -> None:
    done = _feedback(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in done.stderr


def test_maildir_subfolders_are_read_and_one_unreadable_message_is_one_reject(tmp_path: Path) -> None:
    box = tmp_path / "Maildir"
    for folder in (box, box / ".Complaints"):
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True)
    (box / "new" / "1.host").write_bytes(MAIL % (b"1", b"top level"))
    (box / ".Complaints" / "cur" / "2.host:2,S").write_bytes(MAIL % (b"2", "شکایت در زیرپوشه".encode()))
    (box / ".Complaints" / "cur" / "3.host:2,S").symlink_to(tmp_path / "gone")  # listed, cannot be read
    paths = list(expand_paths("email", [tmp_path]))
    assert paths == [box]
    result = parse_path("email", box, options=OPTIONS)
    assert sorted(e.text for e in result.events) == ["top level", "شکایت در زیرپوشه"]
    assert len(result.rejects) == 1 and "unreadable" in result.rejects[0].reason


def test_a_file_name_that_is_not_utf8_is_kept_as_a_reject(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.jsonl")
    path = tmp_path / name
    path.write_bytes(b"{broken\n")
    result = parse_path("social", path, options=OPTIONS)
    assert len(result.rejects) == 1 and "\\xe9" in result.rejects[0].location
    rejects = RejectsFile(tmp_path / "rejects", channel="social")
    rejects.write([r.to_dead_letter() for r in result.rejects])
    assert rejects.count == 1


def test_an_unreadable_path_is_one_reject(tmp_path: Path) -> None:
    folder = tmp_path / "x.jsonl"
    folder.mkdir()
    result = parse_path("chat", folder, options=OPTIONS)
    assert result.events == [] and result.rejects[0].field == "path"


class _StubProducer:
    """Answers every send as acknowledged; only for tests about parsing and HTTP status."""

    def send_events(self, events, *, topic):  # type: ignore[no-untyped-def]
        from producers import Delivery
        return [Delivery(key=e.id, topic=topic, partition=0, offset=i) for i, e in enumerate(events)]

    def send_dead_letters(self, letters, *, topic=None):  # type: ignore[no-untyped-def]
        return []

    def close(self) -> None:
        pass


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings = Settings()
    settings = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"rejects_dir": tmp_path})})
    settings = with_api(settings, tmp_path / "keys.json", webhook_burst=1000)
    app = create_app(settings)
    app.state.ingest_producer = _StubProducer()
    return TestClient(app, raise_server_exceptions=False)


def test_webhook_answers_4xx_with_a_reason_never_500_on_the_corpus(client: TestClient) -> None:
    for case in corpus():
        response = client.post(f"/ingest/{case.channel}", content=case.data, headers=signed(case.data))
        assert response.status_code in (202, 400, 413), (case.name, response.status_code, response.text)
        if response.status_code == 400:
            assert response.json()["errors"][0]["reason"], case.name
        else:
            assert response.json()["count"] == case.produced, case.name


def test_webhook_mbox_body_is_two_events(client: TestClient) -> None:
    case = next(c for c in corpus() if c.name == "mbox body posted as one payload")
    response = client.post("/ingest/email", content=case.data,
                           headers=signed(case.data, **{"content-type": "application/mbox"}))
    assert response.status_code == 202 and response.json()["count"] == 2
