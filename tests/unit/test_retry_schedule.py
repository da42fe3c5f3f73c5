"""The retry schedule: exponential from the attempt number, capped, jittered, honouring stated delays."""
import pytest
from hypothesis import given, settings, strategies as st

from maildispatch.retry import MAX_VISIBILITY_SECONDS, RetrySchedule


def test_delays_double_from_the_base_without_jitter():
    schedule = RetrySchedule(base_seconds=60, max_delay_seconds=10_000, max_attempts=8, jitter=0)
    assert [schedule.delay_after(n) for n in range(1, 6)] == [60, 120, 240, 480, 960]


def test_delays_are_capped():
    schedule = RetrySchedule(base_seconds=60, max_delay_seconds=300, max_attempts=8, jitter=0)
    assert schedule.delay_after(7) == 300


def test_a_longer_stated_delay_wins_and_a_shorter_one_does_not():
    schedule = RetrySchedule(base_seconds=60, max_attempts=8, jitter=0)
    assert schedule.delay_after(1, stated_delay=900) == 900
    assert schedule.delay_after(1, stated_delay=5) == 60


def test_jitter_is_deterministic_per_message_and_spreads_messages():
    schedule = RetrySchedule(base_seconds=600, max_attempts=8, jitter=0.1)
    assert schedule.delay_after(1, jitter_key="a") == schedule.delay_after(1, jitter_key="a")
    delays = {schedule.delay_after(1, jitter_key=str(i)) for i in range(50)}
    assert len(delays) > 10 and all(540 <= d <= 660 for d in delays)


def test_the_last_attempt_is_known():
    schedule = RetrySchedule(max_attempts=3)
    assert [schedule.is_last_attempt(n) for n in (1, 2, 3, 4)] == [False, False, True, True]


def test_the_give_up_horizon_is_the_sum_of_the_waits():
    schedule = RetrySchedule(base_seconds=60, max_delay_seconds=10_000, max_attempts=4, jitter=0)
    assert schedule.total_horizon_seconds() == 60 + 120 + 240


@settings(max_examples=200, deadline=None)
@given(attempt=st.integers(1, 200), stated=st.one_of(st.none(), st.floats(0, 1e7)), key=st.text(max_size=20))
def test_no_delay_ever_exceeds_what_sqs_accepts(attempt, stated, key):
    delay = RetrySchedule(base_seconds=60, max_attempts=200).delay_after(attempt, stated_delay=stated, jitter_key=key)
    assert 0 <= delay <= MAX_VISIBILITY_SECONDS


@pytest.mark.parametrize("args", [dict(base_seconds=0), dict(max_attempts=0), dict(jitter=1.5), dict(base_seconds=10, max_delay_seconds=5)])
def test_a_nonsensical_schedule_is_refused(args):
    with pytest.raises(ValueError):
        RetrySchedule(**args)
