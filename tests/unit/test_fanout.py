"""The fan-out: every valid unique recipient enqueued, whatever kills it; progress saved only after the queue confirmed."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import replace

import pytest

from maildispatch.core.campaign import CampaignRecord, CampaignState, parse_campaign
from maildispatch.core.campaign_keys import recipient_key
from maildispatch.core.suppression import Suppression
from maildispatch.services.campaigns import CampaignControl
from maildispatch.services.fanout import FanoutPolicy, FanoutService
from tests.fakes.campaigns import (
    BytesLists,
    CollectingBatches,
    CollectingTrigger,
    InMemoryCampaignStore,
    LedgerCountsFromRows,
)
from tests.fakes.services import CollectingPublisher
from tests.fakes.stores import InMemorySuppressionList

BUCKET, KEY = "lists-bucket", "lists/c.csv"


def make_list(n: int, *, duplicates=(), invalid=(), missing=()) -> bytes:
    lines = ["email,name,code"]
    for i in range(1, n + 1):
        if i in invalid:
            lines.append(f"not-an-address-{i},X,C{i}")
        elif i in missing:
            lines.append(f"user{i}@example.net,X,")
        elif i in duplicates:
            lines.append(f"USER{i - 1}@Example.net,Again,C{i}")  # the row before, in other case
        else:
            lines.append(f'user{i}@example.net,"User {i}",C{i}')
    return ("\r\n".join(lines) + "\r\n").encode()


class World:
    def __init__(self, data: bytes, *, rate=None, send_by=None, suppressed=(), group_batches=2, read_bytes=97):
        self.now = 1_000_000.0
        self.store = InMemoryCampaignStore()
        self.lists = BytesLists({(BUCKET, KEY): data})
        self.queue = CollectingBatches()
        self.trigger = CollectingTrigger()
        self.ledger = LedgerCountsFromRows()
        self.events = CollectingPublisher()
        self.suppressions = InMemorySuppressionList()
        for address in suppressed:
            self.suppressions.entries[address] = Suppression(address, "hard_bounce", 0.0)
        doc = {
            "id": "c1",
            "list": {"bucket": BUCKET, "key": KEY},
            "from": "news@shop.example.com",
            "template": {"subject": "Hi", "text": "{{ code }}"},
            "required_variables": ["code"],
        }
        if rate:
            doc["rate"] = rate
        if send_by:
            doc["send_by"] = send_by
        self.spec = parse_campaign(doc)
        self.store.records["c1"] = CampaignRecord(self.spec, CampaignState.SCHEDULED)
        self.slept: list[float] = []
        self.service = FanoutService(
            self.store,
            self.lists,
            self.queue,
            self.trigger,
            self.ledger,
            suppressions=self.suppressions,
            events=self.events,
            policy=FanoutPolicy(read_bytes=read_bytes, group_batches=group_batches, retry_pause_seconds=0),
            clock=lambda: self.now,
            sleep=self._sleep,
        )

    async def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def run(self, time_left=lambda: 900.0):
        """One run, as the fan-out queue's last message asks for it."""
        progress = self.trigger.progress[-1] if self.trigger.progress else None
        return asyncio.run(self.service.run("c1", time_left=time_left, progress=progress))

    @property
    def record(self) -> CampaignRecord:
        return self.store.records["c1"]

    def keys(self) -> list[str]:
        return [json.loads(b)["message_key"] for b in self.queue.bodies]

    def event_types(self) -> list[str]:
        return [e["DetailType"] for call in self.events.calls for e in call]


def expected_keys(n, *, skip=()):
    return {recipient_key("c1", f"user{i}@example.net") for i in range(1, n + 1) if i not in skip}


