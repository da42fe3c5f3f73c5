"""The relay budget's arithmetic (core/budget.py) and one invocation's share of it (services/pacing.py)."""

from __future__ import annotations

import asyncio

import pytest

from maildispatch.core import budget
from maildispatch.core.budget import BudgetConfig, Granted, Refused
from maildispatch.services.pacing import RelayPacer
from tests.fakes.budget import InMemoryRelayBudget

T0 = 1_800_000_000.0  # a bucket boundary (divisible by 600)


# --- rate: GCRA -------------------------------------------------------------------------------


def test_an_idle_relay_sends_a_full_burst_at_once() -> None:
    config = BudgetConfig(rate_per_second=10, burst=10)

    assert budget.conforms(config, None, 10, T0) == Granted(10, T0)
    assert budget.conforms(config, T0 - 100, 10, T0) == Granted(10, T0)


def test_a_busy_relay_paces_draws_within_the_wait_allowed() -> None:
    config = BudgetConfig(rate_per_second=10, burst=10, max_sleep=1.0)
    tat = T0 + 1.0  # ten sent just now: the bucket is empty

    draw = budget.conforms(config, tat, 5, T0)

    assert draw == Granted(5, pytest.approx(T0 + 0.5))  # the fifth token refills half a second on


def test_a_draw_beyond_the_wait_allowed_is_refused_until_it_would_start_at_once() -> None:
    config = BudgetConfig(rate_per_second=10, burst=10, max_sleep=1.0)
    tat = T0 + 2.5

    draw = budget.conforms(config, tat, 10, T0)

    assert isinstance(draw, Refused) and draw.reason == "rate"
    assert draw.retry_at == pytest.approx(T0 + 2.5)  # then the bucket holds ten again
    assert budget.conforms(config, tat, 10, draw.retry_at) == Granted(10, pytest.approx(draw.retry_at))


def test_a_draw_larger_than_the_burst_goes_when_the_relay_is_idle_and_is_paid_back_after() -> None:
    config = BudgetConfig(rate_per_second=1, burst=1)

    assert budget.conforms(config, None, 50, T0) == Granted(50, T0)  # one request to 50 recipients
    assert isinstance(budget.conforms(config, T0 + 50, 1, T0 + 1), Refused)
    assert budget.conforms(config, T0 + 50, 1, T0 + 50) == Granted(1, T0 + 50)


def test_over_any_long_stretch_the_rate_is_never_exceeded() -> None:
    config = BudgetConfig(rate_per_second=50, burst=10, max_sleep=1.0)
    tat, now, starts = None, T0, []
    while now < T0 + 60:
        draw = budget.conforms(config, tat, 10, now)
        if isinstance(draw, Granted):
            base = now if tat is None or tat < now else tat
            tat = base + budget.cost_seconds(config, 10)
            starts.append(draw.start_at)
        now += 0.013  # eager callers, far faster than the rate
    sent_by = [sum(10 for s in starts if s <= T0 + t) for t in range(1, 60)]
    for second, sent in enumerate(sent_by, start=1):
        assert sent <= 50 * second + 10  # the rate, plus one burst
    assert sent_by[-1] >= 50 * 59  # and it is reached


# --- quota: rolling window --------------------------------------------------------------------


def test_the_window_covers_a_full_day_and_at_most_one_bucket_more() -> None:
    config = BudgetConfig(daily_quota=500)
    now = T0 + 123.0
    span = budget.window(config, now)

    assert span.start * 600 <= now - 86_400 < (span.start + 1) * 600
    assert span.stop - 1 == budget.bucket_of(config, now)


def test_the_quota_rolls_it_does_not_reset_at_midnight() -> None:
    config = BudgetConfig(daily_quota=500)
    counts = {budget.bucket_of(config, T0): 500}

    assert budget.room(config, counts, T0 + 3600) == 0
    assert budget.room(config, counts, T0 + 86_399) == 0  # still inside 24 hours
    assert budget.room(config, counts, T0 + 86_400 + 600) == 500  # that bucket left the window


def test_room_frees_when_the_oldest_buckets_leave_the_window() -> None:
    config = BudgetConfig(daily_quota=500)
    counts = {budget.bucket_of(config, T0): 300, budget.bucket_of(config, T0 + 7200): 200}
    now = T0 + 10_000

    assert budget.quota_frees_at(config, counts, now, 1) == T0 + 86_400 + 600
    assert budget.quota_frees_at(config, counts, now, 301) == T0 + 7200 + 86_400 + 600
    assert budget.quota_frees_at(config, {}, now, 10) == now


