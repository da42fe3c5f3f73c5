"""MTA-STS (RFC 8461): the `_mta-sts` TXT record, the policy file and MX pattern matching, pure.

A receiving domain publishes `_mta-sts.<domain> TXT "v=STSv1; id=…"` and a policy at
`https://mta-sts.<domain>/.well-known/mta-sts.txt`:

    version: STSv1
    mode: enforce            # or testing, or none
    mx: mail.example.com
    mx: *.example.net        # a wildcard covers exactly one leftmost label
    max_age: 604800          # seconds to cache it; at most 31557600

In `enforce` mode a sender delivers only to MX hosts that match an `mx` pattern and present a
certificate valid for that host name (PKIX); otherwise the mail waits (transient failure). In
`testing` mode it delivers as usual and reports what would have failed. `none` turns the policy off.
The adapter (adapters/mta_sts.py) fetches and caches; these functions only read text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

MAX_AGE_LIMIT = 31_557_600  # RFC 8461 3.2: about a year
MAX_POLICY_BYTES = 64 * 1024  # RFC 8461 3.3: senders may refuse larger policies
StsMode = Literal["enforce", "testing", "none"]
_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_MODES: tuple[StsMode, ...] = ("enforce", "testing", "none")


class PolicyError(ValueError):
    """The policy file is not a valid STSv1 policy; the message says which line or field."""


@dataclass(frozen=True)
class StsRecord:
    id: str


@dataclass(frozen=True)
class StsPolicy:
    mode: StsMode
    mx: tuple[str, ...]
    max_age: int

    def allows(self, host: str) -> bool:
        """Whether an MX host name matches one of the policy's `mx` patterns."""
        return any(mx_matches(pattern, host) for pattern in self.mx)


def parse_sts_record(texts: Sequence[str]) -> StsRecord | None:
    """The STS record among a name's TXT strings; None when there is none, or more than one (RFC 8461 3.1)."""
    records = [text for text in texts if text.strip().startswith("v=STSv1")]
    if len(records) != 1:
        return None
    fields: dict[str, str] = {}
    for part in records[0].split(";"):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    if fields.get("v") != "STSv1" or not _ID.match(fields.get("id", "")):
        return None
    return StsRecord(fields["id"])


def parse_policy(text: str) -> StsPolicy:
    """The policy from the body of mta-sts.txt; raises PolicyError when it is not a usable STSv1 policy."""
    if len(text.encode("utf-8", "replace")) > MAX_POLICY_BYTES:
        raise PolicyError(f"the policy is larger than {MAX_POLICY_BYTES} bytes")
    fields: list[tuple[str, str]] = []
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise PolicyError(f"line {number} is not 'key: value': {line[:60]!r}")
        fields.append((key.strip(), value.strip()))
    if not fields or fields[0] != ("version", "STSv1"):
        raise PolicyError("the policy does not start with 'version: STSv1'")
    values: dict[str, str] = {}
    patterns: list[str] = []
    for key, value in fields:
        if key == "mx":
            patterns.append(value.rstrip(".").lower())
        else:
            values.setdefault(key, value)
    mode = values.get("mode", "")
    if mode not in _MODES:
        raise PolicyError(f"mode must be enforce, testing or none, not {mode!r}")
    max_age_text = values.get("max_age", "")
    if not max_age_text.isdigit() or len(max_age_text) > 10:
        raise PolicyError(f"max_age must be a number of seconds, not {max_age_text!r}")
    if mode != "none" and not patterns:
        raise PolicyError(f"a policy in mode {mode} must list at least one mx pattern")
    for pattern in patterns:
        if (
            not pattern
            or " " in pattern
            or "*" in pattern[1:]
            or (pattern.startswith("*") and not pattern.startswith("*."))
        ):
            raise PolicyError(f"mx pattern {pattern!r} is not a host name or *.domain")
    return StsPolicy(mode=mode, mx=tuple(patterns), max_age=min(int(max_age_text), MAX_AGE_LIMIT))


def mx_matches(pattern: str, host: str) -> bool:
    """RFC 8461 4.1: exact (case-insensitive) match, or `*.domain` matching exactly one more label."""
    pattern, host = pattern.rstrip(".").lower(), host.rstrip(".").lower()
    if pattern.startswith("*."):
        label, dot, rest = host.partition(".")
        return bool(label) and bool(dot) and rest == pattern[2:]
    return host == pattern
