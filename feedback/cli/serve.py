"""``feedback serve``: the HTTP API (OpenAPI at /openapi.json) and the web page at /."""

from __future__ import annotations

import logging

import typer

from feedback.cli.app import app, settings_from_context
from feedback.errors import ConfigError

__all__: list[str] = []

log = logging.getLogger(__name__)


@app.command("serve")
def serve_command(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="Interface to bind (default settings.api.host, 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default settings.api.port, 8000)."),
) -> None:
    """Serve the search, trends and alerts API and the web page until interrupted."""
    import uvicorn

    from feedback.api.app import create_app

    settings = settings_from_context(ctx)
    bind_host = host or settings.api.host
    bind_port = port if port is not None else settings.api.port
    if not 1 <= bind_port <= 65535:
        raise ConfigError(f"expected --port between 1 and 65535, got {bind_port}")
    from feedback.keys import KeyStore

    active = sum(k.active for k in KeyStore(settings.api_keys_file).keys())
    log.info("serving host=%s port=%d keys=%d", bind_host, bind_port, active)
    print(f"feedback web page and API on http://{bind_host}:{bind_port}/ (OpenAPI schema: /openapi.json); "
          f"{active} active API key(s) in {settings.api_keys_file}"
          + ("" if active else " — issue one with `feedback keys create --department NAME`"))
    try:
        uvicorn.run(create_app(settings), host=bind_host, port=bind_port, log_level="warning")
    except OSError as e:
        raise ConfigError(f"cannot listen on {bind_host}:{bind_port} ({e}); choose another --port") from e