def test_the_current_bucket_may_hold_what_the_older_ones_leave() -> None:
    config = BudgetConfig(daily_quota=500)

    assert budget.current_bucket_limit(config, older=480, count=10) == 10
    assert budget.current_bucket_limit(config, older=495, count=10) == -5  # nothing fits


@pytest.mark.parametrize(
    "arguments",
    [
        {"rate_per_second": 0},
        {"rate_per_second": float("inf")},
        {"daily_quota": 0},
        {"burst": 0},
        {"bucket_seconds": 700},
    ],
)
def test_a_budget_that_makes_no_sense_is_refused(arguments: dict) -> None:
    with pytest.raises(ValueError):
        BudgetConfig(**arguments)


def test_no_rate_and_no_quota_is_no_budget() -> None:
    assert not BudgetConfig().enabled
    assert BudgetConfig(rate_per_second=1).enabled and BudgetConfig(daily_quota=1).enabled


# --- the pacer: one invocation's share --------------------------------------------------------


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(store: InMemoryRelayBudget, clock: Clock, chunk: int = 10) -> RelayPacer:
    return RelayPacer(store, store.config, chunk=chunk, clock=clock, sleep=clock.sleep)


def test_a_batch_of_one_recipient_records_draws_once() -> None:
    clock = Clock()
    store = InMemoryRelayBudget(BudgetConfig(rate_per_second=50, burst=10))
    share = pacer(store, clock)

    async def run() -> list[float | None]:
        return [await share.acquire(1) for _ in range(10)]

    assert asyncio.run(run()) == [None] * 10
    assert store.draws == [(T0, 10)]


def test_what_a_record_did_not_use_is_refunded_when_the_invocation_ends() -> None:
    clock = Clock()
    store = InMemoryRelayBudget(BudgetConfig(daily_quota=500))
    share = pacer(store, clock)

    async def run() -> None:
        await share.acquire(3)
        share.give_back(1)  # one recipient was suppressed
        await share.settle()

    asyncio.run(run())

    assert store.used(T0) == 2


def test_a_refused_draw_makes_the_record_wait_on_the_queue_and_the_batch_does_not_ask_again() -> None:
    clock = Clock()
    store = InMemoryRelayBudget(BudgetConfig(daily_quota=5))
    share = pacer(store, clock, chunk=1)

    async def run() -> list[float | None]:
        return [await share.acquire(1) for _ in range(8)]

    waits = asyncio.run(run())

    assert waits[:5] == [None] * 5
    assert waits[5:] == [86_400 + 600] * 3  # until the first bucket leaves the window
    assert store.writes == 6  # five grants, one refusal; the other two records asked no one


def test_a_short_wait_for_the_turn_is_slept_in_process() -> None:
    clock = Clock()
    store = InMemoryRelayBudget(BudgetConfig(rate_per_second=10, burst=10, max_sleep=1.0))
    share = pacer(store, clock, chunk=1)

    async def run() -> list[float | None]:
        return [await share.acquire(10), await share.acquire(5)]

    assert asyncio.run(run()) == [None, None]
    assert clock.slept == [pytest.approx(0.5)]


def test_a_pause_stops_every_later_record_of_the_invocation_and_reaches_the_store() -> None:
    clock = Clock()
    store = InMemoryRelayBudget(BudgetConfig(rate_per_second=50))
    share = pacer(store, clock)

    async def run() -> list[float | None]:
        first = await share.acquire(1)
        await share.pause(T0 + 600)
        return [first, await share.acquire(1)]

    assert asyncio.run(run()) == [None, 600]
    assert store.paused_until == T0 + 600


def test_a_paused_store_refuses_other_invocations_until_the_pause_ends() -> None:
    clock = Clock()
    store = InMemoryRelayBudget(BudgetConfig(rate_per_second=50), paused_until=T0 + 30)

    assert asyncio.run(pacer(store, clock).acquire(1)) == 30
    clock.now = T0 + 30
    assert asyncio.run(pacer(store, clock).acquire(1)) is None


def test_a_record_refused_again_and_again_waits_longer_each_time_up_to_a_minute() -> None:
    waits = [budget.refused_wait(1.0, receives, spread=0.0) for receives in range(1, 10)]

    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert budget.refused_wait(1.0, 3, spread=0.999) == pytest.approx(4 * 1.4995)  # spread: up to half again
    assert budget.refused_wait(3600.0, 9, spread=0.5) == 3600  # a pause keeps its own, longer time
