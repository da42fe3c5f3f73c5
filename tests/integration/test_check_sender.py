"""`maildispatch check-sender` against a real DNS server on loopback: a domain set up right passes every
line; each way of getting it wrong fails its line, says why, and makes the exit code 1."""

from __future__ import annotations

import json
import uuid

import pytest

from maildispatch.core.dkim import key_record
from tests.fakes import dkim as keys
from tests.stack.cli import maildispatch
from tests.stack.dns_server import DnsServer, ptr_name
from tests.stack.moto import aws_client

EGRESS = "203.0.113.7"


def zone() -> dict[str, list[tuple[str, str]]]:
    rsa_record = keys.published()["md2026._domainkey.example.com"]
    ed_record = keys.published()["md2026e._domainkey.example.com"]
    other_key = key_record("rsa-sha256", keys.signing_key().public_key_bytes()[:-8] + b"12345678")
    return {
        # relay mode through Gmail: everything right
        "good.test": [("TXT", "v=spf1 include:_spf.google.com ~all"), ("TXT", "google-site-verification=x")],
        "md2026._domainkey.good.test": [("TXT", rsa_record)],
        "md2026e._domainkey.good.test": [("TXT", ed_record)],
        "_dmarc.good.test": [("TXT", "v=DMARC1; p=quarantine; adkim=s; rua=mailto:d@good.test")],
        "_spf.google.com": [("TXT", "v=spf1 include:_netblocks.google.com ~all")],
        # MX mode: the egress IP through an include, a forward-confirmed PTR
        "mx.test": [("TXT", "v=spf1 mx include:_spf.mx.test -all"), ("MX", "10 in.mx.test.")],
        "in.mx.test": [("A", "198.51.100.1")],
        "_spf.mx.test": [("TXT", "v=spf1 ip4:203.0.113.0/28 -all")],
        "md2026._domainkey.mx.test": [("TXT", rsa_record)],
        "_dmarc.mx.test": [("TXT", "v=DMARC1; p=reject")],
        ptr_name(EGRESS): [("PTR", "mail.mx.test.")],
        "mail.mx.test": [("A", EGRESS)],
        ptr_name("203.0.113.9"): [("PTR", "liar.mx.test.")],
        "liar.mx.test": [("A", "203.0.113.10")],
        # each wrong in one way
        "nospf.test": [("TXT", "some other text")],
        "twospf.test": [("TXT", "v=spf1 -all"), ("TXT", "v=spf1 include:_spf.google.com -all")],
        "ses.test": [("TXT", "v=spf1 include:_spf.google.com -all")],
        "wrongkey.test": [("TXT", "v=spf1 include:_spf.google.com ~all")],
        "md2026._domainkey.wrongkey.test": [("TXT", other_key)],
        "_dmarc.wrongkey.test": [("TXT", "v=DMARC1; p=none")],
        "nodmarc.test": [("TXT", "v=spf1 include:_spf.google.com ~all")],
        "md2026._domainkey.nodmarc.test": [("TXT", rsa_record)],
        "loop.test": [("TXT", "v=spf1 " + " ".join(f"include:l{i}.loop.test" for i in range(11)) + " -all")],
        **{f"l{i}.loop.test": [("TXT", "v=spf1 -all")] for i in range(11)},
    }


@pytest.fixture(scope="module")
def dns():
    with DnsServer(zone(), zones=["test", "com", "arpa"], servfail={"broken.test"}) as server:
        yield server


@pytest.fixture(scope="module")
def key_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    (folder / "rsa.pem").write_bytes(keys.pem(keys.rsa_key()))
    (folder / "ed.pem").write_bytes(keys.pem(keys.ed25519_key()))
    return folder


def check(dns, key_files, domain, *args):
    rsa_key = ["--selector", "md2026", "--key-file", str(key_files / "rsa.pem")]
    result = maildispatch(
        "check-sender", domain, "--nameserver", dns.host, "--dns-port", str(dns.port), "--timeout", "2",
        *rsa_key, *args, env={},
    )  # fmt: skip
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line and not line.startswith(" ")}
    return result, lines


