"""What the held-out returned-mail samples share: the expected verdict per recipient and the check
that the classifier gives it (tests/unit/test_returned_other_mtas.py, test_returned_more_mtas.py,
test_returned_mta_sources.py)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

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


Case = tuple[str, bytes, Sequence[Expect]]  # (id, the returned message, its expected verdicts)


def case_params(
    cases: Sequence[Case], still_failing: Collection[str], why: Mapping[str, str] | None = None
) -> list[Any]:
    """One pytest param (raw, expected) per case, named by its id; a case that still fails on main is a
    strict xfail with the reason `why` gives for it."""
    return [
        pytest.param(
            raw,
            expected,
            id=case_id,
            marks=[pytest.mark.xfail(strict=True, reason=(why or {}).get(case_id, "fails on main"))]
            if case_id in still_failing
            else [],
        )
        for case_id, raw, expected in cases
    ]


def assert_every_report_names_its_recipients(cases: Sequence[Case], still_failing: Collection[str]) -> None:
    """Answered: a verdict for every recipient the report is about, never an empty reading."""
    for case_id, raw, expected in cases:
        if case_id in still_failing:
            continue
        got = [v.recipient for v in classify_returned_message(raw).recipients]
        assert got == [e.recipient for e in expected], case_id
