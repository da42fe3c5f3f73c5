"""campaign.rate_error: how close concurrent dispatch invocations keep to a shared relay budget.

    python -m bench.campaign_rate [--quick] [--rate 50] [--seconds 120]

Several "containers" (threads, each with its own event loop, RelayTransport, boto3 client and
DynamoDbRelayBudget adapter, as separate Lambda containers have) run dispatch invocations of 10
one-recipient records each, as fast as they can, against the latency proxy in front of smtp-sink
(20 ms replies, 10 connections); each draws from one budget of RATE recipients per second kept in
RelayBudgetTable on moto server (created from template.yaml). Records the budget refuses wait
(visibility) and come back when it says. The figure is the relative error of the achieved rate
(recipients the relay accepted, over the measured stretch) against the budget; target within 5 %.

Demand is far above the budget (each container alone sends about 150/s), so the budget, and only
the budget, sets the pace. The ledger and the other AWS calls are in-memory fakes that wait 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import json
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maildispatch.adapters.dynamodb_budget import DynamoDbRelayBudget
from maildispatch.adapters.smtp_relay import RelaySettings, RelayTransport
from maildispatch.core.budget import BudgetConfig
from maildispatch.core.outcome import Delivered, Envelope, Outcome
from maildispatch.core.sqs_record import SqsRecord
from maildispatch.runtime.sqs_batch import run_records
from maildispatch.services.dispatch import DispatchService
from maildispatch.services.pacing import RelayPacer

from .servers import LatencyProxy, SmtpSink
from .throughput import relay_settings
from .workload import POLICY, Fakes, lambda_record, request_body

REPO = Path(__file__).resolve().parents[1]
RATE = 50.0  # recipients per second: the budget under test
TARGET = 0.05
BATCH = 10
CONTAINERS = 4
CONNECTIONS = 2  # per container (the template's SMTP_MAX_CONNECTIONS); 4 x 2 within the relay's 10
REPLY_DELAY = 0.020
CALL_LATENCY = 0.005


@dataclass
class Supply:
    """The send queue, roughly: fresh records on demand, and records that wait until a time."""

    run: str
    counter: itertools.count = field(default_factory=itertools.count)
    waiting: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def batch(self, size: int) -> list[dict[str, Any]]:
        now = time.time()
        records = []
        with self.lock:
            while self.waiting and self.waiting[0][0] <= now and len(records) < size:
                records.append(heapq.heappop(self.waiting)[2])
            while len(records) < size:
                index = next(self.counter)
                records.append(lambda_record(request_body(index, self.run), f"{self.run}-{index}"))
        return records

    def wait(self, record: dict[str, Any], seconds: int) -> None:
        with self.lock:
            heapq.heappush(self.waiting, (time.time() + seconds, id(record), record))


class TimedTransport:
    """The real transport, noting when the relay accepted each recipient."""

    def __init__(self, transport: RelayTransport, accepted: list[float]) -> None:
        self._transport = transport
        self._accepted = accepted

    async def deliver(self, envelope: Envelope, message: bytes) -> list[Outcome]:
        outcomes = await self._transport.deliver(envelope, message)
        now = time.time()
        self._accepted.extend(now for o in outcomes if isinstance(o, Delivered))
        return outcomes


def container(
    number: int,
    supply: Supply,
    relay: RelaySettings,
    budget_table: tuple[str, str],
    config: BudgetConfig,
    until: float,
    accepted: list[float],
    stats: dict[str, int],
) -> None:
    from tests.stack.moto import aws_client

    endpoint, table = budget_table
    budget = DynamoDbRelayBudget(aws_client("dynamodb", endpoint), table, "bench-relay", config)
    fakes = Fakes(latency=CALL_LATENCY)

    async def invocations() -> None:
        async with RelayTransport(relay) as transport:
            timed = TimedTransport(transport, accepted)
            n = 0
            while time.time() < until:
                pacer = RelayPacer(budget, config, chunk=BATCH, clock=time.time)
                service = DispatchService(
                    timed,
                    fakes.ledger,
                    fakes.content,
                    fakes.dead_letters,
                    POLICY,
                    suppressions=fakes.suppressions,
                    pacer=pacer,
                    invocation_id=f"c{number}-{n}",
                )
                raw = supply.batch(BATCH)
                records = [SqsRecord.from_lambda(r) for r in raw]
                results = await run_records(
                    records,
                    service.process,
                    concurrency=BATCH,
                    remaining_seconds=lambda: 60.0,
                    reserve_seconds=5.0,
                    on_error=lambda record, error: stats.__setitem__("errors", stats.get("errors", 0) + 1),
                )
                await pacer.settle()
                for record, result in zip(raw, results, strict=True):
                    if not result.done:
                        supply.wait(record, result.visible_after or 1)
                stats["invocations"] = stats.get("invocations", 0) + 1
                stats["budget_waits"] = stats.get("budget_waits", 0) + service.tally.counts.get("budget_waits", 0)
                stats["draws"] = stats.get("draws", 0) + pacer.tally.draws
                if all(not r.done for r in results):
                    await asyncio.sleep(0.05)  # a whole batch waiting: as an idle poller would, briefly
                n += 1

    asyncio.run(invocations())


def measure(work: Path, *, rate: float = RATE, seconds: float = 120.0, containers: int = CONTAINERS) -> dict[str, Any]:
    """Run the containers for `seconds` against one budget; the achieved rate and its error."""
    from tests.stack.moto import MotoServer, aws_client
    from tests.stack.provision import create_table_from_template

    config = BudgetConfig(rate_per_second=rate)
    accepted: list[float] = []
    stats: dict[str, int] = {}
    with SmtpSink() as sink, MotoServer() as moto:
        table = create_table_from_template(aws_client("dynamodb", moto.endpoint_url), "RelayBudgetTable")
        with LatencyProxy(sink.port, work, delay=REPLY_DELAY, max_connections=10) as proxy:
            relay = relay_settings(proxy.port, max_connections=CONNECTIONS)
            supply = Supply(run=f"rate-{int(time.time())}")
            started = time.time()
            until = started + seconds
            threads = [
                threading.Thread(
                    target=container,
                    args=(i, supply, relay, (moto.endpoint_url, table), config, until, accepted, stats),
                    daemon=True,
                )
                for i in range(containers)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=seconds + 60)
        refused = proxy.stats.refused if proxy.stats else None
    inside = sorted(t for t in accepted if started <= t < until)
    achieved = len(inside) / seconds
    per_second = [sum(1 for t in inside if started + s <= t < started + s + 1) for s in range(int(seconds))]
    return {
        "rate_error": round(abs(achieved - rate) / rate, 4),
        "rate_budget_msgs_per_s": rate,
        "rate_achieved_msgs_per_s": round(achieved, 2),
        "rate_seconds": seconds,
        "rate_containers": containers,
        "rate_burst": config.burst_size,
        "rate_per_second_median": statistics.median(per_second) if per_second else 0,
        "rate_per_second_max": max(per_second) if per_second else 0,
        "rate_invocations": stats.get("invocations", 0),
        "rate_budget_draws": stats.get("draws", 0),
        "rate_budget_waits": stats.get("budget_waits", 0),
        "rate_record_errors": stats.get("errors", 0),
        "rate_relay_refused_connections": refused,
        "rate_how": (
            f"{containers} containers (threads: own event loop, transport, boto3 client, budget adapter), "
            f"batches of {BATCH} one-recipient records, demand far above the budget, one RelayBudgetTable on moto "
            f"server; the latency proxy ({REPLY_DELAY * 1000:.0f} ms replies) in front of smtp-sink; counted: "
            "recipients the relay accepted from the start to the end of the run (the first burst included)"
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.campaign_rate", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 seconds instead of 120")
    parser.add_argument("--rate", type=float, default=RATE)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--containers", type=int, default=CONTAINERS)
    parser.add_argument("--work", type=Path, default=REPO / ".local" / "bench" / "campaign-rate")
    args = parser.parse_args(argv)
    seconds = args.seconds or (20.0 if args.quick else 120.0)
    result = measure(args.work, rate=args.rate, seconds=seconds, containers=args.containers)
    print(json.dumps({"campaign": result}, indent=2))
    met = result["rate_error"] <= TARGET
    print(
        f"campaign.rate_error {result['rate_error']:.4f} (target <= {TARGET}): {'met' if met else 'MISSED'}",
        file=sys.stderr,
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
