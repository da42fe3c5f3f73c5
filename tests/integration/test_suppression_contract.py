"""One suppression-list contract, two implementations: in memory, and DynamoDB (moto server).

The DynamoDB table is created from SuppressionTable's definition in template.yaml, so the keys
tested are the keys deployed.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from maildispatch.adapters.dynamodb_suppression import DynamoDbSuppressionList
from maildispatch.core.suppression import SOFT_BOUNCE_WINDOW, Suppression
from tests.fakes.stores import InMemorySuppressionList
from tests.stack.moto import aws_client
from tests.stack.provision import create_table_from_template

T0 = 1_795_939_200.0  # 2026-11-29 08:00 UTC


@pytest.fixture(params=["memory", "dynamodb"])
def suppressions(request):
    if request.param == "memory":
        yield InMemorySuppressionList()
        return
    server = request.getfixturevalue("moto_server")
    ddb = aws_client("dynamodb", server.endpoint_url)
    with ThreadPoolExecutor(4) as executor:
        yield DynamoDbSuppressionList(ddb, create_table_from_template(ddb, "SuppressionTable"), executor)


def find(store, *addresses):
    return asyncio.run(store.find(list(addresses)))


def add(store, *entries):
    asyncio.run(store.add(list(entries)))


def count(store, address, at, event_id):
    return asyncio.run(store.count_soft_bounce(address, at=at, event_id=event_id))


GHOST = Suppression("ghost@example.net", "hard_bounce", "5.1.1", "550 5.1.1 user unknown", "order-1", T0 + 0.125)


def test_nothing_is_found_in_an_empty_list_or_for_no_addresses(suppressions):
    assert find(suppressions, "ghost@example.net") == {}
    assert find(suppressions) == {}


def test_an_added_entry_is_found_with_every_field(suppressions):
    add(suppressions, GHOST)
    assert find(suppressions, "ghost@example.net", "binh@example.net") == {"ghost@example.net": GHOST}


def test_an_entry_without_optional_fields_reads_back_with_none(suppressions):
    manual = Suppression("typo@example.com", "manual", created_at=T0)
    add(suppressions, manual)
    assert find(suppressions, "typo@example.com") == {"typo@example.com": manual}


def test_lookups_are_case_insensitive_and_keyed_by_the_lower_cased_address(suppressions):
    add(suppressions, GHOST)
    assert find(suppressions, "Ghost@Example.NET") == {"ghost@example.net": GHOST}
    assert find(suppressions, "GHOST@EXAMPLE.NET", "ghost@example.net") == {"ghost@example.net": GHOST}


def test_the_first_reason_an_address_was_suppressed_is_kept(suppressions):
    add(suppressions, GHOST)
    add(suppressions, Suppression("ghost@example.net", "complaint", created_at=T0 + 60))
    assert find(suppressions, "ghost@example.net")["ghost@example.net"] == GHOST


def test_the_first_of_two_entries_for_one_address_in_one_call_is_kept(suppressions):
    add(suppressions, GHOST, Suppression("ghost@example.net", "manual", created_at=T0 + 60))
    assert find(suppressions, "ghost@example.net")["ghost@example.net"].reason == "hard_bounce"


def test_adding_nothing_changes_nothing(suppressions):
    add(suppressions)
    assert find(suppressions, "ghost@example.net") == {}


def test_lookups_of_more_than_a_hundred_addresses_find_every_entry(suppressions):
    """BatchGetItem takes 100 keys a call: 250 addresses (plus upper-cased duplicates) need three."""
    add(suppressions, *(Suppression(f"u{i}@example.net", "manual", created_at=T0) for i in range(0, 250, 2)))
    asked = [f"u{i}@example.net" for i in range(250)] + [f"U{i}@EXAMPLE.NET" for i in range(0, 250, 5)]
    found = find(suppressions, *asked)
    assert sorted(found) == sorted(f"u{i}@example.net" for i in range(0, 250, 2))
    assert all(entry.address == key and entry.reason == "manual" for key, entry in found.items())


def test_soft_bounces_are_counted_within_the_window_and_the_same_event_once(suppressions):
    assert count(suppressions, "busy@example.org", T0, "e1") == 1
    assert count(suppressions, "busy@example.org", T0 + 100, "e2") == 2
    assert count(suppressions, "busy@example.org", T0 + 100, "e2") == 2  # the same event again
    assert count(suppressions, "Busy@Example.ORG", T0 + 200, "e3") == 3  # one counter per address, any case
    assert count(suppressions, "other@example.org", T0 + 200, "e3") == 1  # counters are per address


def test_soft_bounces_older_than_the_window_no_longer_count(suppressions):
    count(suppressions, "busy@example.org", T0, "e1")
    count(suppressions, "busy@example.org", T0 + 100, "e2")
    # e1 is exactly one window old: out; e2 is still inside.
    assert count(suppressions, "busy@example.org", T0 + SOFT_BOUNCE_WINDOW, "e3") == 2
    assert count(suppressions, "busy@example.org", T0 + 100 + 2 * SOFT_BOUNCE_WINDOW, "e4") == 1


def test_a_soft_bounce_counter_is_not_a_suppression(suppressions):
    count(suppressions, "busy@example.org", T0, "e1")
    assert find(suppressions, "busy@example.org") == {}


def test_a_soft_bounce_at_a_fractional_time_counts_itself(suppressions):
    """Report arrival dates carry fractions of a second (the bounce service passes arrival_date.timestamp()).

    The DynamoDB adapter once stored the time rounded to the second and compared it with the unrounded
    time: an event at x.5 s or later did not count itself (found by this contract test)."""
    assert count(suppressions, "busy@example.org", T0 + 0.75, "e1") == 1
    assert count(suppressions, "busy@example.org", T0 + 60.6, "e2") == 2


def test_empty_optional_fields_read_back_as_none(suppressions):
    add(suppressions, Suppression("typo@example.com", "manual", "", "", "", T0))
    assert find(suppressions, "typo@example.com") == {
        "typo@example.com": Suppression("typo@example.com", "manual", created_at=T0)
    }


UNSUBSCRIBED = Suppression("an@example.net", "unsubscribed", created_at=T0, scope="list:newsletter")


def scoped(store, scopes, *addresses):
    return asyncio.run(store.find(list(addresses), scopes=scopes))


def test_an_unsubscribe_blocks_only_the_mail_of_its_list(suppressions):
    add(suppressions, UNSUBSCRIBED)

    assert scoped(suppressions, ["list:newsletter"], "An@Example.net") == {"an@example.net": UNSUBSCRIBED}
    assert scoped(suppressions, ["list:offers"], "an@example.net") == {}
    assert find(suppressions, "an@example.net") == {}  # transactional mail still goes


def test_a_scoped_entry_wins_over_an_unscoped_one_and_both_are_kept(suppressions):
    hard = Suppression("an@example.net", "hard_bounce", "5.1.1", created_at=T0)
    add(suppressions, hard, UNSUBSCRIBED)

    assert scoped(suppressions, ["list:newsletter"], "an@example.net") == {"an@example.net": UNSUBSCRIBED}
    assert find(suppressions, "an@example.net") == {"an@example.net": hard}
