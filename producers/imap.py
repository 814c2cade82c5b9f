"""Ingest a live IMAP mailbox: unseen mail only, marked seen only after Kafka's ack.

Messages are fetched with ``BODY.PEEK[]`` (which leaves them unseen). A message is
flagged ``\\Seen`` once its event is acknowledged by Kafka, or once it is kept as a
reject (rejects file and DLQ); an event Kafka did not acknowledge stays unseen, so the
next run picks it up again.
"""

from __future__ import annotations

import imaplib
import logging
import time
from typing import Any

from feedback.errors import ConfigError, ServiceError
from feedback.settings import Settings
from producers.ingest import IngestReport, RejectsFile, deliver
from producers.kafka_producer import EventProducer
from producers.mail import parse_message
from producers.records import ParseOptions, ParseResult, RecordRejected

__all__ = ["ingest_imap"]

log = logging.getLogger(__name__)


def _connect(settings: Settings) -> imaplib.IMAP4:
    ingest = settings.ingest
    if not ingest.imap_host or not ingest.imap_user or ingest.imap_password is None:
        raise ConfigError(
            "IMAP needs a host, a user and a password: set FEEDBACK_INGEST_IMAP_HOST, FEEDBACK_INGEST_IMAP_USER "
            "and FEEDBACK_INGEST_IMAP_PASSWORD (found host="
            f"{ingest.imap_host!r}, user={ingest.imap_user!r})"
        )
    try:
        client: imaplib.IMAP4 = (
            imaplib.IMAP4_SSL(ingest.imap_host, ingest.imap_port, timeout=30)
            if ingest.imap_ssl
            else imaplib.IMAP4(ingest.imap_host, ingest.imap_port, timeout=30)
        )
        client.login(ingest.imap_user, ingest.imap_password.get_secret_value())
    except (OSError, imaplib.IMAP4.error) as e:
        raise ServiceError(
            f"cannot log in to IMAP {ingest.imap_host}:{ingest.imap_port} as {ingest.imap_user}: {e}; check the "
            "FEEDBACK_INGEST_IMAP_* settings (imap_ssl for TLS)"
        ) from e
    return client


def _check(response: tuple[str, Any], what: str) -> list[Any]:
    status, data = response
    if status != "OK":
        raise ServiceError(f"IMAP {what} failed: {status} {data!r}")
    return list(data)


def ingest_imap(settings: Settings, *, producer: EventProducer | None = None, limit: int | None = None) -> IngestReport:
    """Ingest the unseen mail of ``settings.ingest.imap_folder`` into the raw email topic.

    >>> report = ingest_imap(get_settings())  # doctest: +SKIP
    >>> (report.produced, report.rejected)  # doctest: +SKIP
    (12, 1)
    """
    options = ParseOptions.from_settings(settings)
    folder = settings.ingest.imap_folder
    report = IngestReport(channel="email", topic=settings.kafka.raw_topic("email"))
    rejects = RejectsFile(settings.ingest.rejects_dir, channel="email")
    started = time.perf_counter()
    client = _connect(settings)
    own = producer is None
    active = producer or EventProducer(settings)
    try:
        _check(client.select(f'"{folder}"'), f"SELECT {folder}")
        found: bytes = _check(client.uid("SEARCH", "UNSEEN"), "SEARCH UNSEEN")[0] or b""
        uids = [uid.decode("ascii") for uid in found.split()]
        if limit is not None:
            uids = uids[:limit]
        log.info("imap unseen=%d folder=%s", len(uids), folder)
        for uid in uids:
            data = _check(client.uid("FETCH", uid, "(BODY.PEEK[])"), f"FETCH {uid}")
            raw = next((item[1] for item in data if isinstance(item, tuple)), None)
            location = f"imap://{settings.ingest.imap_host}/{folder};UID={uid}"
            result = ParseResult()
            if not isinstance(raw, bytes):
                result.reject(location, "the server returned no message body", b"", field="body")
            else:
                try:
                    result.events.append(parse_message(raw, options=options, mail_format="imap"))
                except RecordRejected as e:
                    result.reject_error(location, e, raw)
            deliveries = deliver(active, result, settings=settings, channel="email", report=report, rejects=rejects)
            report.files += 1
            if all(d.ok for d in deliveries):
                _check(client.uid("STORE", uid, "+FLAGS", "(\\Seen)"), f"STORE {uid}")
            else:
                log.error("not marking uid=%s seen: Kafka did not acknowledge it", uid)
    finally:
        if own:
            active.close()
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error) as e:
            log.warning("IMAP logout failed: %s", e)
    report.elapsed_s = round(time.perf_counter() - started, 3)
    report.events_per_s = round(report.produced / report.elapsed_s, 1) if report.elapsed_s else 0.0
    return report