def test_the_list_is_fanned_out_once_with_duplicates_bad_rows_and_suppressed_addresses_counted():
    world = World(
        make_list(60, duplicates={10, 20}, invalid={5}, missing={33}),
        suppressed={"user40@example.net"},
    )
    outcome = world.run()
    cp = world.record.checkpoint
    assert cp.done and outcome.state == "running"
    assert (cp.row, cp.invalid, cp.duplicates, cp.suppressed) == (60, 2, 2, 1)
    assert cp.enqueued == 60 - 2 - 2 - 1
    assert sorted(world.keys()) == sorted(expected_keys(60, skip={5, 10, 20, 33, 40}))
    assert len(world.keys()) == len(set(world.keys()))
    assert {(r.row, r.field) for r in asyncio.run(world.store.bad_rows("c1"))} == {(5, "email"), (33, "code")}
    assert world.event_types() == ["Campaign Started", "Campaign Rows Rejected", "Campaign Rows Rejected"]
    rejected = [json.loads(e["Detail"]) for c in world.events.calls for e in c if e["DetailType"].endswith("Rejected")]
    assert [row["row"] for event in rejected for row in event["rows"]] == [5, 33]
    assert set(rejected[0]["rows"][0]) == {"row", "offset", "field", "problem"}  # never the row's content
    # read in small ranged reads: memory holds one read and one unfinished row
    assert world.lists.reads > 10
    # the list read, recipients still pending: it asks to count again later
    assert world.trigger.runs[-1] == ("c1", 60)


def test_finished_only_when_every_enqueued_recipient_is_final_in_the_ledger():
    world = World(make_list(12))
    world.run()
    world.ledger.counts["c1"] = {"delivered": 11, "deferred": 1}
    world.store.records["c1"] = replace(world.record, final=11)
    world.run()  # dispatch's counter moved since the last look: the ledger is not counted yet
    assert world.run().tally["ledger_counts"] == 1  # it did not move: count, and one is still pending
    assert world.record.state is CampaignState.RUNNING
    world.ledger.counts["c1"] = {"delivered": 11, "bounced": 1}
    world.store.records["c1"] = replace(world.record, final=12)
    outcome = world.run()  # the counter says everyone may be final: count
    assert world.record.state is CampaignState.FINISHED and outcome.tally["ledger_counts"] == 1
    assert world.event_types()[-1] == "Campaign Finished"


def test_a_counter_a_crash_left_short_does_not_hold_the_end_back():
    world = World(make_list(5))
    world.run()
    world.ledger.counts["c1"] = {"delivered": 5}  # the ledger knows; dispatch died before counting two
    world.store.records["c1"] = replace(world.record, final=3)
    world.run()
    world.run()
    assert world.record.state is CampaignState.FINISHED


class Killed(BaseException):
    """The invocation dies (a timeout, an out-of-memory kill): nothing after it runs."""


@pytest.mark.parametrize("kill_at", [1, 3, 5])
def test_a_fan_out_killed_before_its_checkpoint_resumes_and_skips_no_one(kill_at):
    world = World(make_list(95, duplicates={50}), group_batches=1, read_bytes=64)
    checkpoints = []

    def kill(campaign_id, cp):
        checkpoints.append(cp)
        if len(checkpoints) == kill_at:
            raise Killed  # after SendMessageBatch confirmed the group, before its progress is saved

    world.store.on_checkpoint = kill
    with pytest.raises(Killed):
        world.run()
    saved = world.record.checkpoint
    assert saved == checkpoints[kill_at - 2] if kill_at > 1 else saved.offset == 0  # the killed group is not saved
    resent = checkpoints[kill_at - 1].enqueued - saved.enqueued
    world.store.on_checkpoint = None
    world.run()  # the fan-out queue's message comes back after its visibility timeout
    cp = world.record.checkpoint
    assert cp.done and cp.enqueued == 94 and cp.duplicates == 1
    assert set(world.keys()) == expected_keys(95, skip={50})
    # the killed group was sent twice (the ledger takes care of that), nothing else
    assert resent > 0 and len(world.keys()) == 94 + resent


def test_the_first_row_of_an_address_wins_within_a_group_and_between_groups():
    rows = "email,name,code\r\nan@example.net,First,C1\r\nAN@example.net,Second,C2\r\n"
    rows += "".join(f"user{i}@example.net,U,C\r\n" for i in range(3, 30)) + "an@EXAMPLE.net,Third,C30\r\n"
    world = World(rows.encode(), group_batches=1)
    world.run()
    bodies = [json.loads(b) for b in world.queue.bodies]
    (an,) = [b for b in bodies if b["to"][0]["address"].lower() == "an@example.net"]
    assert an["variables"]["code"] == "C1" and world.record.checkpoint.duplicates == 2


