"""stream stage."""

__all__: list[str] = []
