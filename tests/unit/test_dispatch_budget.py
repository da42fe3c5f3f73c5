"""The dispatch service and the relay's budget: an empty budget and a quota reply make records wait, never fail."""

from __future__ import annotations

import asyncio

from maildispatch.core.budget import BudgetConfig
from maildispatch.core.ledger import RecipientState
from maildispatch.core.retry import RetrySchedule
from maildispatch.core.suppression import Suppression, SuppressionReason
from maildispatch.services.dispatch import DispatchPolicy, DispatchService
from maildispatch.services.pacing import RelayPacer
from tests.fakes.budget import InMemoryRelayBudget
from tests.fakes.ledger import InMemoryLedger
from tests.fakes.services import (
    CollectingDeadLetters,
    CollectingRequeue,
    FakeContentStore,
    ManualClock,
    ScriptedTransport,
    sqs_record,
)
from tests.fakes.stores import InMemorySuppressionList

SCHEDULE = RetrySchedule(delays=(60, 120, 240), max_age_seconds=86_400, jitter=0, stated_delay_floor=30)
GMAIL_DAILY = "550 5.4.5 Daily user sending limit exceeded. - gsmtp"
SES_RATE = "454 Throttling failure: Maximum sending rate exceeded"
DAILY_500 = BudgetConfig(daily_quota=500)


def request(key: str = "c1-0001", to: tuple[str, ...] = ("binh@example.net",)) -> dict:
    return {"message_key": key, "from": "shop@example.com", "to": list(to), "subject": "Spring", "text": "Hi"}


