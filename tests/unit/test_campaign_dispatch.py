"""The dispatch service and campaigns: the campaign's state decides before any claim; health pauses it."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from maildispatch.core.campaign import (
    CampaignRecord,
    CampaignState,
    parse_campaign,
    recipient_from_fields,
    send_request_for,
)
from maildispatch.core.retry import RetrySchedule
from maildispatch.services.dispatch import DispatchPolicy, DispatchService
from tests.fakes.campaigns import InMemoryCampaignStore
from tests.fakes.ledger import InMemoryLedger
from tests.fakes.services import (
    CollectingDeadLetters,
    CollectingPublisher,
    CollectingRequeue,
    FakeContentStore,
    ManualClock,
    ScriptedTransport,
    sqs_record,
)

SCHEDULE = RetrySchedule(delays=(60, 120, 240), max_age_seconds=3600, jitter=0, stated_delay_floor=30)
SPEC = parse_campaign(
    {
        "id": "c1",
        "list": {"bucket": "b", "key": "l.csv"},
        "from": "news@shop.example.com",
        "template": {"subject": "Hi", "text": "Hello {{ name }}"},
        "health": {"bounce_rate": 0.05, "min_sample": 20},
    }
)


def body(n: int) -> dict:
    recipient = recipient_from_fields({"email": f"user{n}@example.net", "name": f"U{n}"}, row=n, offset=0)
    return send_request_for(SPEC, recipient)


class World:
    def __init__(self, state=CampaignState.RUNNING, script=None):
        self.clock = ManualClock()
        self.store = InMemoryCampaignStore({"c1": CampaignRecord(SPEC, state)})
        self.transport = ScriptedTransport(script or {})
        self.ledger = InMemoryLedger(clock=self.clock)
        self.dead_letters = CollectingDeadLetters()
        self.requeue = CollectingRequeue()
        self.events = CollectingPublisher()

    def process(self, *numbers: int):
        service = DispatchService(
            self.transport,
            self.ledger,
            FakeContentStore(),
            self.dead_letters,
            DispatchPolicy(reporting_mta="dispatch.test", retry=SCHEDULE, campaign_pause_wait_seconds=45),
            requeue=self.requeue,
            campaigns=self.store,
            campaign_events=self.events,
            clock=self.clock,
        )

        async def run():
            results = await asyncio.gather(*(service.process(sqs_record(body(n), message_id=f"m{n}")) for n in numbers))
            await service.flush_campaign_counts()  # as the function does when the invocation's records are done
            return results

        return asyncio.run(run()), service.tally


def test_a_running_campaigns_recipients_are_sent_and_the_state_is_read_once_per_invocation():
    world = World()
    results, _ = world.process(1, 2, 3)
    assert all(r.done for r in results)
    assert world.transport.copies_received("user1@example.net") == 1
    assert world.store.gets == 1
    assert world.store.records["c1"].attempted == 3


def test_a_paused_campaigns_records_wait_without_a_claim():
    world = World(CampaignState.PAUSED)
    results, tally = world.process(1, 2)
    assert [(r.done, r.visible_after) for r in results] == [(False, 45), (False, 45)]
    assert not world.ledger.rows and not world.transport.deliveries
    assert tally["campaign_held"] == 2


def test_a_cancelled_or_expired_campaigns_records_are_dropped_unsent():
    for state in (CampaignState.CANCELLED, CampaignState.EXPIRED):
        world = World(state)
        results, tally = world.process(1)
        assert results[0].done and not world.transport.deliveries and not world.ledger.rows
        assert tally["campaign_dropped"] == 1
    world = World()
    world.store.records["c1"] = replace(world.store.records["c1"], spec=replace(SPEC, send_by=world.clock() - 1))
    results, tally = world.process(1)
    assert results[0].done and not world.transport.deliveries


def test_a_recipient_enqueued_again_is_not_sent_again_nor_reported_as_a_reused_key():
    world = World()
    world.process(1)
    world.process(1)
    assert world.transport.copies_received("user1@example.net") == 1
    assert not world.dead_letters.reports


def test_over_its_bounce_rate_the_campaign_pauses_itself_and_says_why():
    script = {f"user{n}@example.net": ["550 5.1.1 no such user"] for n in range(1, 5)}
    world = World(script=script)
    results, tally = world.process(*range(1, 21))
    record = world.store.records["c1"]
    assert record.state is CampaignState.PAUSED
    assert record.reason.startswith("health: bounce rate 20.0%")
    assert tally["campaigns_auto_paused"] == 1
    paused = [e for call in world.events.calls for e in call if e["DetailType"] == "Campaign Paused"]
    assert len(paused) == 1
    # the next invocation holds the rest
    results, tally = world.process(21)
    assert tally["campaign_held"] == 1 and not results[0].done


def test_an_ordinary_request_never_looks_at_campaigns():
    world = World()
    service_body = {
        "message_key": "order-1",
        "from": "a@example.com",
        "to": ["b@example.net"],
        "subject": "s",
        "text": "t",
    }
    service = DispatchService(
        world.transport,
        world.ledger,
        FakeContentStore(),
        world.dead_letters,
        DispatchPolicy(reporting_mta="dispatch.test", retry=SCHEDULE),
        campaigns=world.store,
        clock=world.clock,
    )
    assert asyncio.run(service.process(sqs_record(service_body))).done
    assert world.store.gets == 0


def test_complaints_count_toward_the_campaign_and_over_the_rate_pause_it():
    from datetime import UTC, datetime

    from maildispatch.core.report import BounceReport, FailedRecipient, ReportReason
    from maildispatch.services.reporting import BounceService, BounceSettings

    world = World()
    record = world.store.records["c1"]
    world.store.records["c1"] = replace(record, attempted=500)  # 500 delivered so far: 0.1 % is half a complaint
    service = BounceService(
        ScriptedTransport({}),
        world.events,
        BounceSettings(reporting_mta="bounce.test", postmaster="postmaster@bounce.test"),
        campaigns=world.store,
        clock=lambda: datetime(2026, 12, 5, 9, 0, tzinfo=UTC),
    )

    def complaint(address: str, matched_by: str = "verp") -> BounceReport:
        return BounceReport(
            reason=ReportReason.COMPLAINT,
            recipients=(FailedRecipient(address, "5.7.1", "abuse", classification="feedback"),),
            arrival_date=datetime(2026, 12, 5, 8, 0, tzinfo=UTC),
            message_key=body(1)["message_key"],
            source={"matched_by": matched_by},
        )

    asyncio.run(service.handle(complaint("user1@example.net", matched_by="none")))  # proves nothing: not counted
    assert world.store.records["c1"].complained == 0
    asyncio.run(service.handle(complaint("user1@example.net")))
    record = world.store.records["c1"]
    assert record.complained == 1 and record.state is CampaignState.PAUSED
    assert record.reason.startswith("health: complaint rate 0.20%")
    assert service.tally["campaigns_auto_paused"] == 1
