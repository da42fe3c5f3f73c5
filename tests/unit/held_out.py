"""What the held-out returned-mail samples share: the expected verdict per recipient and the check
that the classifier gives it (tests/unit/test_returned_other_mtas.py, test_returned_more_mtas.py,
test_returned_mta_sources.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from maildispatch.core.returned_mail import classify_returned_message


@dataclass(frozen=True)
class Expect:
    recipient: str
    reason: str
    hard: bool
    strong: bool | None = None  # for a hard verdict: must it be suppressible (True) / must it not (False)


def assert_reads_as(raw: bytes, expected: Sequence[Expect]) -> None:
    """The recipients, reasons and hard/soft as expected, in order; a soft verdict never suppressible."""
    result = classify_returned_message(raw)

    got = [(v.recipient, v.reason, v.hard) for v in result.recipients]
    assert got == [(e.recipient, e.reason, e.hard) for e in expected], [v.evidence for v in result.recipients]
    for verdict, exp in zip(result.recipients, expected, strict=True):
        if not exp.hard:
            assert not verdict.suppressible, verdict.evidence
        elif exp.strong is not None:
            assert verdict.suppressible is exp.strong, verdict.evidence
