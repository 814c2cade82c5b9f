"""`feedback replay`: re-run a time range of the raw topics into a new index version."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from feedback.cli.app import app, settings_from_context
from feedback.cli.replay_run import ReplayState, load_state, plan_ranges, run_replay, save_state, state_path
from feedback.cli.wiring import build_classifier, build_index_side, load_routing_config
from feedback.errors import FeedbackError
from feedback.schema import CHANNELS
from feedback.times import parse_time

__all__: list[str] = []

err = Console(stderr=True)


@app.command("replay")
def replay_command(
    ctx: typer.Context,
    from_: str | None = typer.Option(None, "--from", help="Start of the range: ISO time, or a duration ago (2h, 7d)."),
    to: str = typer.Option("now", "--to", help="End of the range (exclusive)."),
    channel: list[str] = typer.Option([], "--channel", help="Only these channels (repeatable); default all."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Classify and compare with the live version; write nothing."),
    into_live: bool = typer.Option(False, "--into-live", help="Rewrite the live indexes in place (outage recovery)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the replay that was interrupted."),
    discard: bool = typer.Option(False, "--discard", help="Forget an interrupted replay (its new indexes stay)."),
    rollback: bool = typer.Option(False, "--rollback", help="Point the aliases back at the versions before the last replay."),
    as_json: bool = typer.Option(False, "--json", help="Print the final report as one JSON document."),
) -> None:
    """Replay raw events into a new index version, then switch the aliases atomically."""
    settings = settings_from_context(ctx)
    path = state_path(settings)
    existing = load_state(path)
    index = build_index_side(settings, load_routing_config(settings))

    if rollback:
        if existing is None or not existing.switched:
            raise FeedbackError("nothing to roll back: no replay has switched the aliases (state file "
                                f"{path} is missing or unfinished)")
        index.switch(existing.previous)
        existing = existing.model_copy(update={"switched": False})
        save_state(existing, path)
        _emit({"rolled_back_to": existing.previous}, as_json)
        return
    if discard:
        if existing is None or existing.finished:
            raise FeedbackError("no interrupted replay to discard")
        path.unlink()
        _emit({"discarded": existing.run_id}, as_json)
        return

    if resume:
        if existing is None or existing.finished:
            raise FeedbackError("no interrupted replay to resume; start one with --from/--to")
        state = existing
    else:
        if existing is not None and not existing.finished:
            raise FeedbackError(f"replay {existing.run_id} (started {existing.started_at:%Y-%m-%d %H:%M}) was interrupted; "
                                "continue it with --resume or forget it with --discard")
        if from_ is None:
            raise FeedbackError("--from is required (an ISO time or a duration ago such as 24h)")
        if dry_run and into_live:
            raise FeedbackError("--dry-run and --into-live exclude each other")
        bad = [c for c in channel if c not in CHANNELS]
        if bad:
            raise FeedbackError(f"unknown channel {bad[0]!r}; expected one of {', '.join(CHANNELS)}")
        channels = channel or list(CHANNELS)
        start, end = parse_time(from_), parse_time(to)
        mode = "dry-run" if dry_run else "live" if into_live else "version"
        previous = index.aliases()
        state = ReplayState(mode=mode, from_ts=start, to_ts=end, channels=channels,
                            ranges=plan_ranges(settings, channels=channels, from_ts=start, to_ts=end),
                            previous=previous,
                            targets=previous if mode == "live" else {})
        if mode == "version":
            state.targets = index.create_versions()
        if mode != "dry-run":
            save_state(state, path)

    classifier = build_classifier(settings)
    routing = load_routing_config(settings)
    with Progress(TextColumn("replay {task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, disable=as_json) as progress:
        task = progress.add_task(state.run_id, total=state.total, completed=state.done_count)
        state = run_replay(settings, state, path=path, classifier=classifier, routing=routing, index=index,
                           save=state.mode != "dry-run",
                           on_progress=lambda done, total: progress.update(task, completed=done, total=total))

    if state.mode == "version":
        if not state.copied:
            state.report.copied_unchanged = index.copy_missing(state.previous, state.targets)
            state.copied = True
            save_state(state, path)
        before = index.count(sorted(set(state.previous.values())))
        after = index.count(sorted(set(state.targets.values())))
        written = sum(state.report.indexed.values())
        if state.report.read != written + state.report.dead_lettered or after < before:
            raise FeedbackError(
                f"counts do not check out (read {state.report.read}, indexed {written}, dead-lettered "
                f"{state.report.dead_lettered}; previous version {before} documents, new {after}); "
                f"aliases NOT switched, the new indexes stay for inspection: {', '.join(state.targets.values())}")
        index.switch(state.targets)
        state.switched = True
    state.finished = True
    if state.mode != "dry-run":
        save_state(state, path)
    _emit({"run_id": state.run_id, "mode": state.mode, "from": state.from_ts.isoformat(), "to": state.to_ts.isoformat(),
           "targets": state.targets, "previous": state.previous, **state.report.model_dump()}, as_json)


def _emit(data: dict[str, object], as_json: bool) -> None:
    if as_json:
        print(json.dumps(data, ensure_ascii=False, default=str))
    else:
        for key, value in data.items():
            Console().print(f"[bold]{key}[/bold]: {value}")
