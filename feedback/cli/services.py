"""`feedback up`, `down`, `status` and `config show`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import typer
import yaml
from rich.console import Console
from rich.table import Table

from classifiers.runtime import choose_runtime
from feedback.cli.app import app, config_app, settings_from_context
from feedback.errors import ServiceError
from feedback.services import StackStatus, down, status, up
from feedback.settings import Settings

if TYPE_CHECKING:
    from feedback.progress import TopicProgress

__all__: list[str] = []

out = Console()
err = Console(stderr=True)


def _status_table(st: StackStatus) -> Table:
    table = Table("service", "state", "endpoint", "version", "managed", "pid")
    for name, svc in (("kafka", st.kafka), ("elasticsearch", st.elasticsearch)):
        colour = "green" if svc.state == "up" else "red"
        table.add_row(
            name,
            f"[{colour}]{svc.state}[/{colour}]",
            svc.endpoint,
            svc.version or "-",
            "local" if svc.managed else "external",
            str(svc.pid or "-"),
        )
    return table


def _print_security(st: StackStatus) -> None:
    sec = st.es_security
    if sec is None:
        return
    out.print(f"elasticsearch security: {sec.security}, TLS {'on' if sec.tls else 'off'}"
              + (f" (CA {sec.ca_certs})" if sec.ca_certs else ""))
    if sec.users:
        where = f" (passwords in {sec.credentials_file})" if sec.credentials_file else ""
        out.print(f"elasticsearch users: {', '.join(sec.users)}{where}")


def _consumers(settings: Settings) -> list[TopicProgress]:
    from feedback.progress import consumer_progress

    try:
        return consumer_progress(settings)
    except ServiceError as e:
        err.print(f"consumer lag unavailable: {e}")
        return []


def _consumers_table(consumers: list[TopicProgress]) -> Table:
    table = Table("consumer group", "topic", "partitions", "lag", "last progress")
    for c in consumers:
        ago = f"{c.last_progress_at:%Y-%m-%d %H:%M:%S}Z" if c.last_progress_at else "-"
        table.add_row(c.group, c.topic, str(c.partitions), str(c.lag), ago)
    return table


@app.command("up")
def up_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON document."),
) -> None:
    """Start local Kafka and Elasticsearch (downloaded once from Maven Central) and create the topics."""
    settings = settings_from_context(ctx)
    if not as_json:
        out.print("[dim]starting services (the first run downloads Kafka and Elasticsearch)...[/dim]")
    from feedback.cli.wiring import load_routing_config

    report = up(settings, departments=[d.index for d in load_routing_config(settings).departments])
    if as_json:
        print(report.model_dump_json())
        return
    for name in report.already_running:
        out.print(f"{name}: already running")
    for name in report.started:
        out.print(f"{name}: started")
    for name in report.external:
        out.print(f"{name}: external, reachable")
    if report.topics_created:
        out.print(f"topics created: {', '.join(report.topics_created)}")
    if report.es_roles:
        out.print(f"elasticsearch roles: {', '.join(report.es_roles)}")
    out.print(_status_table(report.status))
    _print_security(report.status)
    out.print(f"ready in {report.seconds:.1f}s")


@app.command("down")
def down_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print what was stopped as JSON."),
) -> None:
    """Stop the Kafka and Elasticsearch that `feedback up` started (never other processes)."""
    settings = settings_from_context(ctx)
    stopped = down(settings)
    if as_json:
        print(json.dumps({"stopped": stopped}))
    elif stopped:
        out.print(f"stopped: {', '.join(stopped)}")
    else:
        out.print("nothing to stop")


@app.command("status")
def status_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print {kafka: {...}, elasticsearch: {...}} as JSON."),
    check: bool = typer.Option(False, "--check", help="Exit 1 unless both services are up."),
) -> None:
    """Show whether Kafka and Elasticsearch answer, where, and which versions run, and
    per consumer group and topic the lag and the time of the last progress."""
    settings = settings_from_context(ctx)
    st = status(settings)
    cs = settings.classifier
    requested = cs.requested_runtime
    runtime = {"requested": requested, "runtime": choose_runtime(requested)}
    consumers = _consumers(settings) if st.kafka.state == "up" else []
    if as_json:
        print(json.dumps(st.model_dump(mode="json") | {"classifier": runtime,
                                                       "consumers": [c.model_dump(mode="json") for c in consumers]}))
    else:
        out.print(_status_table(st))
        _print_security(st)
        out.print(f"classifier runtime: {runtime['runtime']} (setting: {requested})")
        if consumers:
            out.print(_consumers_table(consumers))
    if check and (st.kafka.state != "up" or st.elasticsearch.state != "up"):
        raise ServiceError("not every service is up: " + ", ".join(
            f"{n}={s.state}" for n, s in (("kafka", st.kafka), ("elasticsearch", st.elasticsearch))
        ))


@config_app.command("show")
def config_show(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of YAML."),
) -> None:
    """Print the effective settings (environment > .env > YAML > defaults), secrets masked."""
    settings = settings_from_context(ctx)
    data = settings.model_dump(mode="json")
    data["es"]["url"] = _mask_url(data["es"]["url"])
    data["stream"]["alert_webhook"] = _mask_url(data["stream"]["alert_webhook"])
    data["effective"] = {"kafka_bootstrap": settings.kafka_bootstrap, "es_url": _mask_url(settings.es_url)}
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")


def _mask_url(url: str | None) -> str | None:
    """A URL with the password of its user-info masked like the other secrets.

    >>> _mask_url("https://elastic:hunter2@es.internal:9200")
    'https://elastic:**********@es.internal:9200'
    """
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:**********@{host}"))
