"""`python -m feedback` runs the CLI."""

from feedback.cli import main

main()
