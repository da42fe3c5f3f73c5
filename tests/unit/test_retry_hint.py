"""stated_retry_delay: the delay a server asks for in its reply text, in seconds."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maildispatch.core.outcome import stated_retry_delay


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("try again in 300 seconds", 300.0),
        ("retry in 5 minutes", 300.0),
        ("Greylisted for 60s", 60.0),
        ("please retry after 2 min", 120.0),
        ("4.7.1 Greylisted, please try again in 1 seconds", 1.0),
        ("Service busy; try again in 1 hour", 3600.0),
        ("<a@example.org>: Recipient address rejected: greylisted, wait 90 secs", 90.0),
        ("TRY AGAIN IN 10 MINS", 600.0),
        ("retry in 1.5 minutes", 90.0),
        ("Too many connections, come back in 30 sec", 30.0),
    ],
)
def test_reads_the_delay_a_server_states(text: str, seconds: float) -> None:
    assert stated_retry_delay(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "Greylisted, see http://postgrey.schweikert.ch/help/example.org.html",
        "Try again later, closing connection.",
        "4.7.1 Service unavailable",
        "Too many recipients, try again with fewer than 100 recipients",
        "retry 3 times",
        "User unknown in virtual mailbox table",
        "",
    ],
)
def test_no_delay_when_none_is_stated(text: str) -> None:
    assert stated_retry_delay(text) is None


def test_a_number_must_follow_the_retry_wording_closely() -> None:
    # The 60 belongs to "queue 60", not to the request to try again.
    assert stated_retry_delay("try again later; queue position 60 s") is None
    assert stated_retry_delay("mailbox 4.2.2 full, retry 10 m") == 600.0


@given(st.text())
def test_any_text_gives_none_or_a_finite_non_negative_delay(text: str) -> None:
    delay = stated_retry_delay(text)
    assert delay is None or (math.isfinite(delay) and delay >= 0)


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["seconds", "s", "minutes", "min", "hours", "h"]))
def test_the_stated_number_scales_by_its_unit(number: int, unit: str) -> None:
    scale = {"s": 1, "m": 60, "h": 3600}[unit[0]]
    assert stated_retry_delay(f"451 4.7.1 please try again in {number} {unit}") == number * scale