def status(lines, check_name):
    return lines[check_name].split()[1]


def test_a_domain_set_up_right_for_gmail_passes_every_check(dns, key_files):
    result, lines = check(
        dns, key_files, "good.test", "--relay-host", "smtp.gmail.com",
        "--ed25519-selector", "md2026e", "--ed25519-key-file", str(key_files / "ed.pem"),
        "--bulk-stream", "campaign", "--one-click-url", "https://good.test/u",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1] == "sender check ok"
    assert "good.test includes _spf.google.com: good.test -> _spf.google.com" in lines["spf"]
    dkim_lines = [line for line in result.stdout.splitlines() if line.startswith("dkim")]
    assert len(dkim_lines) == 2 and all(" ok " in line for line in dkim_lines)
    assert "publishes the configured ed25519 key" in dkim_lines[1]
    assert "p=quarantine, adkim=s" in lines["dmarc"]
    assert "DKIM d=good.test aligns (strict)" in lines["alignment"]
    assert status(lines, "ptr") == "skipped"
    assert status(lines, "unsubscribe") == "ok"


def test_mx_mode_follows_includes_to_the_egress_ip_and_forward_confirms_the_ptr(dns, key_files):
    result, lines = check(
        dns, key_files, "mx.test", "--mode", "mx", "--egress-ip", EGRESS, "--helo-name", "mail.mx.test"
    )
    assert result.returncode == 0, result.stdout
    assert "mx.test: include:_spf.mx.test -> _spf.mx.test: ip4:203.0.113.0/28" in lines["spf"]
    assert f"{EGRESS} -> mail.mx.test -> {EGRESS} (forward-confirmed)" in lines["ptr"]
    assert status(lines, "unsubscribe") == "skipped"


@pytest.mark.parametrize(
    ("domain", "args", "failing", "why"),
    [
        ("nospf.test", ["--relay-host", "smtp.gmail.com"], "spf", "nospf.test has no SPF record"),
        ("twospf.test", ["--relay-host", "smtp.gmail.com"], "spf", "has 2 SPF records"),
        ("ses.test", ["--relay-host", "email-smtp.eu-west-1.amazonaws.com"], "spf", "does not include amazonses.com"),
        ("loop.test", ["--spf-include", "nowhere.test"], "spf", "more than 10 DNS lookups"),
        ("broken.test", ["--relay-host", "smtp.gmail.com"], "spf", "TXT lookup of broken.test failed (servfail)"),
        ("mx.test", ["--mode", "mx", "--egress-ip", "198.51.100.99"], "spf", "gives fail for 198.51.100.99: mx.test: -all"),
        ("wrongkey.test", ["--relay-host", "smtp.gmail.com"], "dkim", "publishes another key than the one configured"),
        ("nospf.test", [], "dkim", "no DKIM key published at md2026._domainkey.nospf.test"),
        ("nodmarc.test", ["--relay-host", "smtp.gmail.com"], "dmarc", "no v=DMARC1 record at _dmarc.nodmarc.test"),
        (
            "good.test",
            ["--relay-host", "smtp.gmail.com", "--dkim-domain", "example.com", "--envelope-domain", "bounce.example.com"],
            "alignment",
            "DKIM d=example.com does NOT align (strict)",
        ),
        ("mx.test", ["--mode", "mx", "--egress-ip", "203.0.113.8"], "ptr", "203.0.113.8 has no PTR record"),
        ("mx.test", ["--mode", "mx", "--egress-ip", "203.0.113.9"], "ptr", "which does not resolve back to 203.0.113.9"),
        (
            "mx.test",
            ["--mode", "mx", "--egress-ip", EGRESS, "--helo-name", "client.mx.test"],
            "ptr",
            "but the EHLO name is client.mx.test",
        ),
        ("good.test", ["--relay-host", "smtp.gmail.com", "--bulk-stream", "campaign"], "unsubscribe", "no one-click"),
        (
            "good.test",
            ["--relay-host", "smtp.gmail.com", "--bulk-stream", "campaign", "--one-click-url", "http://good.test/u"],
            "unsubscribe",
            "is not an https:// URL",
        ),
    ],
    ids=[
        "no-spf", "two-spf", "relay-include-missing", "spf-lookup-limit", "spf-servfail", "egress-ip-not-authorised",
        "dkim-key-differs", "dkim-key-missing", "no-dmarc", "not-aligned", "no-ptr", "ptr-not-confirmed",
        "ptr-not-helo", "no-one-click", "one-click-not-https",
    ],
)  # fmt: skip
def test_each_mistake_fails_its_line_with_the_reason(dns, key_files, domain, args, failing, why):
    result, lines = check(dns, key_files, domain, *args)
    assert result.returncode == 1
    assert status(lines, failing) == "FAILED", result.stdout
    assert why in lines[failing], result.stdout
    assert result.stdout.splitlines()[-1].startswith("sender check FAILED:")
    assert failing in result.stdout.splitlines()[-1]