def test_the_checkpoint_moves_only_after_the_queue_confirmed_and_refused_entries_are_retried():
    world = World(make_list(40))
    world.queue.refuse_every = 3
    world.run()
    assert set(world.keys()) == expected_keys(40)
    assert world.record.checkpoint.enqueued == 40


def test_a_queue_that_keeps_refusing_leaves_the_group_for_a_later_run():
    world = World(make_list(30), group_batches=1)

    async def refuse(entries):
        return [entry_id for entry_id, _ in entries]

    world.queue.send = refuse
    outcome = world.run()
    assert outcome.continue_after == 5
    assert world.record.checkpoint.offset == 0  # nothing confirmed, nothing saved


def test_pause_stops_the_fan_out_before_its_next_group_and_resume_goes_on_from_its_checkpoint():
    world = World(make_list(50), group_batches=1)
    control = CampaignControl(world.store, world.trigger, world.ledger, events=world.events, clock=lambda: world.now)
    groups = []

    def pause_during_the_second_group(campaign_id, cp):
        groups.append(cp)
        if len(groups) == 2:  # `maildispatch campaign pause` from elsewhere, while the group was being sent
            thread = threading.Thread(target=asyncio.run, args=(control.pause("c1"),))
            thread.start()
            thread.join()

    world.store.on_checkpoint = pause_during_the_second_group
    world.run()
    assert world.record.state is CampaignState.PAUSED
    # the second group went out but its checkpoint was refused; no third group was read
    assert world.record.checkpoint.enqueued == 10 and len(world.keys()) == 20
    assert world.run().state == "paused" and len(world.keys()) == 20  # a run while paused sends nothing
    world.store.on_checkpoint = None
    asyncio.run(control.resume("c1"))
    assert world.trigger.runs[-1] == ("c1", 0)
    world.run()
    assert set(world.keys()) == expected_keys(50)
    assert len(world.keys()) == 60  # the unconfirmed group again: its keys meet the ledger's claims
    assert world.record.checkpoint.enqueued == 50
    assert world.event_types() == ["Campaign Started", "Campaign Paused", "Campaign Resumed"]


def test_a_cancelled_campaign_sends_nothing_more():
    world = World(make_list(30), group_batches=1)
    world.store.on_checkpoint = lambda c, cp: world.store.records.update(
        c1=replace(world.record, state=CampaignState.CANCELLED)
    )
    outcome = world.run()
    assert outcome.state == "stopped"
    assert len(world.keys()) == 10 and world.record.checkpoint.enqueued == 0


def test_past_its_send_by_deadline_the_campaign_expires_and_reports_what_it_did_not_send():
    world = World(make_list(30), send_by=1_000_100.0, rate=1, group_batches=1)
    world.run()
    assert world.record.state is CampaignState.RUNNING
    assert world.trigger.runs[-1][1] > 0  # the rate: wait, then continue
    world.now = 1_000_200.0
    world.run()
    assert world.record.state is CampaignState.EXPIRED
    expired = [json.loads(e["Detail"]) for c in world.events.calls for e in c if e["DetailType"] == "Campaign Expired"]
    assert expired[0]["unsent_enqueued"] == 10 and expired[0]["list_read"] is False


def test_a_rate_spreads_the_fan_out_over_time():
    world = World(make_list(50), rate=5, group_batches=1)
    runs = 0
    while not world.record.checkpoint.done and runs < 20:
        world.run()
        runs += 1
        world.now += world.trigger.runs[-1][1] if world.trigger.runs else 0
    assert world.record.checkpoint.enqueued == 50
    assert world.now - 1_000_000.0 >= 50 / 5 - 2


def test_a_list_without_an_email_column_cancels_the_campaign_with_the_reason():
    world = World(b"mail,name\nan@example.net,An\n")
    world.run()
    assert world.record.state is CampaignState.CANCELLED
    assert "email" in world.record.reason


def test_a_scheduled_campaign_waits_for_its_start_time():
    world = World(make_list(5))
    world.store.records["c1"] = replace(world.record, spec=replace(world.spec, start_at=world.now + 3600))
    world.run()
    assert world.record.state is CampaignState.SCHEDULED and not world.keys()
    assert world.trigger.runs == [("c1", 900)]
