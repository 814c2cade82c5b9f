"""``feedback search`` and ``feedback trends``: the support and product-owner journeys.

Tables go to stdout through rich; ``--json`` prints one JSON document instead. Persian
text is wrapped in Unicode bidi isolates (RLI … PDI) and right-aligned, so a bidi-aware
terminal shows it right to left without disturbing the left-to-right columns around it.
"""

from __future__ import annotations

import html
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from feedback.alerts import open_alerts, read_alerts
from feedback.cli.app import app, settings_from_context
from feedback.errors import FeedbackError
from feedback.schema import Alert
from feedback.times import parse_duration, parse_time
from sinks import make_client
from sinks.search import SearchFilters, SearchPage, SearchRequest, search
from sinks.trends import Trends, TrendsRequest, trends

__all__ = ["TrendsReport", "bidi_isolate", "marks_to_rich", "sparkline"]

log = logging.getLogger(__name__)

_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_MARK = re.compile(r"<mark>(.*?)</mark>", re.DOTALL)
_BARS = "▁▂▃▄▅▆▇█"


class TrendsReport(BaseModel):
    """``feedback trends --json``: the aggregation and the spikes flagged now."""

    trends: Trends
    alerts: list[Alert]
    alerts_error: str | None = None


def bidi_isolate(text: str) -> str:
    """Wrap right-to-left text in RLI … PDI; leave left-to-right text alone.

    >>> bidi_isolate("سلام") == "\u2067سلام\u2069", bidi_isolate("hello")
    (True, 'hello')
    """
    return f"\u2067{text}\u2069" if _RTL.search(text) else text


def marks_to_rich(fragment: str) -> str:
    """An Elasticsearch highlight (HTML-escaped, ``<mark>`` tags) as rich markup.

    >>> marks_to_rich("a &lt;b&gt; <mark>refund</mark>")
    'a <b> [bold black on yellow]refund[/]'
    """
    out, pos = [], 0
    for m in _MARK.finditer(fragment):
        out.append(escape(html.unescape(fragment[pos:m.start()])))
        out.append(f"[bold black on yellow]{escape(html.unescape(m.group(1)))}[/]")
        pos = m.end()
    out.append(escape(html.unescape(fragment[pos:])))
    return "".join(out)


def sparkline(values: list[int]) -> str:
    """One character per value, scaled to the largest.

    >>> sparkline([0, 1, 2, 4, 8])
    '▁▁▂▄█'
    """
    top = max(values, default=0)
    if top <= 0:
        return _BARS[0] * len(values)
    return "".join(_BARS[min(len(_BARS) - 1, int(v / top * (len(_BARS) - 1)))] for v in values)


def _many(values: list[str] | None) -> list[str]:
    return [v for value in values or [] for v in value.split(",") if v]


