"""The campaign pre-flight: the fan-out checks the From domain's DNS before its first send, and a failing
check pauses the campaign with the failed lines before any recipient is enqueued."""

from __future__ import annotations

import asyncio
import base64
import json

from maildispatch.core.campaign import CampaignRecord, CampaignState, parse_campaign
from maildispatch.core.sender_check import DnsAnswer
from maildispatch.runtime.metric_names import METRIC_NAMES
from maildispatch.services.campaigns import CampaignControl
from maildispatch.services.fanout import FanoutPolicy, FanoutService
from maildispatch.services.sender_check import CampaignPreflight, DkimKeyToCheck, SendingPath
from tests.fakes.dns import TableDns
from tests.unit.test_fanout import BUCKET, KEY, World, expected_keys, make_list

DOMAIN = "shop.example.com"  # World's campaign sends from news@shop.example.com
PUBLIC_KEY = bytes(range(40))


def passing_dns() -> TableDns:
    return TableDns(
        {
            (DOMAIN, "TXT"): ["v=spf1 include:_spf.google.com ~all"],
            (f"_dmarc.{DOMAIN}", "TXT"): ["v=DMARC1; p=quarantine; rua=mailto:d@shop.example.com"],
        }
    )


class PreflightWorld(World):
    def __init__(
        self, dns: TableDns, *, preflight_doc: bool | None = None, dkim=None, one_click="https://u.example.com"
    ):
        super().__init__(make_list(30), group_batches=1)
        if preflight_doc is not None:
            doc = {**self.spec.to_document(), "preflight": preflight_doc}
            self.spec = parse_campaign(doc)
            self.store.records["c1"] = CampaignRecord(self.spec, CampaignState.SCHEDULED)
        self.dns = dns
        path = SendingPath(relay_host="smtp.gmail.com", one_click_url=one_click, dkim_keys=dkim)
        self.service = FanoutService(
            self.store,
            self.lists,
            self.queue,
            self.trigger,
            self.ledger,
            suppressions=self.suppressions,
            events=self.events,
            preflight=CampaignPreflight(dns, path),
            policy=FanoutPolicy(read_bytes=97, group_batches=1, retry_pause_seconds=0, preflight_retry_seconds=45),
            clock=lambda: self.now,
            sleep=self._sleep,
        )
        self.control = CampaignControl(
            self.store, self.trigger, self.ledger, events=self.events, clock=lambda: self.now
        )

    def paused_events(self) -> list[dict]:
        return [
            json.loads(e["Detail"]) for call in self.events.calls for e in call if e["DetailType"] == "Campaign Paused"
        ]


def test_a_passing_check_lets_the_fan_out_enqueue_and_is_recorded_so_continuations_do_not_check_again():
    world = PreflightWorld(passing_dns())
    outcome = world.run(time_left=lambda: 0.0)  # stops after its first group: a continuation is asked for
    assert outcome.preflight is not None and outcome.preflight.passed
    assert outcome.tally["preflight_passed"] == 1 and "preflight_failed" not in outcome.tally
    assert world.record.checkpoint.preflight_passed
    assert world.record.state is CampaignState.RUNNING and len(world.keys()) == 10
    asked = sum(world.dns.queries.values())
    assert world.dns.queries[(DOMAIN, "TXT")] >= 1
    world.run()
    assert set(world.keys()) == expected_keys(30)
    assert sum(world.dns.queries.values()) == asked  # the continuation did not look again


def test_a_failing_check_pauses_the_campaign_before_anything_is_sent_with_the_failed_lines_as_reason():
    dns = TableDns({(DOMAIN, "TXT"): ["v=spf1 include:mailgun.org ~all"]})  # wrong include, no DMARC
    world = PreflightWorld(dns)
    outcome = world.run()
    assert outcome.state == "paused" and world.record.state is CampaignState.PAUSED
    assert world.keys() == [] and world.record.checkpoint.offset == 0
    reason = world.record.reason or ""
    assert reason.startswith(f"sender check of {DOMAIN} failed: ")
    assert "spf: shop.example.com does not include _spf.google.com" in reason
    assert "dmarc: " in reason
    assert "unsubscribe" not in reason  # the lines that passed are not in the reason
    assert outcome.tally["preflight_failed"] == 1 and METRIC_NAMES["preflight_failed"] == "CampaignPreflightFailed"
    (event,) = world.paused_events()
    assert event["reason"] == reason and event["state"] == "paused" and event["automatic"] is True
    assert {line["check"]: line["status"] for line in event["sender_check"]}["spf"] == "failed"
    assert world.trigger.runs == []  # no continuation: a paused campaign waits for resume
    # a run while paused sends nothing and looks nothing up
    asked = sum(dns.queries.values())
    assert world.run().state == "paused" and world.keys() == [] and sum(dns.queries.values()) == asked


