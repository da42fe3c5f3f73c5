"""The relay's budget, shared by every dispatch invocation: a send rate and a rolling 24-hour quota.

Per-process rate limits multiply by the number of processes (Mailtrain #1173, ZoneMTA's README:
"3 processes ... 3*5*10 = 150 messages per minute"), so the budget lives in one table
(`adapters/dynamodb_budget.py`) and every invocation draws from it before it submits. This
module is the arithmetic, pure; the adapter turns it into conditional writes.

**Rate: GCRA** (the generic cell rate algorithm, a token bucket stated as one number). Each
recipient costs T = 1/rate seconds of the relay's time; the store keeps `tat`, the theoretical
arrival time: when the relay's time is spent up to. A draw of n starts at max(tat, now) and moves
tat on by n*T; it conforms when the new tat is at most `now + tau`, tau = burst*T (a full bucket
sends `burst` at once). A draw that conforms only after a short wait (at most `max_sleep`) is
granted with a start time, and the invocation sleeps until then: sends are paced, not bunched
into whole seconds. In DynamoDB this is one conditional `SET tat = tat + :cost` (busy relay) or
`SET tat = :now + :cost` (idle relay), no read first, and correct under any concurrency:
conditions and the addition are atomic.

**Quota: a rolling window of counters.** Recipients are counted in buckets of `bucket_seconds`
(10 minutes); a draw at `now` counts every bucket that may hold a send from the last 24 hours
(the current one and the 144 before it: a window of 24 h plus up to one bucket, never less, so
the quota is never exceeded, and room frees at most one bucket late). Only the current bucket is
written (conditionally: `count <= quota - older - n`); the older buckets no longer change, so
the condition makes concurrent draws exact. A midnight reset would be wrong: Gmail's and SES's
windows roll.

**Pause.** A quota or rate reply from the relay (core/relay_quota.py) stops every draw until a
time (`paused_until`), whatever the counters say: the relay knows better.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

DAY_SECONDS = 86_400
DEFAULT_BUCKET_SECONDS = 600
DEFAULT_MAX_SLEEP = 1.0  # an invocation waits this long in process for its turn; longer: the record waits on SQS


@dataclass(frozen=True)
class BudgetConfig:
    """The relay's shared pace: a GCRA rate with a burst and a rolling 24-hour quota (off by default)."""

    rate_per_second: float | None = None  # None: no rate limit
    burst: int | None = None  # recipients a full bucket sends at once; None: one second's worth
    daily_quota: int | None = None  # recipients per rolling 24 hours; None: no quota
    bucket_seconds: int = DEFAULT_BUCKET_SECONDS
    max_sleep: float = DEFAULT_MAX_SLEEP

    def __post_init__(self) -> None:
        if self.rate_per_second is not None and not (self.rate_per_second > 0 and math.isfinite(self.rate_per_second)):
            raise ValueError(f"rate_per_second must be a positive number, not {self.rate_per_second!r}")
        if self.daily_quota is not None and self.daily_quota < 1:
            raise ValueError(f"daily_quota must be at least 1, not {self.daily_quota!r}")
        if self.burst is not None and self.burst < 1:
            raise ValueError(f"burst must be at least 1, not {self.burst!r}")
        if not 60 <= self.bucket_seconds <= 3600 or DAY_SECONDS % self.bucket_seconds:
            raise ValueError("bucket_seconds must divide a day and lie between 60 and 3600")

    @property
    def enabled(self) -> bool:
        return self.rate_per_second is not None or self.daily_quota is not None

    @property
    def burst_size(self) -> int:
        if self.burst is not None:
            return self.burst
        return max(1, math.ceil(self.rate_per_second or 1))

    @property
    def largest_draw(self) -> int:
        """A draw larger than this could never conform: the burst, and the whole quota."""
        limits = [self.burst_size] if self.rate_per_second is not None else []
        if self.daily_quota is not None:
            limits.append(self.daily_quota)
        return min(limits) if limits else 1_000_000


# --- outcomes of a draw -----------------------------------------------------------------------


@dataclass(frozen=True)
class Granted:
    """A draw on the budget that conforms: send `count` recipients from `start_at`."""

    count: int
    start_at: float  # send no earlier than this (now, or a moment later: pacing)
    quota_bucket: int | None = None  # the quota bucket the draw counted in (a refund goes there)


@dataclass(frozen=True)
class Refused:
    """A draw on the budget that does not conform now."""

    retry_at: float  # the earliest time the same draw may conform
    reason: str  # "rate", "quota" or "paused"