@app.command("search")
def search_command(
    ctx: typer.Context,
    query: str = typer.Argument("", help="Words to find (English or Persian; letter variants are folded)."),
    department: Annotated[list[str] | None, typer.Option("--department", "-d", help="Repeat or comma-separate.")] = None,
    channel: Annotated[list[str] | None, typer.Option("--channel", "-c", help="email, chat, app_review, social.")] = None,
    sentiment: Annotated[list[str] | None, typer.Option("--sentiment", "-s", help="negative, neutral, positive.")] = None,
    topic: Annotated[list[str] | None, typer.Option("--topic", "-t")] = None,
    language: Annotated[list[str] | None, typer.Option("--language", "-l", help="en, fa.")] = None,
    urgency: Annotated[list[str] | None, typer.Option("--urgency", "-u", help="low, normal, high.")] = None,
    since: str | None = typer.Option(None, help="ISO 8601 time or a duration ago (7d, 2h)."),
    until: str | None = typer.Option(None, help="ISO 8601 time or a duration ago."),
    sort: str = typer.Option("relevance", help="relevance or time (newest first)."),
    page: int = typer.Option(1, min=1),
    size: int = typer.Option(10, min=1, help="Results per page (at most settings.api.max_page_size)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Search the feedback routed to the departments, with highlighted matches."""
    settings = settings_from_context(ctx)
    if sort not in ("relevance", "time"):
        raise FeedbackError(f"expected --sort relevance or time, got {sort!r}")
    request = SearchRequest(
        query=query, sort=sort, page=page, size=size,  # type: ignore[arg-type]
        filters=SearchFilters(
            department=_many(department), channel=_many(channel), sentiment=_many(sentiment), topic=_many(topic),
            language=_many(language), urgency=_many(urgency),
            since=parse_time(since) if since else None, until=parse_time(until) if until else None,
        ),
    )
    es = make_client(settings.es_url, settings=settings.es, principal="api")
    try:
        result = search(es, request, prefix=settings.es.index_prefix, max_page_size=settings.api.max_page_size)
    finally:
        es.close()
    if as_json:
        print(result.model_dump_json())
        return
    _print_page(result)


def _print_page(result: SearchPage) -> None:
    console = Console()
    if not result.total:
        console.print(f"no results for {result.query!r}" if result.query else "no feedback matches these filters")
        return
    first = (result.page - 1) * result.size + 1
    table = Table(title=f"{result.total} result(s) for {result.query!r}, {first}–{first + len(result.hits) - 1} "
                        f"({result.took_ms} ms)", show_lines=True)
    for name in ("#", "received", "department", "labels"):
        table.add_column(name, no_wrap=name != "labels")
    table.add_column("text", ratio=1)
    for n, hit in enumerate(result.hits, start=first):
        body = " … ".join(marks_to_rich(f) for f in hit.highlights) if hit.highlights else escape(hit.text[:300])
        rtl = bool(_RTL.search(hit.text))
        table.add_row(
            str(n), hit.received_at.strftime("%Y-%m-%d %H:%M"), hit.department,
            f"{hit.sentiment}\n{hit.topic}\n{hit.channel}/{hit.language}" + ("\n[red]urgent[/]" if hit.urgency == "high" else ""),
            Text.from_markup(bidi_isolate(body), justify="right") if rtl else Text.from_markup(body),
        )
    console.print(table)
    console.print(f"[dim]ids: {' '.join(h.id for h in result.hits)}[/]")


@app.command("trends")
def trends_command(
    ctx: typer.Context,
    since: str = typer.Option("7d", help="ISO 8601 time or a duration ago (7d, 24h)."),
    until: str = typer.Option("now", help="ISO 8601 time, 'now' or a duration ago."),
    interval: str = typer.Option("1d", help="Bucket width: 15m, 1h, 1d."),
    department: str | None = typer.Option(None, "--department", "-d"),
    topic: str | None = typer.Option(None, "--topic", "-t"),
    alerts_within: str = typer.Option("24h", help="Alerts raised this recently count as open."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Topic × sentiment counts over time, the change vs the previous period, and open spikes."""
    settings = settings_from_context(ctx)
    now = datetime.now(UTC)
    request = TrendsRequest(since=parse_time(since, now=now), until=parse_time(until, now=now), interval=interval,
                            department=department, topic=topic)
    keep = parse_duration(alerts_within)
    es = make_client(settings.es_url, settings=settings.es, principal="api")
    try:
        result = trends(es, request, prefix=settings.es.index_prefix)
    finally:
        es.close()
    report = TrendsReport(trends=result, alerts=[])
    try:
        found = read_alerts(settings, since=now - keep)
        report.alerts = [a for a in open_alerts(found, now=now, keep=keep)
                         if (not department or a.department == department) and (not topic or a.topic == topic)]
    except FeedbackError as e:
        # Trends come from Elasticsearch and stay useful when Kafka is down; say so loudly.
        log.warning("open alerts unavailable: %s", e)
        report.alerts_error = str(e)
    if as_json:
        print(report.model_dump_json())
        return
    _print_trends(report, now=now, keep=keep)


def _change(pct: float | None, change: int) -> str:
    if pct is None:
        return "[yellow]new[/]" if change else "–"
    colour = "red" if pct > 0 else "green" if pct < 0 else "dim"
    return f"[{colour}]{pct:+.1f}%[/]"


def _print_trends(report: TrendsReport, *, now: datetime, keep: timedelta) -> None:
    console = Console()
    t = report.trends
    where = f" in {t.department}" if t.department else ""
    table = Table(title=f"Feedback{where} {t.since:%Y-%m-%d %H:%M} → {t.until:%Y-%m-%d %H:%M} per {t.interval}: "
                        f"{t.total} item(s), previous period {t.previous_total}")
    for name, justify in (("topic", "left"), ("over time", "left"), ("total", "right"), ("neg", "right"),
                          ("neu", "right"), ("pos", "right"), ("prev", "right"), ("change", "right")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for topic in t.topics:
        table.add_row(
            topic.topic, sparkline([b.total for b in topic.buckets]), str(topic.total),
            str(topic.sentiment.get("negative", 0)), str(topic.sentiment.get("neutral", 0)),
            str(topic.sentiment.get("positive", 0)), str(topic.previous_total), _change(topic.change_pct, topic.change),
        )
    console.print(table)
    if report.alerts_error:
        console.print(f"[yellow]open alerts unavailable: {escape(report.alerts_error)}[/]")
    elif not report.alerts:
        console.print(f"no spikes flagged in the last {keep}")
    for a in report.alerts:
        console.print(f"[bold red]spike[/] {a.topic}{f' ({a.department})' if a.department else ''}: {a.count} in "
                      f"{a.window_seconds // 60} min from {a.window_start:%Y-%m-%d %H:%M}, baseline {a.baseline:.1f}, "
                      f"p={a.p_value:.1e}, raised {a.raised_at:%H:%M}")
