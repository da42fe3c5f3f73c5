"""The suppression list in DynamoDB (moto server) and its command line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import pytest

from maildispatch.adapters.dynamodb_suppression import DynamoDbSuppressionList
from maildispatch.core.suppression import Suppression
from tests.stack.moto import aws_client, local_aws_environment

REPO_ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
# This checkout's layer and command line, not an installed copy.
PYTHON_PATH = os.pathsep.join([str(REPO_ROOT / "layers" / "maildispatch"), str(REPO_ROOT / "cli")])


@pytest.fixture
def table(moto_server):
    ddb = aws_client("dynamodb", moto_server.endpoint_url)
    name = f"suppression-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "address", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "address", "AttributeType": "S"}],
    )
    return DynamoDbSuppressionList(ddb, name), name, moto_server


def test_added_addresses_are_found_case_insensitively_and_the_first_reason_is_kept(table):
    store, _, _ = table
    asyncio.run(store.add([Suppression("ghost@example.net", "hard_bounce", "5.1.1", "550 5.1.1 unknown", "k1", 10.0)]))
    asyncio.run(store.add([Suppression("ghost@example.net", "manual", created_at=20.0)]))
    found = asyncio.run(store.find(["Ghost@Example.NET", "binh@example.net"]))
    assert list(found) == ["ghost@example.net"] and found["ghost@example.net"].reason == "hard_bounce"


def test_lookups_of_more_than_a_hundred_addresses_are_batched(table):
    store, _, _ = table
    asyncio.run(store.add([Suppression(f"u{i}@example.net", "manual") for i in range(0, 250, 2)]))
    found = asyncio.run(store.find([f"u{i}@example.net" for i in range(250)]))
    assert len(found) == 125


def run_cli(name, server, *args):
    env = {**os.environ, **local_aws_environment(server.endpoint_url), "PYTHONPATH": PYTHON_PATH}
    return subprocess.run(
        [sys.executable, "-m", "maildispatch_cli", "suppression", "--table", name, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )


def test_the_command_line_lists_shows_adds_and_removes(table):
    store, name, server = table
    asyncio.run(
        store.add([Suppression("ghost@example.net", "hard_bounce", "5.1.1", "550 5.1.1 unknown", "k1", 1795939200.0)])
    )
    assert run_cli(name, server, "add", "Typo@Example.com").returncode == 0
    listed = run_cli(name, server, "list").stdout.splitlines()
    assert listed[0].startswith("ghost@example.net\tsuppressed since 2026-11-29 08:00 UTC (hard_bounce 5.1.1")
    assert listed[1].startswith("typo@example.com\tsuppressed since")
    assert run_cli(name, server, "remove", "ghost@example.net").stdout.strip() == "ghost@example.net removed"
    shown = run_cli(name, server, "show", "ghost@example.net")
    assert shown.returncode == 1 and "not suppressed" in shown.stdout


def test_soft_bounces_are_counted_once_per_event_within_the_window(table):
    store, _, _ = table
    count = lambda at, event: asyncio.run(store.count_soft_bounce("Busy@example.net", at=at, event_id=event))  # noqa: E731
    assert [count(100.0, "e1"), count(200.0, "e2"), count(200.0, "e2"), count(100.0 + 14 * 86400 + 1, "e3")] == [
        1,
        2,
        2,
        2,
    ]
    assert asyncio.run(store.find(["busy@example.net"])) == {}  # the counter is not a suppression
