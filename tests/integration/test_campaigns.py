"""Campaigns against moto: the DynamoDB adapters' contract, the command line, and a small campaign end to end
through the real handlers (fan-out killed once, paused and resumed) — `make campaign-chaos` at 5,000."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from maildispatch.adapters.dynamodb_campaigns import DynamoDbCampaignStore, DynamoDbLedgerCounts
from maildispatch.adapters.dynamodb_ledger import DynamoDbLedger
from maildispatch.core.campaign import (
    BadRow,
    CampaignRecord,
    CampaignState,
    Checkpoint,
    TransitionRefused,
    parse_campaign,
)
from maildispatch.core.campaign_keys import recipient_key
from maildispatch.core.ledger import NEVER, LedgerEntry, RecipientState
from tests.stack.campaign_chaos import CampaignChaosConfig, run_campaign_chaos, sender_dns
from tests.stack.cli import maildispatch, one_error_line
from tests.stack.dns_server import DnsServer
from tests.stack.moto import aws_client
from tests.stack.provision import create_table_from_template

SPEC = {
    "id": "spring",
    "list": {"bucket": "lists-bucket", "key": "lists/spring.csv"},
    "from": "news@shop.example.com",
    "template": {"subject": "Hi", "text": "Hello {{ name }}"},
}
EXECUTOR = ThreadPoolExecutor(max_workers=8)


@pytest.fixture
def tables(aws_env):
    ddb = aws_client("dynamodb", aws_env["AWS_ENDPOINT_URL"])
    return ddb, create_table_from_template(ddb, "CampaignTable"), create_table_from_template(ddb, "DeliveryLedgerTable")


def test_the_campaign_store_keeps_state_checkpoints_and_markers_with_conditional_writes(tables):
    ddb, campaigns, _ = tables
    store = DynamoDbCampaignStore(ddb, campaigns, EXECUTOR)

    async def scenario():
        record = CampaignRecord(parse_campaign(SPEC), CampaignState.SCHEDULED, created_at=1.0)
        assert await store.create(record) is True
        assert await store.create(record) is False
        started = await store.transition("spring", "start", now=10.0)
        assert (started.state, started.started_at) == (CampaignState.RUNNING, 10.0)
        with pytest.raises(TransitionRefused):
            await store.transition("spring", "resume", now=11.0)
        with pytest.raises(LookupError):
            await store.transition("autumn", "pause", now=11.0)
        cp = Checkpoint(offset=120, row=4, header=("email", "name"), enqueued=3, invalid=1)
        assert await store.save_checkpoint("spring", cp, version=0) is True
        assert await store.save_checkpoint("spring", cp, version=0) is False  # another fan-out moved on
        await store.transition("spring", "pause", now=12.0, reason="by hand")
        assert await store.save_checkpoint("spring", cp, version=1) is False  # paused: no progress
        got = await store.get("spring")
        assert (got.checkpoint, got.version, got.state, got.reason) == (cp, 1, CampaignState.PAUSED, "by hand")
        assert got.spec == record.spec
        assert await store.first_seen("spring", [("a" * 32, 1), ("b" * 32, 2)]) == [True, True]
        assert await store.first_seen("spring", [("a" * 32, 7), ("c" * 32, 8)]) == [False, True]  # a later row
        assert await store.first_seen("spring", [("a" * 32, 1)]) == [True]  # the same row read again: still first
        await store.report_bad_rows("spring", [BadRow(n, n * 10, "email", "bad") for n in range(1, 31)])
        assert [r.row for r in await store.bad_rows("spring", limit=5)] == [1, 2, 3, 4, 5]
        counted = await store.count_outcomes("spring", attempted=10, bounced=2, complained=1, final=11, unsubscribed=3)
        assert (counted.attempted, counted.bounced, counted.complained, counted.final, counted.unsubscribed) == (
            10,
            2,
            1,
            11,
            3,
        )
        assert await store.count_outcomes("autumn", attempted=1, bounced=0) is None

    asyncio.run(scenario())


def test_the_ledger_counts_a_campaigns_recipients_by_state_through_its_index(tables):
    ddb, _, ledger_table = tables
    ledger = DynamoDbLedger(ddb, ledger_table, EXECUTOR)
    counts = DynamoDbLedgerCounts(ddb, ledger_table, EXECUTOR)
    states = {
        "d1@example.net": LedgerEntry("d1@example.net", RecipientState.DELIVERED),
        "d2@example.net": LedgerEntry("d2@example.net", RecipientState.DELIVERED),
        "b@example.net": LedgerEntry("b@example.net", RecipientState.BOUNCED),
        "w@example.net": LedgerEntry("w@example.net", RecipientState.DEFERRED, next_attempt_at=5.0),
        "u@example.net": LedgerEntry("u@example.net", RecipientState.UNCERTAIN, next_attempt_at=NEVER),
        "r@example.net": LedgerEntry("r@example.net", RecipientState.UNCERTAIN, next_attempt_at=5.0),
    }

    async def scenario():
        for address, entry in states.items():
            key = recipient_key("spring", address)
            await ledger.claim(key, [address], owner="t", lease_seconds=60)
            await ledger.record(key, [entry])
        await ledger.claim(recipient_key("spring", "s@example.net"), ["s@example.net"], owner="t", lease_seconds=60)
        await ledger.claim("order-1", ["d1@example.net"], owner="t", lease_seconds=60)  # not a campaign's
        return await counts.by_state("spring")

    assert asyncio.run(scenario()) == {
        "delivered": 2,
        "bounced": 1,
        "deferred": 1,
        "uncertain": 1,
        "uncertain_retry": 1,
        "sending": 1,
    }


def test_a_start_more_than_15_minutes_away_is_a_one_time_schedule_on_the_fan_out_queue(aws_env, tables):
    from maildispatch.adapters.campaign_aws import SchedulerCampaignSchedules, SqsFanoutTrigger
    from maildispatch.services.campaigns import CampaignControl

    ddb, campaigns, ledger_table = tables
    scheduler = aws_client("scheduler", aws_env["AWS_ENDPOINT_URL"])
    scheduler.create_schedule_group(Name="campaigns")
    sqs = aws_client("sqs", aws_env["AWS_ENDPOINT_URL"])
    queue = sqs.create_queue(QueueName=f"fanout-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    role = "arn:aws:iam::123456789012:role/scheduler"
    control = CampaignControl(
        DynamoDbCampaignStore(ddb, campaigns, EXECUTOR),
        SqsFanoutTrigger(queue, client=sqs),
        DynamoDbLedgerCounts(ddb, ledger_table, EXECUTOR),
        schedules=SchedulerCampaignSchedules("campaigns", queue_arn, role, client=scheduler),
        clock=lambda: 1_796_461_200.0,  # 2026-12-05T09:00:00Z
    )
    asyncio.run(control.create({**SPEC, "start_at": "2026-12-05T11:30:00Z"}))
    schedule = scheduler.get_schedule(Name="campaign-spring", GroupName="campaigns")
    assert schedule["ScheduleExpression"] == "at(2026-12-05T11:30:00)"
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["Target"]["Arn"] == queue_arn and json.loads(schedule["Target"]["Input"]) == {"campaign": "spring"}
    assert not sqs.receive_message(QueueUrl=queue).get("Messages")  # no queue message: the schedule starts it


@pytest.fixture
def cli_env(aws_env, tables):
    _, campaigns, ledger_table = tables
    sqs = aws_client("sqs", aws_env["AWS_ENDPOINT_URL"])
    queue = sqs.create_queue(QueueName=f"fanout-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    where = ["--campaign-table", campaigns, "--fanout-queue-url", queue, "--ledger-table", ledger_table]
    return aws_env, where, sqs, queue


def test_the_command_line_starts_pauses_resumes_cancels_and_watches_a_campaign(tmp_path, cli_env):
    env, where, sqs, queue = cli_env
    document = tmp_path / "campaign.json"
    document.write_text(json.dumps(SPEC))
    with DnsServer(sender_dns("shop.example.com")) as dns:  # passing SPF and DMARC for the From domain
        check = ["--nameserver", dns.host, "--dns-port", str(dns.port), "--one-click-url", "https://u.example.com"]
        started = maildispatch("campaign", *where, "start", str(document), *check, env=env)
    assert (started.returncode, started.stdout) == (0, "spring\tscheduled\n"), started.stderr
    # the sender check's lines first, on stderr (informational: the fan-out runs it before the first send)
    assert "sender check of shop.example.com" in started.stderr
    assert "dmarc        ok      _dmarc.shop.example.com: p=quarantine" in started.stderr
    assert started.stderr.rstrip().endswith("sender check ok"), started.stderr
    asked = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in asked] == [{"campaign": "spring"}]  # the fan-out is asked to run

    assert maildispatch("campaign", *where, "pause", "spring", env=env).stdout == "spring\tpaused\n"
    assert maildispatch("campaign", *where, "resume", "spring", env=env).stdout == "spring\trunning\n"
    status = maildispatch("campaign", *where, "status", "spring", "--json", env=env)
    assert json.loads(status.stdout)["state"] == "running"
    assert maildispatch("campaign", *where, "cancel", "spring", env=env).stdout == "spring\tcancelled\n"
    refused = maildispatch("campaign", *where, "resume", "spring", env=env)
    assert refused.returncode == 1 and "cancelled: cannot resume" in one_error_line(refused)
    watched = maildispatch("campaign", *where, "status", "spring", "--watch", env=env)
    assert watched.returncode == 0 and watched.stdout.strip().endswith("| cancelled (cancelled by hand)")


def test_the_command_line_builds_a_campaign_from_options_and_names_a_bad_field(cli_env):
    env, where, _, _ = cli_env
    started = maildispatch(
        "campaign", *where, "start", "--id", "autumn", "--list", "s3://lists-bucket/lists/autumn.jsonl",
        "--from", "news@shop.example.com", "--template-key", "newsletter/autumn", "--subject", "Autumn",
        "--require", "code", "--no-check", env=env,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    bad = maildispatch(
        "campaign", *where, "start", "--id", "Bad Id", "--list", "s3://b/k.csv", "--from", "a@example.com",
        "--template-key", "t", "--subject", "s", env=env,
    )  # fmt: skip
    assert bad.returncode == 2 and one_error_line(bad).startswith("the campaign: id:")
    unknown = maildispatch("campaign", *where, "status", "nope", env=env)
    assert unknown.returncode == 1 and "no campaign nope" in one_error_line(unknown)


def test_a_small_campaign_reaches_every_recipient_once_through_a_fan_out_kill_and_a_pause(tmp_path, fresh_moto):
    """About 15 s of stack start-up (the whole template in moto, the TLS relay, the fork server), then the
    campaign: 40 recipients, the fan-out SIGKILLed once mid-list, quota replies, a pause and a resume."""
    config = CampaignChaosConfig(
        recipients=40,
        fanout_kills=1,
        fanout_kill_delay_s=(0.3, 0.6),
        dispatch_cut_off_fraction=0.0,
        pause_s=0.5,
        quota_probability=0.03,
        queue_visibility_s=2,
        function_env={
            **CampaignChaosConfig().function_env,
            "FANOUT_FINISH_POLL": "1s",
            "CAMPAIGN_PAUSE_WAIT": "1s",
            "FANOUT_GROUP_BATCHES": "1",
            "FANOUT_READ_BYTES": "4096",
        },
        max_run_s=120,
    )
    result = run_campaign_chaos(config, tmp_path / "campaign", moto=fresh_moto)
    summary, details = result.summary, result.details
    assert result.settled, details
    assert (summary["skipped"], summary["duplicates"], summary["finished"]) == (0, 0, True), details
    assert summary["fanout_kills"] == 1, details["invocations"]
    assert summary["recipients"] == 40 and summary["invalid_rows"] == details["campaign"]["invalid_rows"] > 0
    assert summary["delivered"] + summary["bounced"] + summary["suppressed"] == 40
    assert details["pause"]["resumed"] is True
    assert details["campaign"]["preflight_passed"] is True  # the sender check ran against the DNS test server
    checks = details["checks"]
    assert checks["suppressed, yet a copy at the relay"] == 0
    assert checks["bounced, not a dead mailbox (a quota or 4xx reply counted as a bounce?)"] == 0
    assert checks["ledger keys beyond the unique recipients (a duplicated row sent)"] == 0
    assert checks["duplicate rows counted != planned"] == checks["invalid rows reported != planned"] == 0
