"""`maildispatch campaign`: the document built from options, and the progress bar --watch draws."""

from __future__ import annotations

import argparse
import io

import pytest

from maildispatch.core.campaign import CampaignState, CampaignStatus, Checkpoint
from maildispatch_cli.campaign import campaign_document, progress_line, watch
from maildispatch_cli.errors import UsageError


def options(**given) -> argparse.Namespace:
    defaults = dict.fromkeys(
        ("file", "id", "list", "format", "sender", "template_key", "subject", "text_file", "html_file", "stream",
         "start_at", "send_by", "rate"),
    )  # fmt: skip
    return argparse.Namespace(**{**defaults, "require": [], **given})


def test_options_make_the_campaign_document():
    doc = campaign_document(
        options(
            list="s3://content/lists/a.csv", sender="news@example.com", template_key="t/a", rate=5.0, require=["code"]
        )
    )
    assert doc == {
        "list": {"bucket": "content", "key": "lists/a.csv"},
        "from": "news@example.com",
        "template": {"key": "t/a"},
        "rate": 5.0,
        "required_variables": ["code"],
    }
    with pytest.raises(UsageError):
        campaign_document(options(list="lists/a.csv", sender="news@example.com"))


def status(state=CampaignState.RUNNING, *, done=True, ledger=None, reason=None) -> CampaignStatus:
    cp = Checkpoint(offset=900, row=100, enqueued=100, done=done)
    return CampaignStatus(
        "c",
        state,
        cp,
        ledger or {"delivered": 60, "bounced": 2, "deferred": 5},
        started_at=0.0,
        now=62.0,
        reason=reason,
    )


def test_the_progress_bar_shows_the_share_final_the_counts_rate_eta_and_state():
    line = progress_line(status(), width=10)
    assert line.startswith("[######....]  62% 62/100 final | sent 60 bounced 2 deferred 5 suppressed 0 | 1.0/s ETA 38s")
    assert line.endswith("| running")
    paused = progress_line(status(CampaignState.PAUSED, done=False, reason="health: bounce rate 6.0%"), width=10)
    assert "(list read to row 100)" in paused and paused.endswith("| paused (health: bounce rate 6.0%)")


def test_watch_redraws_until_the_campaign_ends():
    answers = [
        status(),
        status(ledger={"delivered": 98, "bounced": 2}),
        status(CampaignState.FINISHED, ledger={"delivered": 98, "bounced": 2}),
    ]

    class Control:
        async def status(self, campaign_id):
            return answers.pop(0)

    out = io.StringIO()
    slept = []
    assert watch(Control(), argparse.Namespace(campaign_id="c", interval=2.0), out=out, sleep=slept.append) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and lines[-1].endswith("| finished") and slept == [2.0, 2.0]
