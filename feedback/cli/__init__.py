"""The `feedback` command line: one entry point, one place that turns errors into exits."""

from __future__ import annotations

import sys

import click

try:  # typer >= 0.2x vendors its own copy of click; its exceptions are not click's
    from typer._click import exceptions as _typer_click
except ImportError:  # pragma: no cover - older typer uses click itself
    _typer_click = click.exceptions  # type: ignore[assignment]

from feedback.cli import services as _services  # noqa: F401  (registers commands)
from feedback.cli import ingest as _ingest  # noqa: F401  (registers commands)
from feedback.cli import classify as _classify  # noqa: F401  (registers commands)
from feedback.cli import worker as _worker  # noqa: F401  (registers commands)
from feedback.cli import demo as _demo  # noqa: F401  (registers commands)
from feedback.cli import replay as _replay  # noqa: F401  (registers commands)
from feedback.cli import bench as _bench  # noqa: F401  (registers commands)
from feedback.cli import search as _search  # noqa: F401  (registers commands)
from feedback.cli import serve as _serve  # noqa: F401  (registers commands)
from feedback.cli import soak as _soak  # noqa: F401  (registers commands)
from feedback.cli import keys as _keys  # noqa: F401  (registers commands)
from feedback.cli.app import app
from feedback.errors import FeedbackError

__all__ = ["app", "main"]


class _Never(Exception):
    """Stands in for an exception class this click version does not have."""


def main() -> None:
    """Run the CLI; a :class:`FeedbackError` becomes one line on stderr and exit 1."""
    try:
        app(standalone_mode=False)
    except FeedbackError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except (click.exceptions.Abort, getattr(_typer_click, "Abort", _Never)):
        print("error: aborted", file=sys.stderr)
        sys.exit(130)
    except (_typer_click.NoArgsIsHelpError, getattr(click.exceptions, "NoArgsIsHelpError", _Never)) as e:
        command = e.ctx.command_path if e.ctx is not None else "feedback"
        print(f"error: no command or argument given (see `{command} --help`)", file=sys.stderr)
        sys.exit(2)
    except (click.UsageError, _typer_click.UsageError) as e:
        command = e.ctx.command_path if e.ctx is not None else "feedback"
        hint = "; put -- before a path that starts with -" if "No such option" in e.format_message() else ""
        print(f"error: {' '.join(e.format_message().split())} (see `{command} --help`{hint})", file=sys.stderr)
        sys.exit(2)
    except (click.ClickException, _typer_click.ClickException) as e:
        print(f"error: {' '.join(e.format_message().split())}", file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
