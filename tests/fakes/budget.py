"""The relay budget contract (ports.RelayBudget) in memory, from the same arithmetic as the adapter."""

from __future__ import annotations

from dataclasses import dataclass, field

from maildispatch.core import budget as arithmetic
from maildispatch.core.budget import BudgetConfig, Draw, Granted, Refused


@dataclass
class InMemoryRelayBudget:
    config: BudgetConfig
    tat: float | None = None
    paused_until: float = 0.0
    counts: dict[int, int] = field(default_factory=dict)  # quota bucket -> recipients
    draws: list[tuple[float, int]] = field(default_factory=list)  # (when, count) of every granted draw
    writes: int = 0

    async def draw(self, count: int, *, now: float) -> Draw:
        self.writes += 1
        if now < self.paused_until:
            return Refused(self.paused_until, "paused")
        start = now
        if self.config.rate_per_second is not None:
            rate = arithmetic.conforms(self.config, self.tat, count, now)
            if isinstance(rate, Refused):
                return rate
            start = rate.start_at
        bucket = None
        if self.config.daily_quota is not None:
            if arithmetic.room(self.config, self.counts, now) < count:
                return Refused(arithmetic.quota_frees_at(self.config, self.counts, now, count), "quota")
            bucket = arithmetic.bucket_of(self.config, now)
            self.counts[bucket] = self.counts.get(bucket, 0) + count
        if self.config.rate_per_second is not None:
            base = now if self.tat is None or self.tat < now else self.tat
            self.tat = base + arithmetic.cost_seconds(self.config, count)
        self.draws.append((now, count))
        return Granted(count, start, bucket)

    async def refund(self, granted: Granted, count: int, *, now: float) -> None:
        self.writes += 1
        if self.config.rate_per_second is not None and self.tat is not None:
            self.tat -= arithmetic.cost_seconds(self.config, count)
        if granted.quota_bucket is not None and granted.quota_bucket in self.counts:
            self.counts[granted.quota_bucket] -= count

    async def pause(self, until: float, *, now: float) -> None:
        self.writes += 1
        self.paused_until = max(self.paused_until, until)

    def used(self, now: float) -> int:
        return arithmetic.used(self.config, self.counts, now)
