"""One ledger contract, two implementations: in memory, and DynamoDB (moto server)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from maildispatch.adapters.dynamodb_ledger import DynamoDbLedger
from maildispatch.core.ledger import NEVER, LedgerEntry, RecipientState
from maildispatch.core.outcome import parse_reply
from tests.fakes.ledger import InMemoryLedger
from tests.fakes.services import ManualClock
from tests.stack.moto import aws_client
from tests.stack.provision import create_table_from_template


@pytest.fixture(params=["memory", "dynamodb"])
def ledger_and_clock(request):
    clock = ManualClock()
    if request.param == "memory":
        yield InMemoryLedger(clock=clock), clock
        return
    server = request.getfixturevalue("moto_server")
    ddb = aws_client("dynamodb", server.endpoint_url)
    table = create_table_from_template(ddb, "DeliveryLedgerTable")
    with ThreadPoolExecutor(8) as executor:
        yield DynamoDbLedger(ddb, table, executor, clock=clock), clock


def claim(ledger, recipients, owner="inv-1", lease=60):
    return asyncio.run(ledger.claim("k1", recipients, owner=owner, lease_seconds=lease))


def record(ledger, *entries):
    asyncio.run(ledger.record("k1", list(entries)))


def test_a_new_recipient_is_claimed_once(ledger_and_clock):
    ledger, _ = ledger_and_clock
    assert [c.granted for c in claim(ledger, ["a@x.test", "b@x.test"])] == [True, True]
    refused = claim(ledger, ["a@x.test"], owner="inv-2")[0]
    assert not refused.granted and refused.state is RecipientState.SENDING and refused.lease_expires_at is not None


def test_recipients_are_keyed_case_insensitively(ledger_and_clock):
    ledger, _ = ledger_and_clock
    claim(ledger, ["An@Example.NET"])
    assert not claim(ledger, ["an@example.net"], owner="inv-2")[0].granted


def test_delivered_and_bounced_are_final(ledger_and_clock):
    ledger, clock = ledger_and_clock
    claim(ledger, ["a@x.test", "b@x.test"])
    record(
        ledger,
        LedgerEntry("a@x.test", RecipientState.DELIVERED, parse_reply(250, "2.0.0 ok")),
        LedgerEntry("b@x.test", RecipientState.BOUNCED, parse_reply(550, "5.1.1 unknown", remote_mta="mx.test")),
    )
    clock.advance(10_000)
    a, b = claim(ledger, ["a@x.test", "b@x.test"], owner="inv-2")
    assert (a.granted, a.state) == (False, RecipientState.DELIVERED)
    assert (b.granted, b.state, b.reply.status, b.reply.code, b.reply.remote_mta) == (
        False,
        RecipientState.BOUNCED,
        "5.1.1",
        550,
        "mx.test",
    )


def test_deferred_and_uncertain_may_be_claimed_again_once_due(ledger_and_clock):
    ledger, clock = ledger_and_clock
    claim(ledger, ["a@x.test", "b@x.test"])
    due = clock.now + 60
    record(
        ledger,
        LedgerEntry("a@x.test", RecipientState.DEFERRED, parse_reply(451, "4.7.1 later"), next_attempt_at=due),
        LedgerEntry("b@x.test", RecipientState.UNCERTAIN, None, next_attempt_at=due),
    )
    early = claim(ledger, ["a@x.test", "b@x.test"], owner="inv-2")
    assert [(c.granted, c.state, c.next_attempt_at) for c in early] == [
        (False, RecipientState.DEFERRED, due),
        (False, RecipientState.UNCERTAIN, due),
    ]
    clock.advance(60)
    again = claim(ledger, ["a@x.test", "b@x.test"], owner="inv-2")
    assert [(c.granted, c.attempts, c.uncertain) for c in again] == [(True, 2, 0), (True, 2, 1)]


def test_an_uncertain_recipient_due_never_is_never_claimed(ledger_and_clock):
    ledger, clock = ledger_and_clock
    claim(ledger, ["a@x.test"])
    record(ledger, LedgerEntry("a@x.test", RecipientState.UNCERTAIN, None, next_attempt_at=NEVER))
    clock.advance(365 * 86400)
    assert not claim(ledger, ["a@x.test"], owner="inv-2")[0].granted


def test_the_delay_warning_flag_is_remembered(ledger_and_clock):
    ledger, clock = ledger_and_clock
    claim(ledger, ["a@x.test"])
    record(ledger, LedgerEntry("a@x.test", RecipientState.DEFERRED, None, warned=True, next_attempt_at=clock.now))
    assert claim(ledger, ["a@x.test"], owner="inv-2")[0].warned is True


def test_a_claim_whose_lease_ran_out_can_be_taken_over_and_says_so(ledger_and_clock):
    ledger, clock = ledger_and_clock
    assert claim(ledger, ["a@x.test"], lease=30)[0].took_over is False
    clock.advance(29)
    assert not claim(ledger, ["a@x.test"], owner="inv-2")[0].granted
    clock.advance(2)
    taken = claim(ledger, ["a@x.test"], owner="inv-2")[0]
    assert (taken.granted, taken.took_over, taken.attempts) == (True, True, 2)


def test_uncertain_attempts_add_up(ledger_and_clock):
    ledger, clock = ledger_and_clock
    claim(ledger, ["a@x.test"])
    record(
        ledger, LedgerEntry("a@x.test", RecipientState.DEFERRED, None, uncertain_attempts=1, next_attempt_at=clock.now)
    )
    record(ledger, LedgerEntry("a@x.test", RecipientState.UNCERTAIN, None, next_attempt_at=clock.now))
    assert claim(ledger, ["a@x.test"], owner="inv-2")[0].uncertain == 2


def test_an_unreported_bounce_says_so_until_marked_reported(ledger_and_clock):
    ledger, _ = ledger_and_clock
    claim(ledger, ["b@x.test"])
    record(ledger, LedgerEntry("b@x.test", RecipientState.BOUNCED, parse_reply(550, "5.1.1 unknown"), reported=False))
    assert claim(ledger, ["b@x.test"], owner="inv-2")[0].reported is False
    asyncio.run(ledger.mark_reported("k1", ["b@x.test"]))
    assert claim(ledger, ["b@x.test"], owner="inv-3")[0].reported is True


def test_concurrent_claims_for_one_recipient_grant_exactly_one(ledger_and_clock):
    ledger, _ = ledger_and_clock

    async def race():
        return await asyncio.gather(
            *(ledger.claim("k1", ["a@x.test"], owner=f"inv-{i}", lease_seconds=60) for i in range(8))
        )

    grants = [c[0].granted for c in asyncio.run(race())]
    assert grants.count(True) == 1


def test_a_claim_the_relay_refused_for_its_quota_is_not_an_attempt(ledger_and_clock):
    ledger, clock = ledger_and_clock
    claim(ledger, ["a@x.test"])
    record(
        ledger,
        LedgerEntry("a@x.test", RecipientState.DEFERRED, parse_reply(451, "4.3.0 later"), next_attempt_at=clock() + 60),
    )
    clock.advance(60)
    assert claim(ledger, ["a@x.test"])[0].attempts == 2
    quota = parse_reply(454, "Throttling failure: Maximum sending rate exceeded")
    record(
        ledger,
        LedgerEntry("a@x.test", RecipientState.DEFERRED, quota, next_attempt_at=clock() + 60, counts_as_attempt=False),
    )
    clock.advance(60)

    assert claim(ledger, ["a@x.test"])[0].attempts == 2  # the 451 and this claim; the quota reply counted nothing
