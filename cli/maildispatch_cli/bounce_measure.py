"""How well the returned-mail classifier does on a labelled folder: predictions, figures, leave-one-family-out.

The predictions map each file (relative to DIR's parent, as truth.json names them) to its verdicts:
recipient_index, recipient, status, reply_code, reason, hard (plus rule, evidence, confidence).
The summary gives the figures that matter for suppression: the share of soft bounces predicted hard
(a working address lost), the share of hard bounces missed, the share answered, and how many hard
verdicts are `suppressible` (strong evidence).

The leave-one-out table measures generalisation honestly: each MTA family (the file-name prefix, e.g.
lhost-postfix) is classified in turn WITHOUT the phrases specific to it: the phrases registered as
its own wording (`wording.NARROW`) and every catalog phrase whose only matches in the folder are in
that family's messages. The classifier itself never sees file names; only this measurement does.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, TextIO

from maildispatch.core.returned_mail import ReturnedMessage, classify_returned_message


def _verdict_items(result: ReturnedMessage) -> list[dict[str, Any]]:
    return [
        {
            "recipient_index": i,
            "recipient": v.recipient,
            "status": v.status,
            "reply_code": str(v.reply_code) if v.reply_code else None,
            "reason": v.reason,
            "hard": v.hard,
            "kind": result.kind,
            "rule": v.rule,
            "evidence": v.evidence,
            "confidence": v.confidence,
            "suppressible": v.suppressible,
            "diagnostic": (v.diagnostic or "")[:300],
        }
        for i, v in enumerate(result.recipients, 1)
    ]


def predictions_for(folder: Path, only: set[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(folder.rglob("*.eml")):
        key = f"{folder.name}/{path.relative_to(folder).as_posix()}"
        if only is not None and key not in only:
            continue
        out[key] = _verdict_items(classify_returned_message(path.read_bytes()))
    return out


def load_truth(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    entries: list[dict[str, Any]] = data["entries"] if isinstance(data, dict) else data
    return entries


def measures(truth: list[dict[str, Any]], predictions: dict[str, list[dict[str, Any]]]) -> dict[str, tuple[int, int]]:
    """(right, of) for: hard_soft, reason, soft_predicted_hard, hard_missed, answered, and
    hard_suppressible (hard truths predicted hard on strong evidence)."""
    m = {
        k: [0, 0]
        for k in (
            "hard_soft",
            "reason",
            "soft_predicted_hard",
            "hard_missed",
            "answered",
            "hard_suppressible",
            "soft_suppressible",
        )
    }
    for e in truth:
        items = predictions.get(e["file"]) or predictions.get(e["file"].rsplit("/", 1)[-1]) or []
        p = next((i for i in items if i.get("recipient_index") == e["recipient_index"]), None)
        m["answered"][1] += 1
        m["answered"][0] += p is not None
        m["reason"][1] += 1
        m["reason"][0] += p is not None and (p.get("reason") or "").lower() == e["reason"]
        if e["hard"] is None:
            continue
        m["hard_soft"][1] += 1
        m["hard_soft"][0] += p is not None and p.get("hard") is e["hard"]
        if e["hard"]:
            m["hard_missed"][1] += 1
            m["hard_missed"][0] += p is None or p.get("hard") is not True
            m["hard_suppressible"][1] += 1
            m["hard_suppressible"][0] += p is not None and bool(p.get("suppressible"))
        else:
            m["soft_predicted_hard"][1] += 1
            m["soft_predicted_hard"][0] += p is not None and p.get("hard") is True
            m["soft_suppressible"][1] += 1
            m["soft_suppressible"][0] += p is not None and bool(p.get("suppressible"))
    return {k: (v[0], v[1]) for k, v in m.items()}


def _pct(pair: tuple[int, int]) -> str:
    right, of = pair
    return f"{100 * right / of:6.2f}% ({right}/{of})" if of else "   n/a"


def print_summary(
    truth: list[dict[str, Any]], predictions: dict[str, list[dict[str, Any]]], out: TextIO | None = None
) -> None:
    out = out or sys.stdout
    m = measures(truth, predictions)
    print("\nsuppression figures (lower is better for the first two):", file=out)
    print(f"  soft predicted hard   {_pct(m['soft_predicted_hard'])}", file=out)
    print(f"  hard missed           {_pct(m['hard_missed'])}", file=out)
    print(f"  answered              {_pct(m['answered'])}", file=out)
    print(
        f"  hard and suppressible {_pct(m['hard_suppressible'])}   (hard truths predicted hard on strong evidence)",
        file=out,
    )
    print(f"  soft but suppressible {_pct(m['soft_suppressible'])}   (must stay near 0)", file=out)


def family_of(name: str) -> str:
    """'corpus/lhost-postfix-13.eml' -> 'lhost-postfix' (the measurement's grouping only)."""
    base = name.rsplit("/", 1)[-1]
    return re.sub(r"-\d+\.eml$", "", base)


def _catalog_alternatives() -> list[str]:
    from maildispatch.core.returned_mail import wording

    found: list[str] = []
    patterns = [p for _r, _n, p in wording.STRONG] + [p for _r, _n, p in wording.CONTEXT]
    patterns += [
        wording.SENDER_REFUSED,
        wording.HOST_BLOCKED,
        wording.FILTERED,
        wording.USER_CERTAIN,
        wording.USER_LOOSE,
        wording.FILTERED_MORE,
        wording.SENDER_LOGIN,
        wording.SPF_IN_REPLY,
        wording.TLS_IN_REPLY,
    ]
    for pattern in patterns:
        for alternative in getattr(pattern, "alternatives", ()):
            if alternative not in found:
                found.append(alternative)
    return found


def _searchable_text(raw: bytes) -> str:
    from maildispatch.core.returned_mail import mimewalk
    from maildispatch.core.returned_mail.reason import normalise

    try:
        walked = mimewalk.walk(mimewalk.parse_message(raw[: 2 * 1024 * 1024]), raw[: 2 * 1024 * 1024])
        text = "\n".join(walked.texts + walked.delivery_status)
    except Exception:
        text = raw.decode("latin-1")
    return normalise(text[:200_000])


def family_specific_phrases(folder: Path, truth_files: list[str]) -> dict[str, set[str]]:
    """family -> the catalog phrases specific to it: registered as its wording, or matching only
    its messages among all the folder's messages."""
    from maildispatch.core.returned_mail import wording

    texts: dict[str, str] = {}
    for f in truth_files:
        path = folder.parent / f
        if path.is_file():
            texts[f] = _searchable_text(path.read_bytes())
    families = sorted({family_of(f) for f in texts})
    specific: dict[str, set[str]] = {fam: set() for fam in families}
    for pattern, owners in wording.NARROW.items():
        for fam in owners:
            if fam in specific:
                specific[fam].add(pattern)
    for alternative in _catalog_alternatives():
        try:
            rx = re.compile(alternative, re.I)
        except re.error:
            continue
        matched = {family_of(f) for f, t in texts.items() if rx.search(t)}
        if len(matched) == 1:
            specific[matched.pop()].add(alternative)
    return specific


def leave_one_out(folder: Path, truth: list[dict[str, Any]], out: TextIO | None = None) -> dict[str, dict[str, Any]]:
    out = out or sys.stdout
    from maildispatch.core.returned_mail.reason import disabled_phrases

    files = sorted({e["file"] for e in truth})
    specific = family_specific_phrases(folder, files)
    by_family: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in truth:
        by_family[family_of(e["file"])].append(e)
    full = predictions_for(folder)
    pooled: dict[str, list[dict[str, Any]]] = {}
    rows: dict[str, dict[str, Any]] = {}
    print("\nleave-one-family-out: each family classified without the phrases specific to it", file=out)
    print(
        f"  {'family':26} {'n':>4} {'off':>4}  {'hard/soft all':>13} {'-> LOO':>7}  {'reason all':>10} {'-> LOO':>7}  {'soft->hard LOO':>14}",
        file=out,
    )
    for fam in sorted(by_family):
        entries = by_family[fam]
        keys = {e["file"] for e in entries}
        with disabled_phrases(specific.get(fam, set())):
            preds = predictions_for(folder, keys)
        pooled.update(preds)
        before = measures(entries, {k: full.get(k, []) for k in keys})
        after = measures(entries, preds)
        rows[fam] = {"n": len(entries), "disabled": len(specific.get(fam, ())), "before": before, "after": after}

        def rate(pair: tuple[int, int]) -> str:
            return f"{100 * pair[0] / pair[1]:6.1f}%" if pair[1] else "    n/a"

        print(
            f"  {fam:26} {len(entries):4} {len(specific.get(fam, ())):4}  {rate(before['hard_soft']):>13} {rate(after['hard_soft']):>7}"
            f"  {rate(before['reason']):>10} {rate(after['reason']):>7}  {rate(after['soft_predicted_hard']):>14}",
            file=out,
        )
    total_before, total_after = measures(truth, full), measures(truth, pooled)
    print(
        f"\n  all rules:            hard/soft {_pct(total_before['hard_soft'])}  reason {_pct(total_before['reason'])}",
        file=out,
    )
    print(
        f"  leave-one-family-out: hard/soft {_pct(total_after['hard_soft'])}  reason {_pct(total_after['reason'])}",
        file=out,
    )
    print_summary(truth, pooled, out)
    rows["_overall"] = {"before": total_before, "after": total_after}
    return rows
