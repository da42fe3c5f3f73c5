"""python -m bench [--quick] [--publish]: run every benchmark and write latest.{json,md} and throughput.png.

By default the results go to .local/bench/ (untracked), so a run never changes tracked files.
With --publish (make bench PUBLISH=1) they go to bench/results/, the figures docs/benchmarks.md shows.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import campaign_fanout, campaign_rate, cold_start, cost, dkim, memory, memory_worst_case, report, template_facts
from .servers import ChunkingSink, LatencyProxy, SmtpSink, run_smtp_source
from .throughput import (
    LatencyCase,
    bare_aiosmtplib,
    dispatch_path,
    interleaved,
    latency_invocations,
    median_rate,
    naive_python,
    naive_smtplib,
)
from .workload import production_logging, sample_message

REPO = Path(__file__).resolve().parents[1]
LOCAL_RESULTS = REPO / ".local" / "bench"  # default: untracked
PUBLISHED_RESULTS = REPO / "bench" / "results"  # --publish: tracked, shown in docs/benchmarks.md
BATCHES = (10, 100, 1000)
REPLY_DELAY = 0.020  # seconds the relay stand-in adds to every reply
CALL_LATENCY = 0.005  # seconds each ledger and AWS call takes
RELAY_MAX_CONNECTIONS = 10  # what the relay stand-in allows, as Gmail does


@dataclass(frozen=True)
class Plan:
    quick: bool
    cpu_messages: int
    cpu_runs: int
    naive_messages: int
    invocations: dict[int, int]  # batch size -> invocations measured
    invocations_without_pipelining: dict[int, int]
    invocations_without_chunking: dict[int, int]
    concurrency_sweep: tuple[int, ...]
    sweep_invocations: int
    cold_runs: int
    campaign_rate_seconds: float = 120.0  # campaign.rate_error: the budget held for this long
    memory_records: int = 1000
    memory_attachment_bytes: int = 100 * 1024
    cpu_batch: int = 100
    cpu_connections: int = 20  # the yardsticks' connections (bare aiosmtplib, naive Python)
    cpu_concurrency: int = 20
    cpu_our_connections: int = 10  # ours: the latency plan's pairing, twice as many requests as connections
    latency_connections: int = 10
    latency_concurrency: int = 20  # tuned: twice the connections (see the sweep)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def full(cls) -> Plan:
        return cls(
            False,
            20_000,
            3,
            40,
            {10: 20, 100: 5, 1000: 2},
            {10: 10, 100: 3, 1000: 1},
            {10: 20, 100: 5},
            (1, 2, 5, 10, 20, 50, 100),
            2,
            10,
        )

    @classmethod
    def quick_plan(cls) -> Plan:
        return cls(
            True,
            1_500,
            2,
            12,
            {10: 5, 100: 2, 1000: 1},
            {10: 3, 100: 1},
            {10: 5, 100: 2},
            (5, 10, 20, 50),
            1,
            3,
            campaign_rate_seconds=20.0,
        )


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def cpu_bound(sink: SmtpSink, plan: Plan) -> dict:
    message = sample_message()
    log(f"CPU-bound: {plan.cpu_messages:,} messages, {plan.cpu_runs} runs of each, in turn")
    n = plan.cpu_messages
    kwargs = dict(batch=plan.cpu_batch, concurrency=plan.cpu_concurrency, max_connections=plan.cpu_our_connections)
    runs = iter(range(10**6))
    bare, ours, naive = interleaved(
        plan.cpu_runs,
        lambda: bare_aiosmtplib(sink.port, message, n, connections=plan.cpu_connections),
        lambda: dispatch_path(sink.port, n, run=f"cpu-{next(runs)}", transport_per="run", **kwargs).msgs_per_s,
        lambda: naive_python(sink.port, n, connections=plan.cpu_connections, run=f"naive-{next(runs)}"),
    )
    # For comparison: a fresh transport and event loop per batch (what every invocation had before issue 14).
    ours_fresh = [dispatch_path(sink.port, n, run=f"cpu-{next(runs)}", **kwargs).msgs_per_s]
    # With a connection per request in flight, as the yardsticks have: no delivery waits, so none
    # rides behind another's final dot (the headline's setting until 2026-12-05).
    ours_own_connection = [
        dispatch_path(
            sink.port,
            n,
            run=f"cpu-{next(runs)}",
            transport_per="run",
            **{**kwargs, "max_connections": plan.cpu_connections},
        ).msgs_per_s
    ]
    # As deployed: templates rendered in the function's budgeted worker processes (RENDER_WORKERS).
    workers = int(template_facts.function_environment("DispatchFunction").get("RENDER_WORKERS", 2))
    ours_workers = [
        dispatch_path(
            sink.port, n, run=f"cpu-{next(runs)}", transport_per="run", render_workers=workers, **kwargs
        ).msgs_per_s
    ]
    source = [run_smtp_source(sink.port, n).msgs_per_s for _ in range(plan.cpu_runs)]
    ours_rate, bare_rate, source_rate = statistics.median(ours), statistics.median(bare), statistics.median(source)
    naive_rate = statistics.median(naive)
    return {
        "messages": n,
        "message_bytes": len(message),
        "batch": plan.cpu_batch,
        "concurrency": plan.cpu_concurrency,
        "max_connections": plan.cpu_our_connections,
        "yardstick_connections": plan.cpu_connections,
        "transport": "one RelayTransport and event loop over every batch, as a warm container keeps them",
        "logging": "INFO, through powertools' JSON formatter, to /dev/null (as the functions log)",
        "runs": plan.cpu_runs,
        "statistic": "median",
        "msgs_per_s": round(ours_rate, 1),
        "seconds": round(n / ours_rate, 2),
        "bare_aiosmtplib_msgs_per_s": round(bare_rate, 1),
        "ratio_to_bare_aiosmtplib": round(ours_rate / bare_rate, 3),
        "naive_python_msgs_per_s": round(naive_rate, 1),
        "ratio_to_naive_python": round(ours_rate / naive_rate, 3),
        "naive_python": "per message: json.loads, Jinja2 render (subject, text, HTML; each template compiled once), "
        "EmailMessage set_content + add_alternative, aiosmtplib send_message; the same 20 connections, "
        "one message at a time on each, no pipelining",
        "smtp_source_msgs_per_s": round(source_rate, 1),
        "ratio_to_smtp_source": round(ours_rate / source_rate, 3),
        "transport_per_batch_msgs_per_s": round(statistics.median(ours_fresh), 1),
        "render_workers": {
            "what": f"the same with templates rendered in {workers} worker processes, as deployed (the headline "
            "renders in process): the workers use other cores, so this is not a CPU-per-message figure",
            "workers": workers,
            "msgs_per_s": round(statistics.median(ours_workers), 1),
            "ratio_to_bare_aiosmtplib": round(statistics.median(ours_workers) / bare_rate, 3),
        },
        "transport_per_batch_ratio_to_bare_aiosmtplib": round(statistics.median(ours_fresh) / bare_rate, 3),
        "one_connection_per_request": {
            "what": f"the same with {plan.cpu_connections} connections for the {plan.cpu_concurrency} requests in "
            "flight, as the yardsticks have: nothing rides behind a final dot, two writes per message",
            "max_connections": plan.cpu_connections,
            "msgs_per_s": round(statistics.median(ours_own_connection), 1),
            "ratio_to_bare_aiosmtplib": round(statistics.median(ours_own_connection) / bare_rate, 3),
        },
        "samples_msgs_per_s": {
            "ours": [round(x, 1) for x in ours],
            "bare_aiosmtplib": [round(x, 1) for x in bare],
            "naive_python": [round(x, 1) for x in naive],
            "ours_transport_per_batch": [round(x, 1) for x in ours_fresh],
            "ours_one_connection_per_request": [round(x, 1) for x in ours_own_connection],
            "smtp_source": [round(x, 1) for x in source],
        },
    }


def latency_bound(proxy: LatencyProxy, plan: Plan) -> dict:
    message = sample_message()
    log(f"latency-bound: naive sender, {plan.naive_messages} messages")
    naive_before = naive_smtplib(proxy.port, message, plan.naive_messages // 2)
    rates, seconds, without = {}, {}, {}
    for batch in BATCHES:
        log(
            f"latency-bound: batch {batch}, {plan.invocations[batch]} invocations "
            f"(+{plan.invocations_without_pipelining.get(batch, 0)} without pipelining)"
        )
        case = LatencyCase(batch, plan.latency_concurrency, plan.latency_connections)
        # A warm container: one loop and transport for successive invocations; the first (which opens
        # the connections, as a cold start's would) is left out.
        runs = latency_invocations(
            proxy.port,
            case,
            plan.invocations[batch] + 1,
            latency=CALL_LATENCY,
            run=f"lat-{batch}",
            keep_connections=True,
        )[1:]
        rates[str(batch)] = median_rate(runs)
        seconds[str(batch)] = statistics.median(r.seconds for r in runs)
        if plan.invocations_without_pipelining.get(batch):
            plain = LatencyCase(batch, plan.latency_concurrency, plan.latency_connections, pipelining=False)
            without[str(batch)] = median_rate(
                latency_invocations(
                    proxy.port,
                    plain,
                    plan.invocations_without_pipelining[batch],
                    latency=CALL_LATENCY,
                    run=f"plain-{batch}",
                )
            )
    without_chunking = {}
    for batch, count in plan.invocations_without_chunking.items():
        log(f"latency-bound: batch {batch}, {count} warm invocations with DATA instead of BDAT")
        case = LatencyCase(batch, plan.latency_concurrency, plan.latency_connections, chunking=False)
        runs = latency_invocations(
            proxy.port, case, count + 1, latency=CALL_LATENCY, run=f"data-{batch}", keep_connections=True
        )[1:]
        without_chunking[str(batch)] = median_rate(runs)
    # As the template ships it: DISPATCH_CONCURRENCY requests over SMTP_MAX_CONNECTIONS connections,
    # so most wait for a connection (with DATA they ride behind the final dot of the one before).
    environment = template_facts.function_environment("DispatchFunction")
    shipped = (int(environment["DISPATCH_CONCURRENCY"]), int(environment["SMTP_MAX_CONNECTIONS"]))
    as_shipped: dict[str, dict[str, float]] = {"bdat": {}, "data": {}}
    for batch, count in plan.invocations_without_chunking.items():
        for form in ("bdat", "data"):
            log(
                f"latency-bound: batch {batch}, {count} warm invocations as shipped ({form}, {shipped[0]} over {shipped[1]})"
            )
            case = LatencyCase(batch, shipped[0], shipped[1], chunking=form == "bdat")
            runs = latency_invocations(
                proxy.port, case, count + 1, latency=CALL_LATENCY, run=f"shipped-{form}-{batch}", keep_connections=True
            )[1:]
            as_shipped[form][str(batch)] = round(median_rate(runs), 1)
    fresh = {}
    for batch in (10, 100):
        log(f"latency-bound: batch {batch}, fresh connections every invocation (a cold container's)")
        case = LatencyCase(batch, plan.latency_concurrency, plan.latency_connections)
        runs = latency_invocations(
            proxy.port, case, plan.invocations[batch], latency=CALL_LATENCY, run=f"fresh-{batch}"
        )
        fresh[str(batch)] = round(median_rate(runs), 1)
    sweep = {}
    for concurrency in plan.concurrency_sweep:
        log(f"latency-bound: batch 100 at concurrency {concurrency}")
        case = LatencyCase(100, concurrency, plan.latency_connections)
        sweep[str(concurrency)] = round(
            median_rate(
                latency_invocations(
                    proxy.port, case, plan.sweep_invocations, latency=CALL_LATENCY, run=f"sweep-{concurrency}"
                )
            ),
            1,
        )
    naive_after = naive_smtplib(proxy.port, message, plan.naive_messages - plan.naive_messages // 2)
    naive = (naive_before + naive_after) / 2  # before and after, to span the same stretch of the run
    return {
        "reply_delay_ms": REPLY_DELAY * 1000,
        "relay_max_connections": RELAY_MAX_CONNECTIONS,
        "fake_call_latency_ms": CALL_LATENCY * 1000,
        "max_connections": plan.latency_connections,
        "concurrency": plan.latency_concurrency,
        "template_concurrency": shipped[0],
        "pipelining": "RFC 2920, offered by the relay stand-in",
        "chunking": "RFC 3030 CHUNKING, offered by the relay stand-in (bench/chunking_sink.py; as Postfix since 3.4 "
        "and Gmail offer it): a message goes as BDAT <n> LAST in the same write as its envelope",
        "invocations": {str(b): plan.invocations[b] for b in BATCHES},
        "statistic": "median over invocations",
        "msgs_per_s": {b: round(v, 1) for b, v in rates.items()},
        "ratio_to_naive": {b: round(v / naive, 1) for b, v in rates.items()},
        "invocation_seconds": {b: round(v, 3) for b, v in seconds.items()},
        "naive_msgs_per_s": round(naive, 2),
        "naive_messages": plan.naive_messages,
        "without_chunking": {
            "what": "the same warm invocations with DATA instead of BDAT (RelaySettings.chunking False)",
            "msgs_per_s": {b: round(v, 1) for b, v in without_chunking.items()},
            "ratio_to_naive": {b: round(v / naive, 1) for b, v in without_chunking.items()},
        },
        "as_shipped": {
            "what": "the template's DISPATCH_CONCURRENCY requests over its SMTP_MAX_CONNECTIONS connections, warm",
            "concurrency": shipped[0],
            "max_connections": shipped[1],
            "msgs_per_s": as_shipped,
        },
        "without_pipelining": {
            "msgs_per_s": {b: round(v, 1) for b, v in without.items()},
            "ratio_to_naive": {b: round(v / naive, 1) for b, v in without.items()},
        },
        "by_concurrency": {"batch": 100, "msgs_per_s": sweep},
        "connections": "kept across invocations (a warm container: one event loop and transport), first invocation left out",
        "fresh_connections_per_invocation": {
            "what": "a new event loop and transport per invocation, as before issue 14 (and as a cold start's first)",
            "msgs_per_s": fresh,
        },
    }


def cost_section(latency: dict, memory_size_mb: int) -> dict:
    batch_default = int(template_facts.parameter_default("BatchSize") or 10)
    by_batch = {
        b: cost.cost_per_million(latency["msgs_per_s"][b], int(b), memory_size_mb).as_dict()
        for b in latency["msgs_per_s"]
    }
    headline = by_batch[str(batch_default)] if str(batch_default) in by_batch else by_batch["100"]
    ses = cost.ses_usd_per_million()
    return {
        "usd_per_million": round(headline["usd"], 4),
        "batch_size": headline["batch_size"],
        "batch_size_is": "the template's default BatchSize",
        "memory_mb": memory_size_mb,
        "architecture": template_facts.architecture("DispatchFunction"),
        "from": "latency_bound.msgs_per_s at that batch size (20 ms relay replies, 5 ms AWS calls)",
        "breakdown": {k: round(v, 4) if isinstance(v, float) else v for k, v in headline.items()},
        "by_batch_size": {
            b: {k: round(v, 4) if isinstance(v, float) else v for k, v in c.items()} for b, c in by_batch.items()
        },
        "ses_usd_per_million": ses,
        "ratio_to_ses": round(headline["usd"] / ses, 4),
        "not_included": [
            "producers' SendMessage calls",
            "empty receives while the queue is idle",
            "the relay's own price (SES SMTP: the SES price above)",
            "CloudWatch logs and metrics",
            "free tiers",
        ],
        "prices": cost.prices_as_dict(),
    }


def results_dir(explicit: Path | None, *, publish: bool) -> Path:
    """Where the results go: an explicit --results, else bench/results/ with --publish, else .local/bench/."""
    if explicit is not None:
        return explicit
    return PUBLISHED_RESULTS if publish else LOCAL_RESULTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="fewer messages and runs: under 2 minutes, every key still there"
    )
    parser.add_argument(
        "--publish", action="store_true", help=f"write the results to {PUBLISHED_RESULTS.relative_to(REPO)}/ (tracked)"
    )
    parser.add_argument(
        "--results", type=Path, help=f"where the results go (default: {LOCAL_RESULTS.relative_to(REPO)}/, untracked)"
    )
    parser.add_argument("--work", type=Path, default=REPO / ".local" / "bench")
    args = parser.parse_args(argv)
    args.results = results_dir(args.results, publish=args.publish)
    plan = Plan.quick_plan() if args.quick else Plan.full()
    args.results.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict = {
        "schema_version": report.SCHEMA_VERSION,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench" + (" --quick" if args.quick else ""),
        "quick": args.quick,
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
    }
    production_logging()
    memory_size = template_facts.memory_size("DispatchFunction")
    with SmtpSink() as sink:
        results["cpu_bound"] = cpu_bound(sink, plan)
        with (
            ChunkingSink(args.work) as relay,
            LatencyProxy(relay.port, args.work, delay=REPLY_DELAY, max_connections=RELAY_MAX_CONNECTIONS) as proxy,
        ):
            results["latency_bound"] = latency_bound(proxy, plan)
        results["latency_bound"]["relay_refused_connections"] = proxy.stats.refused if proxy.stats else None
        results["latency_bound"]["relay_peak_connections"] = proxy.stats.peak_connections if proxy.stats else None
        log(
            f"memory: one invocation of {plan.memory_records} requests with {plan.memory_attachment_bytes // 1024} KB attachments"
        )
        concurrency = int(template_facts.function_environment("DispatchFunction").get("DISPATCH_CONCURRENCY", 32))
        connections = int(template_facts.function_environment("DispatchFunction").get("SMTP_MAX_CONNECTIONS", 5))
        results["memory"] = {
            **memory.measure(
                args.work,
                sink.port,
                records=plan.memory_records,
                attachment_bytes=plan.memory_attachment_bytes,
                concurrency=concurrency,
                max_connections=connections,
            ),
            "memory_size_mb": memory_size,
            "settings": "the template's DISPATCH_CONCURRENCY and SMTP_MAX_CONNECTIONS",
            "note": "peak_rss_mb is for an event of 132 MiB, which Lambda (6 MB payload limit) never delivers: "
            "a reference, not a target; worst_case_peak_rss_mb is the batch that can arrive",
        }
        log("memory: the worst case that can arrive (BatchSize records, each a MAX_MESSAGE_BYTES message from S3)")
        results["memory"].update(memory_worst_case.measure(args.work, sink.port))
    log(f"campaign: a shared relay budget of {campaign_rate.RATE:g} msg/s for {plan.campaign_rate_seconds:g} s")
    results.setdefault("campaign", {}).update(
        campaign_rate.measure(args.work / "campaign-rate", seconds=plan.campaign_rate_seconds)
    )
    campaign_rows = 20_000 if plan.quick else 100_000
    log(f"campaign fan-out: 10,000 and {campaign_rows:,} rows through stand-ins that cost what the AWS calls cost")
    results.setdefault("campaign", {}).update(campaign_fanout.measure(args.work, rows=campaign_rows))
    log(f"cold start: sam build, then {plan.cold_runs} fresh interpreters per statement")
    results["cold_start"] = cold_start.measure(args.work, plan.cold_runs, runs_without_pyc=1 if plan.quick else None)
    results["cost"] = cost_section(results["latency_bound"], memory_size)
    log("DKIM: signing a 2 KB message with RSA-2048, ours and dkimpy's")
    results["dkim"] = dkim.measure(quick=args.quick)
    results["targets"] = report.check_targets(results)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds"] = round(time.monotonic() - started, 1)
    report.write_json(results, args.results / "latest.json")
    table = report.markdown(results)
    (args.results / "latest.md").write_text(table, encoding="utf-8")
    try:
        report.plot(results, args.results / "throughput.png")
    except ModuleNotFoundError as missing:  # matplotlib is optional: the figures are in the JSON and the table
        log(f"no throughput.png: {missing}")
    print(table)
    log(f"done in {results['seconds']} s: {args.results / 'latest.json'}, latest.md, throughput.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
