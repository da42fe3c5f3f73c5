"""When to try a deferred recipient again: the retry schedule, as data, like an MTA's queue manager.

A schedule is a list of waits ("5m, 10m, 20m, 40m, 1h, 2h, 4h": the last one repeats) and a
give-up horizon measured from the message's arrival ("2d"). After a failed attempt the next one
waits the schedule's delay for that attempt, with a small deterministic jitter so that messages
deferred together by a busy relay do not come back together. A delay the server states in its
reply ("try again in 300 seconds", greylisting) is honoured instead, but never below a floor.
The last wait is cut so that the last attempt happens at the horizon; a failure at or past the
horizon gives up (RFC 3463 4.4.7, delivery time expired).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(text: str) -> float:
    """'300', '300s', '5m', '1.5h', '2d' -> seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration (examples: 90s, 5m, 1h, 2d)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def parse_delays(text: str) -> tuple[float, ...]:
    """'5m, 10m, 1h*3' -> (300, 600, 3600, 3600, 3600): a compact schedule, as Haraka writes it."""
    delays: list[float] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        duration, _, times = item.partition("*")
        count = int(times) if times.strip() else 1
        if count < 1:
            raise ValueError(f"{item!r}: a repeat count must be at least 1")
        delays += [parse_duration(duration)] * count
    if not delays:
        raise ValueError(f"{text!r} has no delays")
    return tuple(delays)


DEFAULT_STREAM = "transactional"  # the stream a request without one belongs to


@dataclass(frozen=True)
class RetryAfter:
    """Try the recipient again after this many seconds."""

    seconds: float


@dataclass(frozen=True)
class GiveUp:
    """The recipient is past the give-up horizon: it bounces as expired."""

    age_seconds: float


RetryDecision = RetryAfter | GiveUp


@dataclass(frozen=True)
class RetrySchedule:
    """An MTA-style retry schedule: the delays between attempts and the give-up horizon."""

    delays: tuple[float, ...] = (300, 600, 1200, 2400, 3600, 7200, 14400)
    max_age_seconds: float = 2 * 86400
    jitter: float = 0.1  # +/- this fraction of the scheduled delay
    stated_delay_floor: float = 60.0  # the least we wait when the server names its own delay

    def __post_init__(self) -> None:
        if not self.delays or any(d <= 0 for d in self.delays):
            raise ValueError("a retry schedule needs positive delays")
        if self.max_age_seconds <= 0:
            raise ValueError("a retry schedule needs a positive maximum age")
        if not 0 <= self.jitter < 1:
            raise ValueError("retry jitter must be in [0, 1)")
        if self.stated_delay_floor < 0:
            raise ValueError("the stated-delay floor must not be negative")

    @classmethod
    def parse(
        cls, delays: str, max_age: str, *, stated_delay_floor: str | None = None, jitter: float = 0.1
    ) -> RetrySchedule:
        floor = parse_duration(stated_delay_floor) if stated_delay_floor else cls.stated_delay_floor
        return cls(parse_delays(delays), parse_duration(max_age), jitter, floor)

    def scheduled_delay(self, attempt: int) -> float:
        """The wait after failed attempt `attempt` (1-based), before jitter."""
        return self.delays[min(max(attempt, 1), len(self.delays)) - 1]

    def after_failure(
        self, attempt: int, *, age_seconds: float, stated_delay: float | None = None, jitter_key: str = ""
    ) -> RetryDecision:
        """What to do after failed attempt `attempt` of a message that arrived `age_seconds` ago."""
        remaining = self.max_age_seconds - age_seconds
        if remaining <= 0:
            return GiveUp(age_seconds)
        if stated_delay is not None:
            delay = max(stated_delay, self.stated_delay_floor)
        else:
            delay = self.scheduled_delay(attempt)
            if self.jitter:
                digest = hashlib.blake2b(f"{jitter_key}/{attempt}".encode(), digest_size=8).digest()
                unit = int.from_bytes(digest, "big") / 2**64  # deterministic in [0, 1)
                delay *= 1 + self.jitter * (2 * unit - 1)
        return RetryAfter(min(delay, remaining))

    def attempts_within_horizon(self) -> list[float]:
        """Times (seconds after arrival) of every attempt if each one fails, without jitter: the documented schedule."""
        times, at, attempt = [0.0], 0.0, 1
        while at < self.max_age_seconds:
            at = min(at + self.scheduled_delay(attempt), self.max_age_seconds)
            times.append(at)
            attempt += 1
        return times
