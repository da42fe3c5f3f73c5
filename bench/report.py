"""The results: targets checked, latest.json, the Markdown table and the throughput plot."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
WORST_CASE_MEMORY_SHARE = 0.8  # the batch that can arrive peaks at most at 80 % of MemorySize

# Keys every latest.json holds (a dotted path into the document).
REQUIRED_KEYS = (
    "cpu_bound.ratio_to_bare_aiosmtplib",
    "cpu_bound.ratio_to_naive_python",
    "cpu_bound.msgs_per_s",
    "latency_bound.msgs_per_s.10",
    "latency_bound.msgs_per_s.100",
    "latency_bound.msgs_per_s.1000",
    "latency_bound.ratio_to_naive.10",
    "latency_bound.ratio_to_naive.100",
    "latency_bound.ratio_to_naive.1000",
    "cold_start.dispatch.ratio_to_boto3",
    "cold_start.dispatch.ms",
    "cold_start.bounce.ratio_to_boto3",
    "cold_start.bounce.ms",
    "memory.peak_rss_mb",
    "memory.worst_case_peak_rss_mb",
    "memory.memory_size_mb",
    "campaign.fanout_recipients_per_s",
    "campaign.peak_rss_mb_10k",
    "campaign.peak_rss_mb_100k",
    "cost.usd_per_million",
    "campaign.rate_error",
    "dkim.sign_ms",
    "dkim.ratio_to_dkimpy",
    "date",
    "machine.cores",
    "machine.python",
)


@dataclass(frozen=True)
class Target:
    key: str  # the measured figure, a dotted path into the results
    what: str
    comparison: str  # ">=" or "<="
    threshold: float

    def check(self, results: dict[str, Any]) -> dict[str, Any]:
        measured = float(lookup(results, self.key))
        met = measured >= self.threshold if self.comparison == ">=" else measured <= self.threshold
        return {
            "what": self.what,
            "target": f"{self.comparison} {self.threshold:g}",
            "threshold": self.threshold,
            "comparison": self.comparison,
            "measured": measured,
            "met": met,
        }


def targets(memory_size_mb: float) -> list[Target]:
    return [
        Target("cpu_bound.ratio_to_bare_aiosmtplib", "CPU-bound throughput, ratio to bare aiosmtplib", ">=", 0.7),
        Target(
            "cpu_bound.ratio_to_naive_python",
            "CPU-bound throughput, ratio to the naive pipeline (Jinja2 + EmailMessage + aiosmtplib)",
            ">=",
            3,
        ),
        Target(
            "latency_bound.ratio_to_naive.100",
            "latency-bound throughput at batch 100, ratio to the naive sender",
            ">=",
            40,
        ),
        Target(
            "latency_bound.msgs_per_s.100", "latency-bound messages per second per invocation at batch 100", ">=", 100
        ),
        Target(
            "latency_bound.msgs_per_s.10",
            "latency-bound messages per second per warm invocation at batch 10 (the default)",
            ">=",
            150,
        ),
        Target(
            "cold_start.dispatch.ratio_to_boto3",
            "dispatch cold start of what sam build ships, ratio to boto3 + SQS client",
            "<=",
            0.8,
        ),
        Target(
            "cold_start.bounce.ratio_to_boto3",
            "bounce cold start of what sam build ships, ratio to boto3 + SQS client",
            "<=",
            0.8,
        ),
        Target("dkim.sign_ms", "DKIM signature of a 2 KB message, RSA-2048, ms (median)", "<=", 1.0),
        Target(
            "campaign.rate_error",
            "relative error of the achieved send rate against a shared relay budget of 50 msg/s",
            "<=",
            0.05,
        ),
        Target(
            "memory.worst_case_peak_rss_mb",
            f"peak RSS of the worst batch that can arrive, MiB ({WORST_CASE_MEMORY_SHARE:.0%} of MemorySize)",
            "<=",
            round(memory_size_mb * WORST_CASE_MEMORY_SHARE, 1),
        ),
    ]


def lookup(document: dict[str, Any], key: str) -> Any:
    value: Any = document
    for part in key.split("."):
        value = value[part]
    return value


def missing_keys(document: dict[str, Any]) -> list[str]:
    missing = []
    for key in REQUIRED_KEYS:
        try:
            lookup(document, key)
        except (KeyError, TypeError):
            missing.append(key)
    return missing


def check_targets(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t.key: t.check(results) for t in targets(float(lookup(results, "memory.memory_size_mb")))}


def write_json(results: dict[str, Any], path: Path) -> None:
    missing = missing_keys(results)
    if missing:
        raise ValueError(f"the results lack {', '.join(missing)}")
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _met(results: dict[str, Any], key: str) -> str:
    target = results["targets"][key]
    return f"{target['target']}: {'met' if target['met'] else '**missed**'}"


def markdown(results: dict[str, Any]) -> str:
    r = results
    cpu, lat, cold, mem, cost = r["cpu_bound"], r["latency_bound"], r["cold_start"], r["memory"], r["cost"]
    naive = lat["naive_msgs_per_s"]
    rows = [
        (
            f"CPU-bound: dispatch path to smtp-sink, batches of 100, {cpu['concurrency']} requests over"
            f" {cpu['max_connections']} connections (yardstick: {cpu.get('yardstick_connections', 20)})",
            f"{_n(cpu['msgs_per_s'])} msg/s",
            f"bare aiosmtplib {_n(cpu['bare_aiosmtplib_msgs_per_s'])} msg/s",
            f"{cpu['ratio_to_bare_aiosmtplib']:.2f}",
            _met(r, "cpu_bound.ratio_to_bare_aiosmtplib"),
        ),
        (
            "CPU-bound: the same, against the naive Python pipeline",
            f"{_n(cpu['msgs_per_s'])} msg/s",
            f"Jinja2 + EmailMessage + aiosmtplib {_n(cpu['naive_python_msgs_per_s'])} msg/s",
            f"{cpu['ratio_to_naive_python']:.2f}",
            _met(r, "cpu_bound.ratio_to_naive_python"),
        ),
        (
            "CPU-bound: the machine's ceiling",
            f"{_n(cpu['msgs_per_s'])} msg/s",
            f"smtp-source -s 20 -d {_n(cpu['smtp_source_msgs_per_s'])} msg/s",
            f"{cpu['ratio_to_smtp_source']:.2f}",
            "–",
        ),
    ]
    for batch in ("10", "100", "1000"):
        target = "–"
        if batch == "100":
            target = (
                f"{_met(r, 'latency_bound.ratio_to_naive.100')}; ≥ 100 msg/s: "
                f"{'met' if r['targets']['latency_bound.msgs_per_s.100']['met'] else '**missed**'}"
            )
        elif batch == "10":
            target = f"msg/s {_met(r, 'latency_bound.msgs_per_s.10')}"
        rows.append(
            (
                f"Latency-bound (20 ms replies, 5 ms AWS calls, CHUNKING): batch {batch}, per warm invocation",
                f"{_n(lat['msgs_per_s'][batch], 1)} msg/s",
                f"naive smtplib {_n(naive, 1)} msg/s",
                f"{lat['ratio_to_naive'][batch]:.1f}×",
                target,
            )
        )
    for name in ("dispatch", "bounce"):
        rows.append(
            (
                f"Cold start: {name}, as `sam build` ships it (import + init, .pyc; median of {cold['runs']})",
                f"{_n(cold[name]['ms'])} ms",
                f"boto3 + SQS client {_n(cold['boto3_sqs_ms'])} ms",
                f"{cold[name]['ratio_to_boto3']:.2f}",
                _met(r, f"cold_start.{name}.ratio_to_boto3"),
            )
        )
        rows.append(
            (
                f"Cold start: {name}, the same bundle without .pyc (median of {cold.get('runs_without_pyc', cold['runs'])})",
                f"{_n(cold[name]['ms_without_pyc'])} ms",
                f"boto3 + SQS client {_n(cold['boto3_sqs_ms'])} ms",
                f"{cold[name]['ratio_to_boto3_without_pyc']:.2f}",
                "–",
            )
        )
    rows.append(
        (
            f"Memory: one invocation, {mem['records']:,} requests × {mem['attachment_kb']} KB attachment",
            f"{_n(mem['peak_rss_mb'])} MiB",
            f"MemorySize {mem['memory_size_mb']} MiB",
            f"{mem['peak_rss_mb'] / mem['memory_size_mb']:.2f}",
            "– (an event Lambda cannot deliver)",
        )
    )
    worst = mem["worst_case"]
    rows.append(
        (
            f"Memory, worst case that can arrive: {worst['records']} records × {worst['max_message_bytes'] / 2**20:.0f} MiB "
            f"message from S3 attachments, concurrency {worst['concurrency']}",
            f"{_n(mem['worst_case_peak_rss_mb'])} MiB",
            f"MemorySize {mem['memory_size_mb']} MiB",
            f"{mem['worst_case_peak_rss_mb'] / mem['memory_size_mb']:.2f}",
            _met(r, "memory.worst_case_peak_rss_mb"),
        )
    )
    if "rate_error" in r.get("campaign", {}):
        campaign = r["campaign"]
        rows.append(
            (
                f"Campaign: {campaign['rate_containers']} containers sharing a relay budget for {campaign['rate_seconds']:g} s",
                f"{_n(campaign['rate_achieved_msgs_per_s'], 2)} msg/s",
                f"budget {_n(campaign['rate_budget_msgs_per_s'])} msg/s",
                f"error {campaign['rate_error']:.1%}",
                _met(r, "campaign.rate_error"),
            )
        )
    rows.append(
        (
            f"Cost per million emails (batch {cost['batch_size']}: Lambda arm64 {cost['memory_mb']} MB + SQS)",
            f"${cost['usd_per_million']:.2f}",
            f"Amazon SES ${cost['ses_usd_per_million']:.2f}",
            f"{cost['ratio_to_ses']:.3f}",
            "– (reference)",
        )
    )
    if "dkim" in r:
        dkim = r["dkim"]
        rows.append(
            (
                f"DKIM: sign one {dkim['message_bytes']:,}-byte message, RSA-2048, relaxed/relaxed (median)",
                f"{dkim['sign_ms']:.3f} ms",
                f"dkimpy {dkim['dkimpy_sign_ms']:.1f} ms",
                f"{dkim['ratio_to_dkimpy']:.1f}× faster",
                _met(r, "dkim.sign_ms"),
            )
        )
    table = ["| benchmark | measured | yardstick, same run | ratio | target |", "|---|---|---|---|---|"]
    table += [f"| {' | '.join(row)} |" for row in rows]
    m = r["machine"]
    lines = [
        "# maildispatch benchmarks",
        "",
        f"`{r['command']}` on {r['date']}: {m['cores']} cores, Python {m['python']}, load average "
        f"{m['load_average_at_start'][0]:.1f} at the start{' (quick run: fewer messages and runs)' if r['quick'] else ''}.",
        "Every figure is measured in the same run as its yardstick; the ratio is what to compare between runs.",
        "",
        *table,
        "",
        "Details:",
        f"- CPU-bound: {cpu['messages']:,} messages of {cpu['message_bytes']:,} bytes (rendered from a template with variables), "
        f"median of {cpu['runs']} runs taken in turn with the yardstick; batches of {cpu['batch']} (one Lambda invocation each) "
        f"on one transport and event loop, as a warm container keeps them, DISPATCH concurrency {cpu['concurrency']}. "
        f"With a fresh transport per batch: {_n(cpu['transport_per_batch_msgs_per_s'])} msg/s "
        f"({cpu['transport_per_batch_ratio_to_bare_aiosmtplib']:.2f}). "
        + (
            f"With a connection per request in flight, as the yardsticks have ({cpu['one_connection_per_request']['max_connections']}; "
            f"nothing rides behind a final dot): {_n(cpu['one_connection_per_request']['msgs_per_s'])} msg/s "
            f"({cpu['one_connection_per_request']['ratio_to_bare_aiosmtplib']:.2f}). "
            if "one_connection_per_request" in cpu
            else ""
        )
        + f"Rendering in {cpu['render_workers']['workers']} worker processes, as deployed (they run on other cores): "
        f"{_n(cpu['render_workers']['msgs_per_s'])} msg/s ({cpu['render_workers']['ratio_to_bare_aiosmtplib']:.2f}).",
        f"- Latency-bound: transport max_connections {lat['max_connections']} (relay allows {lat['relay_max_connections']}), "
        f"DISPATCH concurrency {lat['concurrency']}; invocation seconds (median) "
        + ", ".join(f"batch {b}: {lat['invocation_seconds'][b]:.3f} s" for b in ("10", "100", "1000"))
        + ". With DATA instead of BDAT (the relay offers CHUNKING; the figures above use it): "
        + ", ".join(f"batch {b}: {_n(v, 1)} msg/s" for b, v in lat["without_chunking"]["msgs_per_s"].items())
        + ". As the template ships it ("
        + f"{lat['as_shipped']['concurrency']} requests over {lat['as_shipped']['max_connections']} connections): "
        + ", ".join(
            f"batch {b}: {_n(v, 1)} msg/s with BDAT, {_n(lat['as_shipped']['msgs_per_s']['data'][b], 1)} with DATA"
            for b, v in lat["as_shipped"]["msgs_per_s"]["bdat"].items()
        )
        + ". Without pipelining: "
        + ", ".join(f"batch {b}: {_n(v, 1)} msg/s" for b, v in lat["without_pipelining"]["msgs_per_s"].items())
        + ". By DISPATCH concurrency at batch 100: "
        + ", ".join(f"{c}: {_n(v, 1)}" for c, v in lat["by_concurrency"]["msgs_per_s"].items())
        + " msg/s. Figures are for a warm container (connections kept across invocations); with fresh "
        + "connections every invocation (a cold container's first): "
        + ", ".join(
            f"batch {b}: {_n(v, 1)} msg/s" for b, v in lat["fresh_connections_per_invocation"]["msgs_per_s"].items()
        )
        + f". Connections the relay refused: {lat['relay_refused_connections']}.",
        f"- Bundle (sam build): function {cold['dispatch']['bundle']['function_bytes']:,} B + layer "
        f"{cold['dispatch']['bundle']['layer_bytes'] / 2**20:.1f} MiB ({cold['dispatch']['bundle']['layer_zip_bytes'] / 2**20:.1f} MiB zipped); "
        f"bounce the same layer. Built with: {cold['bundle_built_with']}; measured with {cold['interpreter']}.",
        f"- Memory: baseline {mem['baseline_rss_mb']} MiB after imports; the event is {mem['event_mb']} MiB of JSON, which the "
        f"runtime's json.loads turns into a peak of {mem['peak_while_parsing_event_mb']} MiB (bytes, decoded text and objects at once); "
        f"{mem['after_event_parsed_rss_mb']} MiB once parsed; the invocation itself peaks at {mem['peak_during_invocation_mb']} MiB. "
        f"Lambda hands a function at most 6 MB of event, so a batch like this one cannot arrive in one invocation.",
        f"- Memory, worst case: the real dispatch handler, {worst['records']} records (the template's BatchSize), each "
        f"{worst['attachments_per_message']} S3 attachments of {worst['attachment_bytes']:,} bytes (moto), "
        f"DISPATCH_CONCURRENCY {worst['concurrency']}, SMTP_MAX_CONNECTIONS {worst['max_connections']}, relay smtp-sink; "
        f"baseline {worst['baseline_rss_mb']} MiB; the {worst['render_workers']} render workers peak at "
        f"{worst['render_workers_peak_rss_mb']} MiB together (with them: {worst['with_render_workers_ratio_to_memory_size']:.2f} "
        f"of MemorySize); {worst['seconds']} s.",
        "- Cost: "
        + "; ".join(
            f"batch {b}: ${c['usd']:.2f} (${c['usd_with_ledger']:.2f} with the DynamoDB ledger)"
            for b, c in cost["by_batch_size"].items()
        )
        + f" per million. Prices: {cost['prices']['region']}, {cost['prices']['as_of']}.",
    ]
    if "fanout_recipients_per_s" in r.get("campaign", {}):
        c = r["campaign"]
        stand = c["stand_ins"]
        lines.append(
            f"- Campaign fan-out: {_n(c['fanout_recipients_per_s'])} recipients/s into the queue from a "
            f"{c['large_list_bytes'] / 2**20:.1f} MiB CSV (one worker; SendMessageBatch {stand['send_message_batch_s'] * 1000:g} ms, "
            f"DynamoDB {stand['dynamodb_call_s'] * 1000:g} ms a call, {stand['group_batches']} batches between checkpoints); "
            f"peak RSS {c['peak_rss_mb_10k']} MiB at 10,000 rows, {c['peak_rss_mb_100k']} MiB at 100,000 "
            f"(ratio {c['rss_ratio_100k_to_10k']:.2f}: memory does not grow with the list)."
        )
    missed = [t for t in r["targets"].values() if not t["met"]]
    if missed:
        lines += ["", "Missed targets:"] + [
            f"- {t['what']}: {t['measured']:.3g}, target {t['target']}." for t in missed
        ]
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    lat = results["latency_bound"]
    figure, (by_batch, by_concurrency) = plt.subplots(1, 2, figsize=(11, 4.2))
    batches = [int(b) for b in lat["msgs_per_s"]]
    by_batch.plot(
        batches,
        list(lat["msgs_per_s"].values()),
        "o-",
        label=f"maildispatch, pipelining + BDAT (concurrency {lat['concurrency']})",
    )
    by_batch.plot(
        [int(b) for b in lat["without_chunking"]["msgs_per_s"]],
        list(lat["without_chunking"]["msgs_per_s"].values()),
        "D-.",
        label="maildispatch, pipelining + DATA (no CHUNKING)",
    )
    by_batch.plot(
        [int(b) for b in lat["without_pipelining"]["msgs_per_s"]],
        list(lat["without_pipelining"]["msgs_per_s"].values()),
        "s--",
        label="maildispatch, one command at a time",
    )
    fresh = lat["fresh_connections_per_invocation"]["msgs_per_s"]
    by_batch.plot(
        [int(b) for b in fresh],
        list(fresh.values()),
        "^:",
        label="pipelining, fresh connections every invocation",
    )
    by_batch.axhline(
        lat["naive_msgs_per_s"],
        color="grey",
        linestyle=":",
        label=f"naive smtplib, connection per message ({lat['naive_msgs_per_s']:.1f} msg/s)",
    )
    by_batch.axhline(100, color="red", linewidth=0.8, linestyle="-.", label="target: 100 msg/s")
    by_batch.set_xscale("log")
    by_batch.set_xticks(batches, [str(b) for b in batches])
    by_batch.xaxis.set_minor_formatter(NullFormatter())
    by_batch.set_xlabel("batch size (records per invocation)")
    by_batch.set_ylabel("messages per second per invocation")
    by_batch.set_title(f"Latency-bound: {lat['reply_delay_ms']:g} ms replies, {lat['max_connections']} connections")
    by_batch.set_ylim(bottom=0)
    by_batch.legend(fontsize=8)
    sweep = lat["by_concurrency"]
    concurrency = [int(c) for c in sweep["msgs_per_s"]]
    by_concurrency.plot(
        concurrency, list(sweep["msgs_per_s"].values()), "o-", label=f"batch {sweep['batch']}, pipelining"
    )
    by_concurrency.axvline(
        lat["template_concurrency"], color="grey", linestyle=":", label="template's DISPATCH_CONCURRENCY"
    )
    by_concurrency.axhline(100, color="red", linewidth=0.8, linestyle="-.", label="target: 100 msg/s")
    by_concurrency.set_xscale("log")
    by_concurrency.set_xticks(concurrency, [str(c) for c in concurrency])
    by_concurrency.xaxis.set_minor_formatter(NullFormatter())
    by_concurrency.set_xlabel("DISPATCH concurrency (records in flight)")
    by_concurrency.set_ylabel("messages per second per invocation")
    by_concurrency.set_title(f"Same, by concurrency ({lat['max_connections']} connections)")
    by_concurrency.set_ylim(bottom=0)
    by_concurrency.legend(fontsize=8)
    figure.suptitle(f"maildispatch throughput, {results['date'][:10]} ({results['command']})", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
