"""How a record waits on SQS for what is still due: its own visibility, or a fresh copy."""

import pytest

from maildispatch.core.decisions import MAX_VISIBILITY_SECONDS, WaitRequeued, WaitVisible, plan_wait

DAY = 86400


def plan(seconds, *, receive_count=1, age=0.0, retention=4 * DAY, requeue_after=5):
    return plan_wait(
        seconds,
        receive_count=receive_count,
        enqueued_age_seconds=age,
        retention_seconds=retention,
        requeue_after_receives=requeue_after,
    )


def test_a_short_wait_uses_the_records_visibility():
    assert plan(299.2) == WaitVisible(300)
    assert plan(0.01) == WaitVisible(1)


def test_a_wait_beyond_twelve_hours_is_a_fresh_copy_delayed_at_most_fifteen_minutes():
    assert plan(MAX_VISIBILITY_SECONDS + 1) == WaitRequeued(900)


def test_a_wait_that_would_outlive_the_queues_retention_is_a_fresh_copy():
    assert plan(4 * 3600, age=4 * DAY - 4.5 * 3600) == WaitRequeued(900)  # would come back within the hour of expiry
    assert plan(4 * 3600, age=2 * DAY) == WaitVisible(4 * 3600)


@pytest.mark.parametrize("receive_count, expected", [(4, WaitVisible(60)), (5, WaitRequeued(60))])
def test_a_record_received_often_is_renewed_so_only_crashes_reach_the_redrive_limit(receive_count, expected):
    assert plan(60, receive_count=receive_count) == expected
