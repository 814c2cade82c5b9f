"""producers stage."""

__all__: list[str] = []