def test_a_sample_bulk_message_must_carry_both_one_click_headers(dns, key_files, tmp_path):
    sample = tmp_path / "bulk.eml"
    sample.write_bytes(b"From: a@good.test\r\nList-Unsubscribe: <https://good.test/u/1>\r\nSubject: x\r\n\r\nbody\r\n")
    args = ["--relay-host", "smtp.gmail.com", "--bulk-stream", "campaign", "--one-click-url", "https://good.test/u"]
    result, lines = check(dns, key_files, "good.test", *args, "--sample-message", str(sample))
    assert result.returncode == 1 and "lacks List-Unsubscribe-Post" in lines["unsubscribe"]
    sample.write_bytes(
        b"From: a@good.test\r\nList-Unsubscribe: <https://good.test/u/1>\r\n"
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\nbody\r\n"
    )
    result, lines = check(dns, key_files, "good.test", *args, "--sample-message", str(sample))
    assert result.returncode == 0, result.stdout


def test_the_command_line_says_what_it_needs(dns, key_files):
    result = maildispatch("check-sender", "mx.test", "--mode", "mx", env={})
    assert result.returncode == 2 and "--mode mx needs --egress-ip" in result.stderr
    result = maildispatch("check-sender", "good.test", "--selector", "s1", env={})
    assert result.returncode == 2 and "--selector needs one of --key-file or --key-secret" in result.stderr


def test_with_the_stack_the_keys_and_relay_are_the_deployed_ones(dns, moto_server, moto_env):
    secret = aws_client("secretsmanager", moto_server.endpoint_url).create_secret(
        Name=f"maildispatch/dkim/good-{uuid.uuid4().hex[:6]}", SecretString=keys.pem(keys.rsa_key()).decode()
    )["ARN"]
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"RelayHost": {"Type": "String"}, "DkimKeys": {"Type": "String"}},
        # the stack's parameters are what the command reads; a resource never made keeps moto quick
        "Conditions": {"Never": {"Fn::Equals": ["a", "b"]}},
        "Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Condition": "Never"}},
    }
    name = f"maildispatch-{uuid.uuid4().hex[:8]}"
    aws_client("cloudformation", moto_server.endpoint_url).create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": "RelayHost", "ParameterValue": "smtp.gmail.com"},
            {
                "ParameterKey": "DkimKeys",
                "ParameterValue": json.dumps({"good.test": {"selector": "md2026", "secret_arn": secret}}),
            },
        ],
    )
    dns_args = ("--nameserver", dns.host, "--dns-port", str(dns.port))
    result = maildispatch("check-sender", "good.test", "--stack", name, *dns_args, env=moto_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "good.test includes _spf.google.com" in result.stdout  # RelayHost from the stack
    assert "md2026._domainkey.good.test publishes the configured rsa key" in result.stdout
    result = maildispatch("check-sender", "elsewhere.test", "--stack", name, *dns_args, env=moto_env)
    assert result.returncode == 1 and "no DKIM key configured for elsewhere.test" in result.stdout
