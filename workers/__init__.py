"""edgeworks workers package."""

__all__: list[str] = []
