"""The one Typer application that every command module registers on."""

from __future__ import annotations

import logging
import sys

import typer

from feedback.settings import Settings, get_settings

__all__ = ["app", "config_app", "settings_from_context"]

app = typer.Typer(
    name="feedback",
    help="Event-driven customer feedback pipeline: ingest, classify, route, index, search, replay.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Inspect the effective settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@app.callback()
def _root(
    ctx: typer.Context,
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More logging on stderr (-v info, -vv debug)."),
) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # kafka-python logs handled conditions (a refused probe, a retried send) at ERROR;
    # we report failures ourselves, so its chatter only shows with -vv.
    logging.getLogger("kafka").setLevel(logging.DEBUG if verbose >= 2 else logging.CRITICAL)
    # Likewise the Elasticsearch transport's "node has failed" while `up` waits for the node.
    logging.getLogger("elastic_transport.node_pool").setLevel(logging.DEBUG if verbose >= 2 else logging.ERROR)
    ctx.obj = None


def settings_from_context(ctx: typer.Context) -> Settings:
    """The settings, built once per command invocation (never at import time)."""
    root = ctx.find_root()
    if root.obj is None:
        root.obj = get_settings()
    settings: Settings = root.obj
    return settings
