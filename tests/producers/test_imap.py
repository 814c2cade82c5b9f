"""IMAP integration: a real Dovecot on 127.0.0.1 and the real Kafka."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from feedback.errors import ServiceError
from feedback.schema import DeadLetter, FeedbackEvent
from feedback.settings import Settings
from producers import ingest_imap
from tests.producers.dovecot import DOVECOT, ImapServer, dovecot_server
from tests.producers.helpers import SAMPLES, read_topic

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(DOVECOT is None, reason="dovecot binary absent: apt-get install -y dovecot-imapd"),
]


@pytest.fixture
def imap_server() -> Iterator[ImapServer]:
    with dovecot_server() as server:
        yield server


def _imap_settings(settings: Settings, server: ImapServer) -> Settings:
    ingest = settings.ingest.model_copy(update={
        "imap_host": server.host, "imap_port": server.port, "imap_user": server.user,
        "imap_password": SecretStr(server.password), "imap_ssl": False, "imap_folder": "INBOX",
    })
    return settings.model_copy(update={"ingest": ingest})


def _flags(server: ImapServer) -> tuple[int, int]:
    client = server.client()
    try:
        client.select("INBOX")
        seen = client.uid("SEARCH", "SEEN")[1][0].split()
        unseen = client.uid("SEARCH", "UNSEEN")[1][0].split()
        return len(seen), len(unseen)
    finally:
        client.logout()


def _fill(server: ImapServer) -> None:
    hostile = SAMPLES / "email" / "hostile"
    for name in ("reply_chain_fa.eml", "persian_windows1256.eml", "html_only.eml", "empty_body.eml"):
        server.deliver(f"1763{len(name):04d}.{name}", (hostile / name).read_bytes())


def test_unseen_mail_is_ingested_once_and_marked_seen(ingest_settings: Settings, imap_server: ImapServer) -> None:
    _fill(imap_server)
    s = _imap_settings(ingest_settings, imap_server)
    assert _flags(imap_server) == (0, 4)
    first = ingest_imap(s)
    assert (first.produced, first.rejected, first.failed) == (3, 1, 0)
    assert _flags(imap_server) == (4, 0)
    second = ingest_imap(s)
    assert (second.produced, second.rejected) == (0, 0)
    events = [FeedbackEvent.model_validate_json(r.value) for r in read_topic(s, s.kafka.raw_topic("email"))]
    assert sorted(e.external_id for e in events) == [
        "<sample-1001@mail.example.com>", "<sample-1002@mail.example.com>", "<sample-1004@mail.example.com>"]
    assert {e.metadata["format"] for e in events} == {"imap"}
    persian = next(e for e in events if e.external_id == "<sample-1004@mail.example.com>")
    assert persian.text == "هنوز سفارش من نرسیده است و کسی جواب نمی\u200cدهد."
    [letter] = [DeadLetter.model_validate_json(r.value) for r in read_topic(s, s.kafka.dlq_topic)]
    assert letter.reason.startswith("empty text") and letter.source is not None and "UID=" in letter.source


def test_mail_stays_unseen_when_kafka_cannot_take_it(ingest_settings: Settings, imap_server: ImapServer) -> None:
    _fill(imap_server)
    broken = ingest_settings.kafka.model_copy(update={"topic_prefix": ingest_settings.kafka.topic_prefix + "-gone"})
    s = _imap_settings(ingest_settings.model_copy(update={"kafka": broken}), imap_server)
    with pytest.raises(ServiceError, match="does not exist"):
        ingest_imap(s)
    assert _flags(imap_server) == (0, 4)


def test_wrong_password_is_a_clear_service_error(ingest_settings: Settings, imap_server: ImapServer) -> None:
    s = _imap_settings(ingest_settings, imap_server)
    bad = s.model_copy(update={"ingest": s.ingest.model_copy(update={"imap_password": SecretStr("nope")})})
    with pytest.raises(ServiceError, match="cannot log in to IMAP"):
        ingest_imap(bad)
