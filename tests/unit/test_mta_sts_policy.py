"""MTA-STS (RFC 8461): the TXT record, the policy file and MX pattern matching."""

from __future__ import annotations

import pytest

from maildispatch.core.mta_sts import (
    MAX_AGE_LIMIT,
    PolicyError,
    StsPolicy,
    StsRecord,
    mx_matches,
    parse_policy,
    parse_sts_record,
)

POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n"


def test_the_record_gives_its_id():
    assert parse_sts_record(["v=spf1 -all", "v=STSv1; id=20160831085700Z;"]) == StsRecord("20160831085700Z")
    assert parse_sts_record(["v=STSv1;id=abc"]) == StsRecord("abc")


@pytest.mark.parametrize(
    "texts",
    [
        [],
        ["v=spf1 -all"],
        ["v=STSv1; id=one", "v=STSv1; id=two"],  # two records: no policy (RFC 8461 3.1)
        ["v=STSv1;"],  # no id
        ["v=STSv1; id=has-dash"],  # id is 1-32 letters and digits
        ["v=STSv1; id=" + "a" * 33],
    ],
)
def test_a_missing_doubled_or_malformed_record_means_no_policy(texts):
    assert parse_sts_record(texts) is None


def test_a_policy_is_read_with_crlf_or_lf():
    expected = StsPolicy("enforce", ("mail.example.com", "*.example.net"), 604800)
    assert parse_policy(POLICY) == expected
    assert parse_policy(POLICY.replace("\r\n", "\n")) == expected


def test_unknown_keys_are_ignored_and_max_age_is_capped():
    policy = parse_policy("version: STSv1\nmode: testing\nmx: a.test\nfuture: x\nmax_age: 9999999999\n")
    assert policy.mode == "testing" and policy.max_age == MAX_AGE_LIMIT


def test_mode_none_needs_no_mx():
    assert parse_policy("version: STSv1\nmode: none\nmax_age: 60\n") == StsPolicy("none", (), 60)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("mode: enforce\nversion: STSv1\nmx: a.test\nmax_age: 1\n", "version"),
        ("version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n", "mode"),
        ("version: STSv1\nmode: enforce\nmx: a.test\n", "max_age"),
        ("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -5\n", "max_age"),
        ("version: STSv1\nmode: enforce\nmax_age: 5\n", "mx"),
        ("version: STSv1\nmode: enforce\nmx: a.*.test\nmax_age: 5\n", "mx pattern"),
        ("<html>not a policy</html>", "key: value"),
    ],
)
def test_an_invalid_policy_is_refused_with_the_reason(text, why):
    with pytest.raises(PolicyError, match=why):
        parse_policy(text)


@pytest.mark.parametrize(
    ("pattern", "host", "matches"),
    [
        ("mail.example.com", "mail.example.com", True),
        ("mail.example.com", "MAIL.Example.COM.", True),
        ("mail.example.com", "mx.example.com", False),
        ("*.example.net", "mx1.example.net", True),
        ("*.example.net", "example.net", False),  # the wildcard needs a label
        ("*.example.net", "a.b.example.net", False),  # exactly one label
        ("*.example.net", "mx1.example.network", False),
    ],
)
def test_mx_patterns(pattern, host, matches):
    assert mx_matches(pattern, host) is matches


def test_a_policy_allows_the_hosts_its_patterns_match():
    policy = parse_policy(POLICY)
    assert policy.allows("mail.example.com") and policy.allows("mx2.example.net")
    assert not policy.allows("evil.example.org")
