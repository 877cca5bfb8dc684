"""Configuration errors, and the collector that gathers every problem before raising.

A configuration is checked in full before anything is refused, so one run shows every
mistake. Each problem reads ``{source}: {path}: {reason}``, where ``path`` uses dotted keys
and ``[index]`` for list items, a service or agent entry also named, e.g.::

    config/region.yaml: agents[17] (a018).skills.nursing: proficiency must be 1..5, got 7
"""

from __future__ import annotations


class ConfigError(ValueError):
    """The region configuration cannot be used. ``problems`` holds one line per problem,
    each ``{source}: {path}: {reason}``; the message is those lines joined."""

    def __init__(self, problems: list[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__("\n".join(self.problems))


def key_path(parent: str, key: str) -> str:
    """The path of ``key`` inside the mapping at ``parent`` ("" is the document root)."""
    return f"{parent}.{key}" if parent else key


def index_path(parent: str, index: int) -> str:
    """The path of item ``index`` of the list at ``parent``."""
    return f"{parent}[{index}]"


ROOT = "(top level)"


class Problems:
    """Collects problems for one source file; :meth:`raise_if_any` raises them together."""

    __slots__ = ("items", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, path: str, reason: str) -> None:
        self.items.append(f"{self.source}: {path or ROOT}: {reason}")

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.items)
