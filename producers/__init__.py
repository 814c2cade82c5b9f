"""Producers: turn each channel's real formats into FeedbackEvents on the raw Kafka topics.

Parsers are pure (bytes or paths in, :class:`ParseResult` out); :func:`ingest_paths`,
:func:`ingest_imap` and :func:`deliver` add the Kafka I/O and keep every reject.
"""

from producers.formats import expand_paths, parse_bytes, parse_path
from producers.imap import ingest_imap
from producers.ingest import IngestReport, RejectsFile, deliver, ingest_paths
from producers.kafka_producer import Delivery, EventProducer
from producers.records import ParseOptions, ParseResult, RecordRejected, Reject, pseudonymise

__all__ = [
    "Delivery",
    "EventProducer",
    "IngestReport",
    "ParseOptions",
    "ParseResult",
    "RecordRejected",
    "Reject",
    "RejectsFile",
    "deliver",
    "expand_paths",
    "ingest_imap",
    "ingest_paths",
    "parse_bytes",
    "parse_path",
    "pseudonymise",
]
