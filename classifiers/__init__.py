"""classifiers stage."""

__all__: list[str] = []