class Harness:
    def __init__(self, script=None, *, config: BudgetConfig | None = DAILY_500) -> None:
        self.clock = ManualClock()
        self.transport = ScriptedTransport(script or {})
        self.ledger = InMemoryLedger(clock=self.clock)
        self.dead_letters = CollectingDeadLetters()
        self.suppressions = InMemorySuppressionList({})
        self.store = InMemoryRelayBudget(config) if config is not None else None
        self.requeue = CollectingRequeue()
        self.policy = DispatchPolicy(
            reporting_mta="dispatch.test", retry=SCHEDULE, quota_pause_seconds=3600, rate_pause_seconds=60
        )

    def process(self, body: dict, **record_args):
        async def run():
            pacer = None
            if self.store is not None:
                pacer = RelayPacer(self.store, self.store.config, chunk=1, clock=self.clock, sleep=self._sleep)
            service = DispatchService(
                self.transport,
                self.ledger,
                FakeContentStore(),
                self.dead_letters,
                self.policy,
                suppressions=self.suppressions,
                requeue=self.requeue,
                pacer=pacer,
                invocation_id="inv",
                clock=self.clock,
            )
            result = await service.process(sqs_record(body, **record_args))
            if pacer is not None:
                await pacer.settle()
            return result, dict(service.tally.counts)

        return asyncio.run(run())

    async def _sleep(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def attempts(self, key: str, recipient: str) -> int | None:
        row = self.ledger.rows.get((key, recipient))
        return row.attempts if row else None


def test_an_empty_budget_makes_the_record_wait_and_touches_nothing() -> None:
    h = Harness(config=BudgetConfig(rate_per_second=0.1, burst=1))
    h.process(request("c1-0001"))

    result, tally = h.process(request("c1-0002", ("an@example.net",)), message_id="m-2")

    assert not result.done and result.visible_after == 10  # the relay's next free moment
    assert tally == {"from_sqs": 1, "budget_waits": 1}
    assert h.transport.copies_received("an@example.net") == 0
    assert h.ledger.state_of("c1-0002", "an@example.net") is None  # no claim, no attempt
    assert h.dead_letters.reports == []
    h.clock.advance(10)
    again, _ = h.process(request("c1-0002", ("an@example.net",)), message_id="m-2", receive_count=2)
    assert again.done and h.attempts("c1-0002", "an@example.net") == 1


def test_a_spent_daily_quota_waits_past_what_visibility_reaches_as_a_fresh_copy() -> None:
    h = Harness(config=BudgetConfig(daily_quota=1))
    h.process(request("c1-0001"))

    result, tally = h.process(request("c1-0002", ("an@example.net",)), message_id="m-2")

    assert result.done and tally["requeued"] == 1  # a day is beyond SQS visibility: re-enqueued, delayed
    [(_, delay, attributes)] = h.requeue.sent
    assert delay == 900 and attributes["maildispatch-message-key"] == "c1-0002"
    assert h.ledger.state_of("c1-0002", "an@example.net") is None


def test_a_quota_reply_leaves_the_recipient_queued_pauses_the_relay_and_the_record_waits() -> None:
    h = Harness({"binh@example.net": [GMAIL_DAILY, "250 2.0.0 OK"]})

    result, tally = h.process(request())

    assert not result.done and result.visible_after == 3600
    assert tally["relay_quota"] == 1 and tally["relay_quota_daily"] == 1 and "bounced" not in tally
    assert h.ledger.state_of("c1-0001", "binh@example.net") is None  # queued, as if never tried
    assert h.dead_letters.reports == []  # no bounce, so no suppression and no DSN
    assert h.store is not None and h.store.paused_until == h.clock() + 3600
    assert h.store.used(h.clock()) == 0  # the refused recipient's quota was given back

    h.clock.advance(1800)
    early, _ = h.process(request())  # the pause holds for every record
    assert not early.done and early.visible_after == 1800

    h.clock.advance(1800)
    later, tally = h.process(request())
    assert later.done and tally["delivered"] == 1
    assert h.attempts("c1-0001", "binh@example.net") == 1  # the quota reply was not an attempt


def test_a_quota_reply_to_a_deferred_recipient_keeps_its_attempts() -> None:
    h = Harness({"binh@example.net": ["451 4.3.0 Try later", SES_RATE, "250 2.0.0 OK"]})
    first, _ = h.process(request())
    h.clock.advance(first.visible_after)

    second, tally = h.process(request())

    assert second.visible_after == 60 and tally["relay_quota_rate"] == 1
    assert h.ledger.state_of("c1-0001", "binh@example.net") is RecipientState.DEFERRED
    assert h.attempts("c1-0001", "binh@example.net") == 1  # only the 451 counts
    h.clock.advance(60)
    third, _ = h.process(request())
    assert third.done and h.ledger.state_of("c1-0001", "binh@example.net") is RecipientState.DELIVERED
    assert h.dead_letters.reports == []


def test_only_the_recipients_the_relay_refused_for_its_quota_wait() -> None:
    h = Harness({"an@example.net": [GMAIL_DAILY, "250 2.0.0 OK"], "ghost@example.net": ["550 5.1.1 No such user"]})

    result, _ = h.process(request(to=("binh@example.net", "an@example.net", "ghost@example.net")))

    assert not result.done
    assert h.ledger.state_of("c1-0001", "binh@example.net") is RecipientState.DELIVERED
    assert h.ledger.state_of("c1-0001", "ghost@example.net") is RecipientState.BOUNCED
    assert h.ledger.state_of("c1-0001", "an@example.net") is None
    [report] = h.dead_letters.reports
    assert [r.address for r in report.recipients] == ["ghost@example.net"]


def test_without_a_budget_a_quota_reply_still_bounces_no_one() -> None:
    h = Harness({"binh@example.net": [GMAIL_DAILY]}, config=None)

    result, _ = h.process(request())

    assert not result.done and result.visible_after == 3600
    assert h.dead_letters.reports == [] and h.ledger.state_of("c1-0001", "binh@example.net") is None


def test_too_many_recipients_retries_the_rest_a_moment_later_without_pausing_the_relay() -> None:
    h = Harness({"an@example.net": ["452 4.5.3 Your message has too many recipients", "250 2.0.0 OK"]})

    result, tally = h.process(request(to=("binh@example.net", "an@example.net")))

    assert not result.done and result.visible_after == 1
    assert tally["relay_quota_recipients"] == 1
    assert h.store is not None and h.store.paused_until == 0.0
    h.clock.advance(1)
    again, _ = h.process(request(to=("binh@example.net", "an@example.net")))
    assert again.done and h.transport.copies_received("an@example.net") == 1
    assert h.transport.copies_received("binh@example.net") == 1


def test_suppressed_and_already_delivered_recipients_cost_no_quota() -> None:
    h = Harness()
    h.process(request(to=("binh@example.net",)))
    h.suppressions.entries["ghost@example.net"] = Suppression("ghost@example.net", SuppressionReason.HARD_BOUNCE)

    h.process(request(to=("binh@example.net", "an@example.net", "ghost@example.net")), message_id="m-2")

    assert h.store is not None and h.store.used(h.clock()) == 2  # binh once, an once; ghost never


def test_a_backlog_beyond_the_budget_backs_off_instead_of_coming_back_every_second() -> None:
    h = Harness(config=BudgetConfig(rate_per_second=0.5, burst=1))
    h.process(request("c1-0001"))  # the relay is busy for the next 2 seconds

    waits = [
        h.process(request("c1-0002", ("an@example.net",)), message_id="m-2", receive_count=n)[0].visible_after
        for n in (1, 2, 3, 4)
    ]

    assert waits[0] == 2 and waits[1] >= 2 and waits[2] >= 4 and waits[3] >= 8
    assert all(w <= max(2, 1.5 * 2 ** (n - 1)) + 1 for n, w in zip((1, 2, 3, 4), waits, strict=True))
