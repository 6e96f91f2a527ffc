"""A small builder that numbers asyncpg parameters while a query is assembled."""

from __future__ import annotations

from typing import Any


class Params:
    """Collects positional arguments and hands out their `$n` placeholders."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        """Add a value and return its placeholder."""
        self.values.append(value)
        return f"${len(self.values)}"
