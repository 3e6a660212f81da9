"""edgeworks sites package."""

__all__: list[str] = []
