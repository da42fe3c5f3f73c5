"""Counts of what one invocation did (recipients delivered, reports written, ...), for metrics and logs."""

from __future__ import annotations

from collections import Counter


class Tally(Counter[str]):
    """A Counter with a name for what it counts; `add` ignores zeros so metrics list only what happened."""

    def add(self, name: str, n: int = 1) -> None:
        if n:
            self[name] += n

    @property
    def counts(self) -> Tally:
        return self
