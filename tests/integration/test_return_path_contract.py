"""One return-path index contract, two implementations: in memory, and DynamoDB (moto server).

The DynamoDB index lives in the ledger table; the table is created from DeliveryLedgerTable's
definition in template.yaml.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from maildispatch.adapters.dynamodb_return_paths import DynamoDbReturnPathIndex
from maildispatch.core.return_paths import SentMessage, message_id_key, verp_key
from tests.fakes.stores import InMemoryReturnPathIndex
from tests.stack.moto import aws_client
from tests.stack.provision import create_table_from_template

MESSAGE_ID = "<order-1001.abc@example.com>"
FULL = SentMessage(
    "order-1001-shipped",
    "binh@example.net",
    "shop@example.com",
    "shop@example.com",
    "Đơn hàng #1001 đã được gửi",
    MESSAGE_ID,
)


@pytest.fixture(params=["memory", "dynamodb"])
def index(request):
    if request.param == "memory":
        yield InMemoryReturnPathIndex()
        return
    server = request.getfixturevalue("moto_server")
    ddb = aws_client("dynamodb", server.endpoint_url)
    with ThreadPoolExecutor(8) as executor:
        yield DynamoDbReturnPathIndex(ddb, create_table_from_template(ddb, "DeliveryLedgerTable"), executor)


def remember(index, *entries):
    asyncio.run(index.remember(list(entries)))


def lookup(index, key):
    return asyncio.run(index.lookup(key))


def test_an_entry_reads_back_with_every_field(index):
    remember(index, (verp_key("0123456789abcdef"), FULL))
    assert lookup(index, verp_key("0123456789abcdef")) == FULL


def test_an_entry_found_by_message_id_has_no_recipient(index):
    by_message_id = SentMessage("order-1001-shipped", None, "shop@example.com", "shop@example.com", "Hi", MESSAGE_ID)
    remember(index, (message_id_key(MESSAGE_ID), by_message_id))
    assert lookup(index, message_id_key(" <ORDER-1001.abc@Example.com> ")) == by_message_id


def test_optional_fields_left_out_read_back_as_none(index):
    minimal = SentMessage("order-1", None, None)
    remember(index, (verp_key("aaaa"), minimal))
    assert lookup(index, verp_key("aaaa")) == SentMessage("order-1", None, None, None, None, None)


def test_an_unknown_key_finds_nothing(index):
    remember(index, (verp_key("aaaa"), FULL))
    assert lookup(index, verp_key("bbbb")) is None
    assert lookup(index, message_id_key("<nobody@example.com>")) is None


def test_remembering_a_key_again_replaces_the_entry(index):
    remember(index, (verp_key("aaaa"), FULL))
    later = SentMessage("order-1001-shipped", "an@example.net", "billing@example.com")
    remember(index, (verp_key("aaaa"), later))
    assert lookup(index, verp_key("aaaa")) == later


def test_one_call_remembers_every_entry_of_a_message(index):
    """What the dispatcher writes for a message sent with VERP: one entry per recipient, one by Message-ID."""
    recipients = [f"r{i}@example.net" for i in range(30)]
    entries = [(verp_key(f"id{i:04d}"), SentMessage("k1", r, "shop@example.com")) for i, r in enumerate(recipients)]
    entries.append((message_id_key(MESSAGE_ID), SentMessage("k1", None, "shop@example.com", message_id=MESSAGE_ID)))
    remember(index, *entries)
    assert [lookup(index, key) for key, _ in entries] == [sent for _, sent in entries]


def test_remembering_nothing_is_fine(index):
    remember(index)
    assert lookup(index, verp_key("aaaa")) is None


def test_empty_optional_fields_read_back_as_none(index):
    """A request may have an empty subject; the index keeps no empty text (DynamoDB writes only non-empty fields)."""
    remember(index, (verp_key("aaaa"), SentMessage("order-1", "", "", "", "", "")))
    assert lookup(index, verp_key("aaaa")) == SentMessage("order-1", None, None, None, None, None)
