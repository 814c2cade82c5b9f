"""The `feedback` command line: one entry point, one place that turns errors into exits."""

from __future__ import annotations

import sys

import click

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
from feedback.cli.app import app
from feedback.errors import FeedbackError

__all__ = ["app", "main"]


def main() -> None:
    """Run the CLI; a :class:`FeedbackError` becomes one line on stderr and exit 1."""
    try:
        app(standalone_mode=False)
    except FeedbackError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except click.exceptions.Abort:
        print("error: aborted", file=sys.stderr)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
