"""The pre-flight check's pure decisions (core/sender_check.py): SPF terms, DMARC policies, alignment."""

from __future__ import annotations

import pytest

from maildispatch.core.sender_check import (
    DmarcPolicy,
    SpfTerm,
    aligned,
    alignment_verdict,
    ip_matches,
    organizational_domain,
    parse_dmarc,
    parse_spf,
    relay_include,
)


def test_spf_terms_keep_their_order_qualifiers_and_put_redirect_last():
    terms = parse_spf("v=spf1 redirect=_spf.example.com ip4:192.0.2.0/24 -include:bad.example a/24 ~all exp=x")
    assert terms == [
        SpfTerm("+", "ip4", "192.0.2.0/24"),
        SpfTerm("-", "include", "bad.example"),
        SpfTerm("+", "a", "/24"),
        SpfTerm("~", "all"),
        SpfTerm("+", "redirect", "_spf.example.com"),
    ]


@pytest.mark.parametrize(
    ("ip", "value", "matches"),
    [("192.0.2.7", "192.0.2.0/24", True), ("192.0.3.7", "192.0.2.0/24", False), ("192.0.2.7", "192.0.2.7", True),
     ("2001:db8::1", "2001:db8::/32", True), ("192.0.2.7", "2001:db8::/32", False), ("192.0.2.7", "junk", False)],
)  # fmt: skip
def test_ip_terms_match_by_network(ip, value, matches):
    assert ip_matches(ip, SpfTerm("+", "ip4", value)) is matches


def test_known_relays_name_their_spf_include():
    assert relay_include("smtp.gmail.com") == ("_spf.google.com", "Gmail / Google Workspace")
    assert relay_include("smtp-relay.gmail.com")[0] == "_spf.google.com"
    assert relay_include("email-smtp.eu-west-1.amazonaws.com")[0] == "amazonses.com"
    assert relay_include("mail.example.net") is None
    assert relay_include("notgmail.com") is None


def test_dmarc_policies_are_read_and_broken_ones_said_so():
    policy = parse_dmarc("_dmarc.example.com", ["v=DMARC1; p=reject; adkim=s; aspf=r"])
    assert isinstance(policy, DmarcPolicy) and (policy.policy, policy.adkim, policy.aspf) == ("reject", "s", "r")
    assert "no v=DMARC1" in parse_dmarc("_dmarc.example.com", ["v=spf1 -all"])
    assert "p=(missing)" in parse_dmarc("_dmarc.example.com", ["v=DMARC1; rua=mailto:x@example.com"])
    assert "2 DMARC records" in parse_dmarc("_dmarc.example.com", ["v=DMARC1; p=none", "v=DMARC1; p=reject"])


def test_organisational_domains_and_alignment():
    assert organizational_domain("mail.news.example.com") == "example.com"
    assert organizational_domain("shop.example.co.uk") == "example.co.uk"
    assert aligned("news.example.com", "example.com", "r") and not aligned("news.example.com", "example.com", "s")
    assert not aligned("example.com", "example.net", "r")


def test_spf_alignment_alone_passes_dmarc_but_says_dkim_is_wanted():
    line = alignment_verdict("example.com", DmarcPolicy("_dmarc.example.com", "reject"), None, "bounces.example.com")
    assert line.status == "ok" and "configure DKIM too" in line.detail
    line = alignment_verdict(
        "example.com", DmarcPolicy("_dmarc.example.com", "reject", aspf="s"), None, "b.example.com"
    )
    assert line.failed
