"""edgeworks kv package."""

__all__: list[str] = []
