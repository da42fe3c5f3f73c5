"""One invocation's share of the relay's budget: draw in chunks, pace the sends, pause on the relay's word.

The dispatch service asks before each record is claimed (`acquire`): go ahead (perhaps after a
short in-process wait for the record's turn, so sends are paced rather than bunched), or wait on
the queue for so many seconds. A refused record touches nothing: no claim, no attempt counted.

Draws go to the shared store (ports.RelayBudget, DynamoDB) in chunks of up to `chunk` recipients,
so a batch of ten one-recipient records costs one conditional write, not ten; what a record did
not use (a suppressed recipient, one already delivered) goes back to the invocation's pool, and
whatever is left when the invocation ends is refunded (`settle`). A refusal is remembered until
its time, so the other records of the batch wait without asking the store again.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from maildispatch.core.budget import BudgetConfig, Granted, Refused
from maildispatch.ports import RelayBudget

log = logging.getLogger("maildispatch.pacing")

MIN_WAIT_SECONDS = 1  # SQS visibility is in whole seconds


@dataclass
class _Lease:
    """Recipients granted by one budget draw and not yet used."""

    grant: Granted
    left: int


@dataclass
class PacerTally:
    """The pacer's counts for the invocation's summary."""

    draws: int = 0
    refusals: int = 0
    paused: int = 0
    slept_seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)


class RelayPacer:
    def __init__(
        self,
        budget: RelayBudget,
        config: BudgetConfig,
        *,
        chunk: int = 10,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._budget = budget
        self._config = config
        self._chunk = max(1, min(chunk, config.largest_draw))
        self._clock = clock
        self._sleep = sleep
        self._leases: list[_Lease] = []
        self._refused_until = 0.0
        self._lock = asyncio.Lock()
        self.tally = PacerTally()

    async def acquire(self, count: int) -> float | None:
        """None: send now (the caller may have slept for its turn); else the seconds to wait on the queue."""
        if count <= 0:
            return None
        async with self._lock:
            now = self._clock()
            if now < self._refused_until:
                return self._wait_for(self._refused_until, now)
            start = self._take_local(count)
            if start is None:
                draw = await self._draw(count, now)
                if isinstance(draw, Refused):
                    self._refused_until = draw.retry_at
                    self.tally.refusals += 1
                    self.tally.reasons[draw.reason] = self.tally.reasons.get(draw.reason, 0) + 1
                    return self._wait_for(draw.retry_at, now)
                self._leases.append(_Lease(draw, draw.count))
                start = self._take_local(count)
                assert start is not None
        delay = start - self._clock()
        if delay > 0:
            self.tally.slept_seconds += delay
            await self._sleep(delay)
        return None

    def give_back(self, count: int) -> None:
        """Recipients acquired but not sent: back into the invocation's pool."""
        if count > 0 and self._leases:
            self._leases[-1].left += count

    async def pause(self, until: float) -> None:
        """The relay said stop (a quota or rate reply): nobody draws until `until`, here or anywhere."""
        self.tally.paused += 1
        self._refused_until = max(self._refused_until, until)
        await self._budget.pause(until, now=self._clock())

    async def settle(self) -> None:
        """Refund what this invocation drew and did not use."""
        leases, self._leases = self._leases, []
        for lease in leases:
            if lease.left > 0:
                try:
                    await self._budget.refund(lease.grant, lease.left, now=self._clock())
                except Exception as error:  # a lost refund only makes the budget stricter
                    log.warning("budget refund failed", extra={"count": lease.left, "error": str(error)})

    async def _draw(self, count: int, now: float) -> Granted | Refused:
        size = max(count, self._chunk)
        self.tally.draws += 1
        draw = await self._budget.draw(size, now=now)
        if isinstance(draw, Refused) and size > count:
            self.tally.draws += 1
            draw = await self._budget.draw(count, now=now)
        return draw

    def _take_local(self, count: int) -> float | None:
        """Take `count` from the leases (oldest first); the latest start among them, or None if too few."""
        if sum(lease.left for lease in self._leases) < count:
            return None
        start, needed = 0.0, count
        for lease in self._leases:
            taken = min(lease.left, needed)
            if taken:
                lease.left -= taken
                needed -= taken
                start = max(start, lease.grant.start_at)
            if not needed:
                break
        return start

    @staticmethod
    def _wait_for(when: float, now: float) -> float:
        return float(max(MIN_WAIT_SECONDS, math.ceil(when - now)))
