"""The returned-mail classifier on the shared corpus of real bounces (../shared/bounces, read-only).

The scores must stay above floors set just under what the classifier achieves, so they only go
up. The corpus is never copied into the repository: it is read where it lies, next to the repo.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from maildispatch.core.returned_mail import classify_returned_message
from maildispatch_cli.bounce_measure import predictions_for

BOUNCES = Path(__file__).resolve().parents[2].parent / "shared" / "bounces"

# Floors: just under the scores of this classifier (hard/soft 97.86 %, reason 93.05 %; issue 13).
FLOORS = {
    "hard_soft": 0.978,  # issue 5 target: >= 0.97; issue 13: no figure falls below 97.14
    "reason": 0.930,  # issue 5 target: >= 0.90; issue 13: no figure falls below 91.93
    "non_bounce": 0.96,
    "status_class": 0.96,
    "reply_code": 0.96,
}


@pytest.fixture(scope="module")
def corpus() -> Path:
    folder = BOUNCES / "corpus"
    if not (folder.is_dir() and (BOUNCES / "truth.json").is_file() and (BOUNCES / "score.py").is_file()):
        pytest.skip(
            f"the shared bounce corpus is not at {BOUNCES} (corpus/, truth.json, score.py); CI has it beside the repo"
        )
    return folder


@pytest.fixture(scope="module")
def scores(corpus: Path, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("bounces")
    predictions = out / "bounce-predictions.json"
    predictions.write_text(json.dumps(predictions_for(corpus)), encoding="utf-8")
    numbers = out / "scores.json"
    run = subprocess.run(
        [
            sys.executable,
            str(BOUNCES / "score.py"),
            str(BOUNCES / "truth.json"),
            str(predictions),
            "--json",
            str(numbers),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(numbers.read_text(encoding="utf-8"))


@pytest.mark.parametrize("measure", sorted(FLOORS))
def test_scores_stay_above_their_floors(scores: dict, measure: str):
    got = scores["overall"][measure]
    assert got["rate"] >= FLOORS[measure], (
        f"{measure}: {got['right']}/{got['of']} = {got['rate']:.4f} < floor {FLOORS[measure]}"
    )


def test_few_soft_bounces_read_hard_and_few_hard_ones_are_missed(corpus: Path):
    """Ceilings at today's figures (issue 13): soft predicted hard 2/298 (the two left are reports
    whose words say the address does not exist), hard missed 4/122."""
    from maildispatch_cli.bounce_measure import load_truth, measures

    got = measures(load_truth(BOUNCES / "truth.json"), predictions_for(corpus))
    assert got["soft_predicted_hard"][0] <= 2, got["soft_predicted_hard"]
    assert got["soft_suppressible"][0] <= 2, got["soft_suppressible"]
    assert got["hard_missed"][0] <= 4, got["hard_missed"]


def test_no_message_breaks_the_parser_and_almost_all_are_answered(corpus: Path):
    broken, unanswered = [], []
    for path in sorted(corpus.glob("*.eml")):
        result = classify_returned_message(path.read_bytes())
        if result.parse_error:
            broken.append((path.name, result.parse_error))
        if not result.recipients:
            unanswered.append(path.name)
    assert broken == []
    # Floor: one message (a mailing-list manager's loop alert, not a bounce) gets no verdict today.
    assert len(unanswered) <= 1, unanswered


def test_reputation_blocks_never_suppress_a_recipient(corpus: Path):
    """Every truth entry labelled blocked/badreputation/requireptr/authfailure is predicted soft."""
    truth = json.loads((BOUNCES / "truth.json").read_text(encoding="utf-8"))
    entries = truth["entries"] if isinstance(truth, dict) else truth
    wrongly_hard = []
    for e in entries:
        if e["reason"] not in ("blocked", "badreputation", "requireptr", "authfailure"):
            continue
        result = classify_returned_message((BOUNCES / e["file"]).read_bytes())
        verdicts = result.recipients
        i = e["recipient_index"] - 1
        if i < len(verdicts) and verdicts[i].hard:
            wrongly_hard.append((e["file"], verdicts[i].reason))
    assert wrongly_hard == []


def test_suppression_figures(corpus: Path):
    """Issue 13: soft bounces predicted hard stay rare (a wrong hard verdict takes a working address
    off every future send), hard bounces are rarely missed, and almost every entry is answered."""
    from maildispatch_cli.bounce_measure import load_truth, measures

    m = measures(load_truth(BOUNCES / "truth.json"), predictions_for(corpus))
    right, of = m["soft_predicted_hard"]
    assert right / of <= 0.01, f"soft predicted hard {right}/{of}"  # issue 13 target: <= 1 %
    right, of = m["hard_missed"]
    assert right / of <= 0.033, f"hard missed {right}/{of}"
    right, of = m["answered"]
    assert right / of >= 0.993, f"answered {right}/{of}"
    right, of = m["soft_suppressible"]
    assert right / of <= 0.014, f"soft but suppressible {right}/{of}"
