"""The benchmark's cost arithmetic (bench/cost.py): pure functions, no benchmark is run."""

from __future__ import annotations

import pytest

from bench.cost import PRICES, Prices, cost_per_million, ses_usd_per_million, sqs_requests_per_message


def test_lambda_compute_is_duration_times_memory_times_the_arm64_price() -> None:
    # 100 messages at 100 msg/s: 1 s per invocation, 10,000 invocations, 0.5 GB each: 5,000 GB-s.
    cost = cost_per_million(100.0, 100, 512)
    assert cost.invocation_seconds == 1.0
    assert cost.lambda_compute_usd == pytest.approx(5_000 * PRICES.lambda_arm64_usd_per_gb_second)
    assert cost.lambda_requests_usd == pytest.approx(10_000 / 1e6 * PRICES.lambda_usd_per_million_requests)


def test_duration_is_billed_in_whole_milliseconds() -> None:
    cost = cost_per_million(3.0, 1, 1024)  # 333.33 ms, billed as 334
    assert cost.invocation_seconds == 0.334
    assert cost.lambda_compute_usd == pytest.approx(1e6 * 0.334 * PRICES.lambda_arm64_usd_per_gb_second)


def test_sqs_receives_and_deletes_ten_at_a_time_and_changes_visibility_only_for_retries() -> None:
    assert sqs_requests_per_message() == pytest.approx(0.2)
    assert sqs_requests_per_message(retried_fraction=1.0) == pytest.approx(0.3)
    assert cost_per_million(100.0, 10, 512).sqs_usd == pytest.approx(0.2 * PRICES.sqs_standard_usd_per_million_requests)


def test_the_total_is_lambda_and_sqs_and_the_ledger_is_shown_beside_it() -> None:
    cost = cost_per_million(150.0, 100, 512).as_dict()
    assert cost["usd"] == pytest.approx(cost["lambda_compute_usd"] + cost["lambda_requests_usd"] + cost["sqs_usd"])
    assert cost["usd_with_ledger"] == pytest.approx(cost["usd"] + 2 * PRICES.dynamodb_on_demand_usd_per_million_writes)


def test_bigger_batches_cost_fewer_requests_at_the_same_rate() -> None:
    small, large = cost_per_million(100.0, 10, 512), cost_per_million(100.0, 1000, 512)
    assert large.lambda_requests_usd < small.lambda_requests_usd
    assert large.lambda_compute_usd == pytest.approx(small.lambda_compute_usd)


def test_ses_reference_price_is_per_thousand_emails() -> None:
    assert ses_usd_per_million() == pytest.approx(100.0)
    assert ses_usd_per_million(Prices(ses_usd_per_thousand_emails=0.12)) == pytest.approx(120.0)


def test_prices_say_where_they_come_from() -> None:
    assert PRICES.as_of and PRICES.region == "us-east-1"
    assert all(source.startswith("https://aws.amazon.com/") for source in PRICES.sources)


@pytest.mark.parametrize(("rate", "batch"), [(0.0, 10), (10.0, 0), (-1.0, 10)])
def test_a_rate_or_batch_of_zero_is_refused(rate: float, batch: int) -> None:
    with pytest.raises(ValueError):
        cost_per_million(rate, batch, 512)
