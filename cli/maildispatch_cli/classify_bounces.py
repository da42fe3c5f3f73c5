"""Classify a folder of returned messages into the shared scorer's predictions format.

    maildispatch classify-bounces DIR [--out .local/bounce-predictions.json]
    maildispatch classify-bounces DIR --score [TRUTH_JSON]   # then run score.py and print it
    maildispatch classify-bounces DIR --leave-one-out [TRUTH_JSON]   # the generalisation table

The predictions map each file (relative to DIR's parent, as truth.json names them) to its verdicts:
recipient_index, recipient, status, reply_code, reason, hard. `--score` runs
../shared/bounces/score.py (or the score.py beside TRUTH_JSON) with --by group.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from maildispatch_cli.bounce_measure import leave_one_out, load_truth, predictions_for, print_summary
from maildispatch_cli.errors import UsageError

NAME = "classify-bounces"
HELP = "classify a folder of returned messages (.eml) into the scorer's predictions format"


def add_arguments(parser: argparse.ArgumentParser, parents: list[argparse.ArgumentParser]) -> None:
    parser.add_argument("folder", type=Path, help="a folder of .eml files (searched recursively)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(".local/bounce-predictions.json"),
        help="where to write the predictions (default: .local/bounce-predictions.json)",
    )
    parser.add_argument(
        "--score",
        nargs="?",
        const="",
        metavar="TRUTH_JSON",
        help="score the predictions with score.py (default truth: DIR/../truth.json)",
    )
    parser.add_argument(
        "--leave-one-out",
        nargs="?",
        const="",
        metavar="TRUTH_JSON",
        dest="leave_one_out",
        help="print the leave-one-family-out table (default truth: DIR/../truth.json)",
    )


def run(args: argparse.Namespace) -> int:
    prog = f"maildispatch {NAME}"
    if not args.folder.is_dir():
        raise UsageError(f"{args.folder}: not a folder", prog)
    if args.leave_one_out is not None:
        labels = Path(args.leave_one_out) if args.leave_one_out else args.folder.resolve().parent / "truth.json"
        if not labels.is_file():
            raise UsageError(f"cannot measure: {labels} is missing", prog)
        leave_one_out(args.folder, load_truth(labels))
        return 0
    truth = scorer = None
    if args.score is not None:
        truth = Path(args.score) if args.score else args.folder.resolve().parent / "truth.json"
        scorer = truth.parent / "score.py"
        if not truth.is_file() or not scorer.is_file():  # before the work, not after it
            raise UsageError(f"cannot score: {truth if not truth.is_file() else scorer} is missing", prog)
    predictions = predictions_for(args.folder)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(predictions, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    counts: dict[str, int] = {}
    for items in predictions.values():
        for item in items or [{"kind": "unclassified"}]:
            counts[item["kind"]] = counts.get(item["kind"], 0) + 1
    print(
        f"classified {len(predictions)} messages into {args.out}: "
        + ", ".join(f"{k} {n}" for k, n in sorted(counts.items())),
        file=sys.stderr,
    )
    if truth is None or scorer is None:
        return 0
    code = subprocess.call([sys.executable, str(scorer), str(truth), str(args.out), "--by", "group"])
    sys.stdout.flush()
    print_summary(load_truth(truth), predictions)
    return code