def test_resume_after_the_dns_is_fixed_runs_the_check_again_and_then_sends():
    dns = TableDns({(DOMAIN, "TXT"): ["v=spf1 include:_spf.google.com ~all"]})  # no DMARC yet
    world = PreflightWorld(dns)
    world.run()
    assert world.record.state is CampaignState.PAUSED and "dmarc" in (world.record.reason or "")
    asyncio.run(world.control.resume("c1"))
    world.run()  # still no DMARC: paused again, the check was made again
    assert world.record.state is CampaignState.PAUSED and world.keys() == []
    assert len(world.paused_events()) == 2
    dns.set(f"_dmarc.{DOMAIN}", "TXT", ["v=DMARC1; p=none"])
    asyncio.run(world.control.resume("c1"))
    world.run()
    assert world.record.state is CampaignState.RUNNING and world.record.checkpoint.preflight_passed
    assert set(world.keys()) == expected_keys(30)


def test_a_campaign_that_opts_out_is_not_checked():
    dns = TableDns()  # nothing published at all
    world = PreflightWorld(dns, preflight_doc=False)
    assert world.spec.to_document()["preflight"] is False
    outcome = world.run()
    assert outcome.preflight is None and sum(dns.queries.values()) == 0
    assert set(world.keys()) == expected_keys(30)


def test_dns_that_does_not_answer_retries_the_run_instead_of_pausing():
    dns = passing_dns()
    dns.set(f"_dmarc.{DOMAIN}", "TXT", DnsAnswer("servfail"))
    world = PreflightWorld(dns)
    outcome = world.run()
    assert outcome.retry_after == 45 and outcome.tally["preflight_dns_errors"] == 1
    assert world.record.state is CampaignState.RUNNING and not world.record.checkpoint.preflight_passed
    assert world.keys() == [] and world.paused_events() == [] and world.trigger.runs == []
    dns.set(f"_dmarc.{DOMAIN}", "TXT", ["v=DMARC1; p=reject"])
    outcome = world.run()  # the message again, after the retry
    assert outcome.retry_after is None and set(world.keys()) == expected_keys(30)


def test_a_configured_dkim_key_must_be_published_and_the_same_one_is_accepted():
    def keys(domain):
        assert domain == DOMAIN
        return "example.com", (DkimKeyToCheck("md1", "rsa-sha256", PUBLIC_KEY),)

    dns = passing_dns()
    world = PreflightWorld(dns, dkim=keys)
    world.run()
    assert (
        world.record.state is CampaignState.PAUSED
        and "dkim: no DKIM key published at md1._domainkey.example.com" in (world.record.reason or "")
    )
    dns.set("md1._domainkey.example.com", "TXT", [f"v=DKIM1; k=rsa; p={base64.b64encode(PUBLIC_KEY).decode()}"])
    asyncio.run(world.control.resume("c1"))
    world.run()
    assert world.record.checkpoint.preflight_passed and set(world.keys()) == expected_keys(30)


def test_without_a_dkim_key_for_the_domain_the_dkim_line_is_skipped_not_failed():
    world = PreflightWorld(passing_dns())
    outcome = world.run()
    assert outcome.preflight is not None
    assert {line.check: line.status for line in outcome.preflight.lines}["dkim"] == "skipped"


def test_campaign_mail_is_bulk_so_no_one_click_unsubscribe_fails_the_check():
    world = PreflightWorld(passing_dns(), one_click=None)
    world.run()
    assert world.record.state is CampaignState.PAUSED and "unsubscribe: " in (world.record.reason or "")
    assert world.keys() == []


def test_a_campaign_document_says_preflight_as_a_boolean():
    doc = {"id": "c2", "list": {"bucket": BUCKET, "key": KEY}, "from": "a@b.example", "template": {"key": "t"}}
    assert parse_campaign(doc).preflight is True
    assert parse_campaign({**doc, "preflight": False}).preflight is False
    assert "preflight" not in parse_campaign(doc).to_document()
    try:
        parse_campaign({**doc, "preflight": "no"})
    except ValueError as error:
        assert "preflight" in str(error)
    else:
        raise AssertionError("a non-boolean preflight was accepted")
