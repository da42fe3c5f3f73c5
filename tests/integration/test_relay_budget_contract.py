"""One relay-budget contract, two implementations: in memory, and DynamoDB (moto server).

The table is created from RelayBudgetTable's definition in template.yaml. The last tests draw from
the DynamoDB budget from several threads at once, each with its own adapter (as separate Lambda
containers would): the quota is never exceeded, and the rate's starts never run ahead of it.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from maildispatch.adapters.dynamodb_budget import DynamoDbRelayBudget
from maildispatch.core.budget import BudgetConfig, Granted, Refused
from tests.fakes.budget import InMemoryRelayBudget
from tests.stack.moto import aws_client
from tests.stack.provision import create_table_from_template

T0 = 1_800_000_000.0  # on a bucket boundary
RATE = BudgetConfig(rate_per_second=10, burst=10, max_sleep=1.0)
QUOTA = BudgetConfig(daily_quota=25)
BOTH = BudgetConfig(rate_per_second=10, burst=10, daily_quota=25)


@pytest.fixture(scope="module")
def table(moto_server):
    ddb = aws_client("dynamodb", moto_server.endpoint_url)
    return ddb, create_table_from_template(ddb, "RelayBudgetTable")


_relays = iter(range(10**6))


@pytest.fixture(params=["memory", "dynamodb"])
def make_budget(request):
    def memory(config: BudgetConfig):
        return InMemoryRelayBudget(config)

    if request.param == "memory":
        return memory
    ddb, name = request.getfixturevalue("table")

    def dynamodb(config: BudgetConfig):
        return DynamoDbRelayBudget(ddb, name, f"relay-{next(_relays)}", config)

    return dynamodb


def draw(budget, count, now):
    return asyncio.run(budget.draw(count, now=now))


def test_an_idle_relay_grants_a_burst_at_once(make_budget):
    budget = make_budget(RATE)

    assert draw(budget, 10, T0) == Granted(10, T0)


def test_the_next_draws_are_paced_then_refused_beyond_the_wait_allowed(make_budget):
    budget = make_budget(RATE)
    draw(budget, 10, T0)

    paced = draw(budget, 5, T0)
    refused = draw(budget, 10, T0)

    assert isinstance(paced, Granted) and paced.start_at == pytest.approx(T0 + 0.5)
    assert isinstance(refused, Refused) and refused.reason == "rate"
    assert refused.retry_at == pytest.approx(T0 + 1.5)
    assert isinstance(draw(budget, 10, refused.retry_at), Granted)


def test_the_quota_grants_up_to_its_size_and_says_when_room_frees(make_budget):
    budget = make_budget(QUOTA)

    assert isinstance(draw(budget, 20, T0), Granted)
    assert isinstance(draw(budget, 5, T0 + 700), Granted)  # the next bucket
    refused = draw(budget, 1, T0 + 3600)

    assert refused == Refused(T0 + 86_400 + 600, "quota")  # when the first bucket leaves the window
    assert isinstance(draw(budget, 20, T0 + 86_400 + 600), Granted)


def test_a_refund_gives_quota_back(make_budget):
    budget = make_budget(QUOTA)
    granted = draw(budget, 25, T0)

    asyncio.run(budget.refund(granted, 5, now=T0))

    assert isinstance(draw(budget, 5, T0 + 1), Granted)
    assert isinstance(draw(budget, 1, T0 + 2), Refused)


def test_a_quota_refusal_costs_no_rate(make_budget):
    budget = make_budget(BOTH)
    draw(budget, 25, T0 + 0.0)  # the quota is spent (the rate overdrawn by 15: paid back by T0 + 2.5)

    assert draw(budget, 1, T0 + 3).reason == "quota"
    assert isinstance(draw(budget, 1, T0 + 86_400 + 600), Granted)


def test_a_pause_refuses_every_draw_until_it_ends_and_a_shorter_pause_changes_nothing(make_budget):
    for config in (RATE, QUOTA):
        budget = make_budget(config)
        asyncio.run(budget.pause(T0 + 60, now=T0))
        asyncio.run(budget.pause(T0 + 30, now=T0))

        assert draw(budget, 1, T0 + 59) == Refused(T0 + 60, "paused")
        assert isinstance(draw(budget, 1, T0 + 60), Granted)


# --- concurrency: several containers, one table ---------------------------------------------


def run_threads(count: int, work) -> list:
    results: list = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        out = work(index)
        with lock:
            results.extend(out)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_containers_never_exceed_the_quota(table):
    ddb, name = table
    config = BudgetConfig(daily_quota=40)

    def container(index: int) -> list:
        budget = DynamoDbRelayBudget(ddb, name, "shared-quota", config)
        return [budget.draw_now(3, T0 + 0.01 * i) for i in range(8)]

    draws = run_threads(4, container)  # 4 x 8 draws of 3 = 96 wanted

    granted = sum(d.count for d in draws if isinstance(d, Granted))
    assert granted == 39  # 13 draws of 3: the 14th would make 42
    state = DynamoDbRelayBudget(ddb, name, "shared-quota", config).state_now()
    assert sum(state["quota_buckets"].values()) == 39


def test_concurrent_containers_are_paced_together(table):
    ddb, name = table
    config = BudgetConfig(rate_per_second=10, burst=10, max_sleep=1.0)

    def container(index: int) -> list:
        budget = DynamoDbRelayBudget(ddb, name, "shared-rate", config)
        return [budget.draw_now(5, T0) for _ in range(6)]

    draws = run_threads(4, container)  # 24 draws of 5 at one instant

    granted = sorted(d.start_at for d in draws if isinstance(d, Granted))
    assert len(granted) == 4  # a burst of 10, then 10 more within the second allowed: 20 recipients
    assert granted == pytest.approx([T0, T0, T0 + 0.5, T0 + 1.0])
    assert all(isinstance(d, Granted) or d.retry_at >= T0 + 1.0 for d in draws)