Draw = Granted | Refused


# --- rate: GCRA -------------------------------------------------------------------------------


def cost_seconds(config: BudgetConfig, count: int) -> float:
    """The relay time `count` recipients take at the configured rate."""
    assert config.rate_per_second is not None
    return count / config.rate_per_second


def tolerance(config: BudgetConfig) -> float:
    """tau: how far ahead of now the relay's time may be spent and a draw still start at once."""
    return cost_seconds(config, config.burst_size)


def busy_limit(config: BudgetConfig, count: int, now: float) -> float:
    """The largest `tat` a draw of `count` may add to (busy relay: tat >= now) and still be granted."""
    return now + tolerance(config) + config.max_sleep - cost_seconds(config, count)


def start_after(config: BudgetConfig, new_tat: float, count: int, now: float) -> float:
    """When a granted draw of `count` that moved tat to `new_tat` may send.

    A draw larger than the burst (one request to more recipients than the burst) starts when the
    relay's time before it is spent, and overdraws: later draws wait until it is paid back."""
    cost = cost_seconds(config, count)
    return max(now, min(new_tat - tolerance(config), new_tat - cost))


def rate_retry_at(config: BudgetConfig, tat: float, count: int) -> float:
    """When a draw of `count` refused at `tat` would conform without any wait."""
    return tat - max(0.0, tolerance(config) - cost_seconds(config, count))


def conforms(config: BudgetConfig, tat: float | None, count: int, now: float) -> Draw:
    """The whole rate decision on a known `tat` (the in-memory fake and the tests use it; the
    adapter reaches the same answer with conditional writes)."""
    base = now if tat is None or tat < now else tat
    new_tat = base + cost_seconds(config, count)
    if base > now and base > busy_limit(config, count, now):
        return Refused(rate_retry_at(config, base, count), "rate")
    return Granted(count, start_after(config, new_tat, count, now))


# --- quota: rolling buckets -------------------------------------------------------------------


def bucket_of(config: BudgetConfig, when: float) -> int:
    return int(when // config.bucket_seconds)


def window(config: BudgetConfig, now: float) -> range:
    """The buckets a draw at `now` counts: every one that may hold a send of the last 24 hours."""
    current = bucket_of(config, now)
    return range(current - DAY_SECONDS // config.bucket_seconds, current + 1)


def used(config: BudgetConfig, counts: Mapping[int, int], now: float) -> int:
    span = window(config, now)
    return sum(n for bucket, n in counts.items() if bucket in span)


def room(config: BudgetConfig, counts: Mapping[int, int], now: float) -> int:
    assert config.daily_quota is not None
    return max(0, config.daily_quota - used(config, counts, now))


def current_bucket_limit(config: BudgetConfig, older: int, count: int) -> int:
    """The most the current bucket may hold before a draw of `count` adds to it (older: the rest of the window)."""
    assert config.daily_quota is not None
    return config.daily_quota - older - count


def quota_frees_at(config: BudgetConfig, counts: Mapping[int, int], now: float, count: int) -> float:
    """The earliest time at which `count` more recipients fit in the window (buckets leave it, oldest first)."""
    assert config.daily_quota is not None
    span = window(config, now)
    over = used(config, counts, now) + count - config.daily_quota
    if over <= 0:
        return now
    freed = 0
    for bucket in sorted(b for b in counts if b in span):
        freed += counts[bucket]
        if freed >= over:
            return float((bucket + len(span)) * config.bucket_seconds)  # the moment it leaves the window
    return now + DAY_SECONDS  # more than the whole quota: never, in practice (largest_draw prevents it)


def refused_wait(seconds: float, receive_count: int, *, spread: float, cap: float = 60.0) -> float:
    """How long a refused record waits on the queue: until the budget allows, and longer each time the
    same record is refused again (1, 2, 4 ... up to `cap` seconds, `spread` in [0, 1) adding up to half
    again), so a backlog far beyond the budget is not received again every second. A pause or a spent
    quota already waits longer than this, and keeps its own time."""
    backoff = min(cap, 2.0 ** max(0, receive_count - 1)) * (1 + spread / 2)
    return max(seconds, backoff)


def bucket_expiry(config: BudgetConfig, bucket: int) -> int:
    """When a bucket's item may go (DynamoDB TTL): a day after it left the window."""
    return (bucket + 2 * DAY_SECONDS // config.bucket_seconds + 2) * config.bucket_seconds
