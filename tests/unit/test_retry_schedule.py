"""The retry schedule: data (waits and a give-up horizon), jittered, honouring stated delays with a floor."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maildispatch.core.retry import GiveUp, RetryAfter, RetrySchedule, parse_delays, parse_duration

MTA_LIKE = RetrySchedule.parse("5m,10m,20m,40m,1h,2h,4h", "2d", stated_delay_floor="60s", jitter=0)


def test_durations_read_as_people_write_them():
    assert [parse_duration(t) for t in ("90", "90s", "5m", "1.5h", "2d", "250ms")] == [90, 90, 300, 5400, 172800, 0.25]
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")


def test_a_schedule_is_a_compact_list_of_waits():
    assert parse_delays("5m, 10m, 1h*3") == (300, 600, 3600, 3600, 3600)
    with pytest.raises(ValueError):
        parse_delays(" , ")


def test_each_failure_waits_the_next_delay_and_the_last_one_repeats():
    waits = [MTA_LIKE.after_failure(n, age_seconds=0) for n in (1, 2, 3, 7, 8, 30)]
    assert waits == [
        RetryAfter(300),
        RetryAfter(600),
        RetryAfter(1200),
        RetryAfter(14400),
        RetryAfter(14400),
        RetryAfter(14400),
    ]


def test_the_last_wait_is_cut_so_the_last_attempt_happens_at_the_horizon():
    two_days = 2 * 86400
    assert MTA_LIKE.after_failure(20, age_seconds=two_days - 1000) == RetryAfter(1000)


def test_a_failure_at_or_past_the_horizon_gives_up():
    assert MTA_LIKE.after_failure(3, age_seconds=2 * 86400) == GiveUp(2 * 86400)


def test_the_documented_schedule_lists_every_attempt_until_the_horizon():
    times = RetrySchedule.parse("5m,10m", "30m", jitter=0).attempts_within_horizon()
    assert times == [0, 300, 900, 1500, 1800]


def test_a_stated_delay_is_honoured_instead_of_the_schedule_but_never_below_the_floor():
    assert MTA_LIKE.after_failure(1, age_seconds=0, stated_delay=900) == RetryAfter(900)
    assert MTA_LIKE.after_failure(6, age_seconds=0, stated_delay=120) == RetryAfter(120)  # greylisting: sooner than 2h
    assert MTA_LIKE.after_failure(1, age_seconds=0, stated_delay=1) == RetryAfter(
        60
    )  # "try again in 1 second": the floor


def test_jitter_is_deterministic_per_message_and_spreads_messages():
    schedule = RetrySchedule(delays=(600,), max_age_seconds=86400, jitter=0.1)
    first = schedule.after_failure(1, age_seconds=0, jitter_key="a")
    assert first == schedule.after_failure(1, age_seconds=0, jitter_key="a")
    delays = {schedule.after_failure(1, age_seconds=0, jitter_key=str(i)).seconds for i in range(50)}
    assert len(delays) > 10 and all(540 <= d <= 660 for d in delays)


@settings(max_examples=200, deadline=None)
@given(
    attempt=st.integers(1, 500),
    age=st.floats(0, 4 * 86400),
    stated=st.one_of(st.none(), st.floats(0, 1e7)),
    key=st.text(max_size=20),
)
def test_no_wait_ever_passes_the_horizon(attempt, age, stated, key):
    decision = RetrySchedule().after_failure(attempt, age_seconds=age, stated_delay=stated, jitter_key=key)
    if age >= 2 * 86400:
        assert isinstance(decision, GiveUp)
    else:
        assert isinstance(decision, RetryAfter) and 0 < decision.seconds <= 2 * 86400 - age + 1e-6


@pytest.mark.parametrize(
    "args", [dict(delays=()), dict(delays=(0,)), dict(max_age_seconds=0), dict(jitter=1.5), dict(stated_delay_floor=-1)]
)
def test_a_nonsensical_schedule_is_refused(args):
    with pytest.raises(ValueError):
        RetrySchedule(**args)
