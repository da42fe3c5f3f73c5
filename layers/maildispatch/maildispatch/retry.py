"""When to try a deferred message again: the retry schedule, as data.

The schedule is exponential from the attempt number SQS gives us (ApproximateReceiveCount):
attempt n waits base * 2**(n-1) seconds, capped, with a small deterministic jitter so that
messages deferred together by a busy relay do not come back together. A delay the server
stated in its reply ("try again in 300 seconds") is honoured when it is longer.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

# SQS refuses a visibility timeout beyond 12 hours from the receive; stay just under it.
MAX_VISIBILITY_SECONDS = 43_200 - 60


@dataclass(frozen=True)
class RetrySchedule:
    base_seconds: float = 60.0
    max_delay_seconds: float = MAX_VISIBILITY_SECONDS
    max_attempts: int = 8
    jitter: float = 0.1  # +/- this fraction of the delay

    def __post_init__(self) -> None:
        if self.base_seconds <= 0 or self.max_delay_seconds < self.base_seconds:
            raise ValueError("retry schedule needs 0 < base_seconds <= max_delay_seconds")
        if self.max_attempts < 1:
            raise ValueError("retry schedule needs max_attempts >= 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("retry jitter must be in [0, 1)")

    def is_last_attempt(self, attempt: int) -> bool:
        return attempt >= self.max_attempts

    def delay_after(self, attempt: int, *, stated_delay: float | None = None, jitter_key: str = "") -> int:
        """Seconds to wait after failed attempt `attempt` (1-based) before the next one."""
        delay = min(self.base_seconds * 2 ** (max(attempt, 1) - 1), self.max_delay_seconds)
        if self.jitter:
            digest = hashlib.blake2b(f"{jitter_key}/{attempt}".encode(), digest_size=8).digest()
            unit = int.from_bytes(digest, "big") / 2**64  # deterministic in [0, 1)
            delay *= 1 + self.jitter * (2 * unit - 1)
        if stated_delay is not None:
            delay = max(delay, stated_delay)
        return int(min(max(delay, 0), MAX_VISIBILITY_SECONDS))

    def total_horizon_seconds(self) -> float:
        """How long a message is retried in the worst case (without jitter): the documented give-up time."""
        return sum(min(self.base_seconds * 2 ** (n - 1), self.max_delay_seconds) for n in range(1, self.max_attempts))
