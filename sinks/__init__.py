"""sinks stage."""

__all__: list[str] = []
