"""The fan-out function's pre-flight sender check over dnspython, against the DNS test server on loopback:
the function's own settings (DNS_NAMESERVERS, DNS_PORT, RELAY_HOST, UNSUBSCRIBE_BASE_URL) build it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from maildispatch.core.campaign import CampaignState
from maildispatch.runtime.api_campaigns import campaign_control
from maildispatch.runtime.fanout_function import FanoutFunction
from maildispatch.runtime.settings_api import CampaignApiSettings
from maildispatch.runtime.settings_fanout import FanoutSettings
from tests.stack.campaign_chaos import sender_dns
from tests.stack.dns_server import DnsServer
from tests.stack.event_source import build_sqs_event
from tests.stack.moto import aws_client
from tests.stack.provision import create_table_from_template

DOMAIN = "shop.example.com"


def function_for(dns: DnsServer, **env: str) -> FanoutFunction:
    environ = {
        "CAMPAIGN_TABLE": "campaigns",
        "SEND_QUEUE_URL": "http://127.0.0.1:1/send",
        "FANOUT_QUEUE_URL": "http://127.0.0.1:1/fanout",
        "LEDGER_TABLE": "ledger",
        "RELAY_HOST": "smtp.gmail.com",
        "UNSUBSCRIBE_BASE_URL": "https://mail.shop.example.com",
        "DNS_NAMESERVERS": dns.host,
        "DNS_PORT": str(dns.port),
        "DNS_TIMEOUT": "0.3",
        "DNS_LIFETIME": "1",
        **env,
    }
    return FanoutFunction(FanoutSettings.from_environ(environ))


def test_the_function_checks_the_from_domain_with_its_settings_and_a_broken_one_fails_with_why():
    with DnsServer(sender_dns(DOMAIN)) as dns:
        preflight = function_for(dns).preflight()
        assert preflight is not None
        result = asyncio.run(preflight.check(DOMAIN, stream=None))
        assert result.passed and not result.dns_failed, result.lines
        statuses = {line.check: line.status for line in result.lines}
        assert statuses == {
            "spf": "ok",
            "dkim": "skipped",  # no DKIM_KEYS for the domain
            "dmarc": "ok",
            "alignment": "ok",
            "ptr": "skipped",  # relay mode
            "unsubscribe": "ok",
        }
        dns.replace(DOMAIN, "TXT", ["v=spf1 include:amazonses.com -all"])  # SES's include, but the relay is Gmail
        result = asyncio.run(preflight.check(DOMAIN, stream="news"))
        assert not result.passed and not result.transient
        assert result.reason() == (
            f"sender check of {DOMAIN} failed: spf: {DOMAIN} does not include _spf.google.com: "
            f"not found in {DOMAIN}'s record"
        )


def test_servfail_is_no_verdict_and_the_run_is_retried_not_paused():
    with DnsServer(sender_dns(DOMAIN), servfail={f"_dmarc.{DOMAIN}"}) as dns:
        result = asyncio.run(function_for(dns).preflight().check(DOMAIN))
        assert not result.passed and result.dns_failed and result.transient


def test_preflight_off_builds_no_check_and_dnspython_is_not_loaded_until_a_run_needs_it():
    with DnsServer(sender_dns(DOMAIN)) as dns:
        assert function_for(dns, PREFLIGHT="off").preflight() is None
    probe = "import sys, maildispatch.runtime.fanout_function; print('dns' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=os.environ, check=True)
    assert loaded.stdout.strip() == "False", loaded.stderr


class _Context:
    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def test_the_fan_out_function_retries_on_servfail_pauses_on_a_failure_and_sends_after_resume(aws_env):
    """The handler on moto: the sender check runs before any recipient is enqueued, whatever the outcome."""
    endpoint, region = aws_env["AWS_ENDPOINT_URL"], aws_env["AWS_REGION"]
    ddb, sqs, s3 = (aws_client(service, endpoint) for service in ("dynamodb", "sqs", "s3"))
    campaigns = create_table_from_template(ddb, "CampaignTable")
    ledger = create_table_from_template(ddb, "DeliveryLedgerTable")
    send_queue = sqs.create_queue(QueueName="send")["QueueUrl"]
    fanout_queue = sqs.create_queue(QueueName="fanout")["QueueUrl"]
    fanout_arn = sqs.get_queue_attributes(QueueUrl=fanout_queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.create_bucket(Bucket="lists-bucket")
    s3.put_object(Bucket="lists-bucket", Key="lists/p.csv", Body=b"email\na@example.net\nb@example.net\n")
    control = campaign_control(CampaignApiSettings(campaigns, fanout_queue, ledger))
    doc = {"id": "p", "list": {"bucket": "lists-bucket", "key": "lists/p.csv"}, "from": f"news@{DOMAIN}"}
    asyncio.run(control.create({**doc, "template": {"subject": "Hi", "text": "Hello"}}))

    def next_run() -> dict:
        (message,) = sqs.receive_message(QueueUrl=fanout_queue, AttributeNames=["All"], WaitTimeSeconds=1)["Messages"]
        return build_sqs_event([message], fanout_arn, region)

    def enqueued() -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=send_queue, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    with DnsServer(sender_dns(DOMAIN), servfail={f"_dmarc.{DOMAIN}"}) as dns:
        environment = {"CAMPAIGN_TABLE": campaigns, "LEDGER_TABLE": ledger, "SEND_QUEUE_URL": send_queue}
        function = function_for(dns, **environment, FANOUT_QUEUE_URL=fanout_queue)
        try:
            event = next_run()
            response, tally = function.handle(event, _Context())
            assert response["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["messageId"]}]
            assert tally["preflight_dns_errors"] == 1 and enqueued() == 0  # retried: no verdict, nothing sent
            assert asyncio.run(control.get("p")).state is CampaignState.RUNNING

            dns.servfail.clear()
            dns.remove(f"_dmarc.{DOMAIN}")  # DNS answers now: there is no DMARC record
            response, tally = function.handle(event, _Context())  # the same message, come back
            assert response["batchItemFailures"] == [] and tally["preflight_failed"] == 1
            record = asyncio.run(control.get("p"))
            assert record.state is CampaignState.PAUSED and enqueued() == 0
            assert (record.reason or "").startswith(f"sender check of {DOMAIN} failed: dmarc: ")

            dns.add(f"_dmarc.{DOMAIN}", "TXT", "v=DMARC1; p=none")
            asyncio.run(control.resume("p"))
            response, tally = function.handle(next_run(), _Context())
            assert tally["preflight_passed"] == 1 and tally["enqueued"] == 2 and enqueued() == 2
            assert asyncio.run(control.get("p")).checkpoint.preflight_passed
        finally:
            function.close()
