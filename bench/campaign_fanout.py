"""Campaign fan-out: recipients per second into the send queue, and peak memory at 10,000 and 100,000 rows.

    python -m bench.campaign_fanout [--rows 100000]            # both sizes, as `make bench` runs them
    python -m bench.campaign_fanout --child LIST.csv           # one run, its figures as JSON

The real fan-out service (services/fanout.py: row splitting, CSV parsing, validation, request building,
batching, checkpoints) reads a CSV list through stand-ins that cost what the AWS calls cost and keep
nothing per recipient, so the peak RSS is the fan-out's own:

- SendMessageBatch: SEND_BATCH_LATENCY per call (10 entries; a same-region call takes 10-20 ms);
- DynamoDB (first-seen markers, state check, checkpoint) and the suppression lookup: CALL_LATENCY per call,
  markers and lookups of a group issued together as the adapters do;
- the S3 list: READ_LATENCY per ranged GET of 1 MiB, from a local file.

Each size runs in a child process of its own (ru_maxrss is per process, and never goes down);
`peak_rss_mb_100k / peak_rss_mb_10k` near 1 shows that memory does not grow with the list.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SEND_BATCH_LATENCY = 0.015
CALL_LATENCY = 0.005
READ_LATENCY = 0.020
GROUP_BATCHES = 10  # the template's default (FANOUT_GROUP_BATCHES)


def write_list(path: Path, rows: int) -> int:
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name,code,city\r\n")
        for i in range(rows):
            out.write(f'reader{i:07d}@example.net,"Reader {i}",C{i:07d},Hanoi\r\n')
    return path.stat().st_size


class _FileList:
    def __init__(self, path: Path) -> None:
        self._path = path
        self.reads = 0

    async def read(self, bucket: str, key: str, *, start: int, length: int) -> bytes:
        self.reads += 1
        await asyncio.sleep(READ_LATENCY)
        with self._path.open("rb") as f:
            f.seek(start)
            return f.read(length)


class _Queue:
    """SendMessageBatch's cost and limits; counts what it took and keeps nothing."""

    def __init__(self) -> None:
        self.calls = 0
        self.entries = 0

    async def send(self, entries: Sequence[tuple[str, str]]) -> list[str]:
        assert len(entries) <= 10 and sum(len(b.encode()) for _, b in entries) <= 1024 * 1024
        self.calls += 1
        self.entries += len(entries)
        await asyncio.sleep(SEND_BATCH_LATENCY)
        return []


class _Store:
    """The campaign item only; every marker answers "first" after a call's latency (the list has no repeats)."""

    def __init__(self, record: Any) -> None:
        self.record = record
        self.checkpoints = 0

    async def get(self, campaign_id: str) -> Any:
        await asyncio.sleep(CALL_LATENCY)
        return self.record

    async def transition(self, campaign_id: str, action: str, *, now: float, reason: str | None = None) -> Any:
        from dataclasses import replace

        from maildispatch.core.campaign import next_state

        await asyncio.sleep(CALL_LATENCY)
        self.record = replace(self.record, state=next_state(campaign_id, self.record.state, action), started_at=now)
        return self.record

    async def save_checkpoint(self, campaign_id: str, checkpoint: Any, *, version: int) -> bool:
        from dataclasses import replace

        await asyncio.sleep(CALL_LATENCY)
        self.record = replace(self.record, checkpoint=checkpoint, version=version + 1)
        self.checkpoints += 1
        return True

    async def first_seen(self, campaign_id: str, rows: Sequence[tuple[str, int]]) -> list[bool]:
        await asyncio.sleep(CALL_LATENCY)  # one PutItem each, issued together
        return [True] * len(rows)

    async def report_bad_rows(self, campaign_id: str, rows: Sequence[Any]) -> None:
        await asyncio.sleep(CALL_LATENCY)


class _Suppressions:
    async def find(self, addresses: Sequence[str]) -> dict[str, Any]:
        await asyncio.sleep(CALL_LATENCY)
        return {}


class _Nothing:
    async def run_fanout(self, campaign_id: str, *, delay_seconds: int = 0, progress: int | None = None) -> None:
        return None

    async def by_state(self, campaign_id: str) -> dict[str, int]:
        return {}


def child(list_path: Path) -> dict[str, Any]:
    from maildispatch.core.campaign import CampaignRecord, CampaignState, parse_campaign
    from maildispatch.services.fanout import FanoutPolicy, FanoutService

    spec = parse_campaign(
        {
            "id": "bench",
            "list": {"bucket": "bench", "key": "list.csv"},
            "from": "news@shop.example.com",
            "template": {"subject": "Hello {{ name }}", "text": "Your code {{ code }} for {{ city }}."},
            "required_variables": ["code"],
        }
    )
    store = _Store(CampaignRecord(spec, CampaignState.SCHEDULED))
    queue, lists = _Queue(), _FileList(list_path)
    service = FanoutService(
        store,  # type: ignore[arg-type]
        lists,
        queue,
        _Nothing(),
        _Nothing(),
        suppressions=_Suppressions(),  # type: ignore[arg-type]
        policy=FanoutPolicy(group_batches=GROUP_BATCHES),
    )
    started = time.perf_counter()
    asyncio.run(service.run("bench", time_left=lambda: 900.0))
    seconds = time.perf_counter() - started
    cp = store.record.checkpoint
    assert cp.done and cp.enqueued == queue.entries, (cp, queue.entries)
    return {
        "rows": cp.row,
        "enqueued": cp.enqueued,
        "seconds": round(seconds, 2),
        "recipients_per_s": round(cp.enqueued / seconds, 1),
        "send_message_batch_calls": queue.calls,
        "checkpoints": store.checkpoints,
        "ranged_reads": lists.reads,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_child(list_path: Path) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.campaign_fanout", "--child", str(list_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def measure(work: Path, *, rows: int = 100_000, small_rows: int = 10_000) -> dict[str, Any]:
    """campaign.fanout_recipients_per_s (the large list), campaign.peak_rss_mb_10k and _100k."""
    work.mkdir(parents=True, exist_ok=True)
    small, large = work / f"campaign-{small_rows}.csv", work / f"campaign-{rows}.csv"
    sizes = {"small_list_bytes": write_list(small, small_rows), "large_list_bytes": write_list(large, rows)}
    small_run, large_run = run_child(small), run_child(large)
    return {
        "fanout_recipients_per_s": large_run["recipients_per_s"],
        "peak_rss_mb_10k": small_run["peak_rss_mb"],
        "peak_rss_mb_100k": large_run["peak_rss_mb"],
        "rss_ratio_100k_to_10k": round(large_run["peak_rss_mb"] / small_run["peak_rss_mb"], 3),
        "large_rows": rows,  # 100,000; a --quick run measures "100k" on 20,000 rows
        "runs": {str(small_rows): small_run, str(rows): large_run},
        **sizes,
        "stand_ins": {
            "send_message_batch_s": SEND_BATCH_LATENCY,
            "dynamodb_call_s": CALL_LATENCY,
            "s3_ranged_get_s": READ_LATENCY,
            "group_batches": GROUP_BATCHES,
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.campaign_fanout", description=__doc__.split("\n")[0])
    parser.add_argument("--child", type=Path, help="run one fan-out over this list and print its figures")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=REPO / ".local" / "bench")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return
    print(json.dumps(measure(args.work, rows=args.rows), indent=2))


if __name__ == "__main__":
    main()
