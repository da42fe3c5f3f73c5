"""`make chaos`: the fault test. No mail lost, none sent twice, under every fault we can make.

    python -m tests.stack.chaos [--requests 2000] [--seed 1] [--wave 100] [--cut-offs 0.15]

Against moto server, the fault-injecting relay (tests/stack/relay.py, seeded) and the real handlers:
N send requests of 1 to 5 recipients drawn from a pool with repeats (a few of them dead mailboxes,
so suppression matters), every SQS record enqueued twice, a fraction of dispatch invocations cut off
mid-batch (SIGKILL, as a Lambda timeout; tests/stack/event_source.py), fed in waves because moto's SQS
slows as a queue deepens. Time is compressed, not skipped: a retry schedule in seconds, a short claim
lease and SMTP timeout, and a send queue whose visibility timeout (after which a cut-off batch comes
back) is seconds instead of 6 minutes.

When every queue is empty, the ledger (DynamoDB scan), the relay's log and the DSNs it received say
what happened to each (message, recipient). The table goes to stdout and `.local/chaos-summary.json`:

  requests, recipients   what was sent: requests, and (request, recipient) pairs
  delivered              ledger rows delivered
  received_copies        copies the relay stored for real recipients (DSNs excluded)
  bounced, suppressed    ledger rows bounced (hard or expired), and skipped as suppressed
  uncertain              ledger rows left uncertain (the policy will not send them again)
  dsn_received           DSNs the senders got
  pending                recipients not final because the run stopped before the queues emptied
  lost                   recipients with no ledger row, or still sending/deferred (or uncertain with a
                         retry due) once every queue is empty: nothing will ever move them again
  duplicates             copies beyond the first per (Message-ID, recipient), except for recipients the
                         ledger ever recorded uncertain (a retry there is the documented policy)

plus `seed`, `duration_s` and `faults` (what the relay injected, the duplicated records, and the
cut-offs: how many, how many came after the relay had accepted copies in that invocation, the window
where a kill can duplicate, and how many chosen invocations finished before their kill). Details for
debugging (every check, and examples of any lost or duplicated recipient with its ledger row and what
the relay saw) go to `.local/chaos/details.json`; the functions' logs to `.local/chaos-functions.log`
(in process) and `.local/chaos/forked-functions.log` (cut-off candidates). Exit status 1 when anything
was lost or duplicated, 2 when the run did not settle in time.

moto is the bottleneck (a serial server; a conditional DynamoDB write costs 10-25 ms on a busy 2-core
machine, and each recipient takes several): 2,000 requests take about 20 minutes there.
"""

from __future__ import annotations

import argparse
import bisect
import email.policy
import json
import random
import re
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser, HeaderParser
from pathlib import Path
from typing import Any

from maildispatch.core.mime import message_id_for
from tests.stack.event_source import (
    CutOffs,
    EventSourceRunner,
    ForkServer,
    HandlerSpec,
    InvocationOutcome,
    InvocationResult,
    SqsEventSource,
)
from tests.stack.harness_run import finish
from tests.stack.local_stack import LocalStack
from tests.stack.moto import MotoServer, aws_client

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / ".local"
SUMMARY_KEYS = (
    "requests",
    "recipients",
    "delivered",
    "received_copies",
    "bounced",
    "dsn_received",
    "suppressed",
    "uncertain",
    "pending",
    "lost",
    "duplicates",
)
FINAL = {"delivered", "bounced", "suppressed"}
SENDERS = ("orders@shop.example.com", "news@shop.example.com", "alerts@ops.example.org", "billing@shop.example.com")
RECIPIENT_DOMAINS = ("example.net", "example.org", "mail.example.com")

# The functions' settings with time compressed to seconds (see maildispatch/settings.py).
CHAOS_FUNCTION_ENV = {
    "RETRY_SCHEDULE": "1s,2s,4s",  # the last wait repeats
    # Counted from the record's enqueueing, which waits behind earlier waves: generous, so that an
    # expiry (4.4.7) means a recipient kept failing, not that the harness queued it.
    "RETRY_MAX_AGE": "300s",
    "RETRY_STATED_DELAY_FLOOR": "1s",
    "UNCERTAIN_POLICY": "retry-once",
    "CLAIM_LEASE_SECONDS": "5",
    "SMTP_TIMEOUT": "2",
    "DELAY_WARNING_AFTER": "off",
}


def socket_buffer_bytes() -> int:
    """The most the kernel buffers on the sending side (tcp_wmem max): a message larger than this
    plus the relay's receive window cannot have left the client when the relay drops mid-DATA."""
    try:
        return int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 * 1024 * 1024


def default_faults() -> dict[str, Any]:
    """The relay's fault profile (tests/stack/relay.py), without the seed and the dead mailboxes."""
    return {
        "rcpt": {"421": 0.01, "450": 0.01, "451": 0.01, "452": 0.01, "550": 0.003, "552": 0.003, "554": 0.003},
        "greylist": {"probability": 0.1, "delay_seconds": 2},
        "data": {
            "drop_mid_data": 0.5,  # of the messages too large for the socket buffers
            "drop_mid_data_min_bytes": socket_buffer_bytes() + 1024 * 1024,
            "drop_after_dot": 0.01,
            "hang_after_dot": 0.005,
            "slow": 0.02,
            "slow_seconds": [0.2, 1.0],
        },
    }


@dataclass(frozen=True)
class ChaosConfig:
    requests: int = 2000
    seed: int = 1
    wave_requests: int = 100  # 200 records a wave
    pool_size: int | None = None  # recipient addresses to draw from; default requests // 5, at least 30
    dead_fraction: float = 0.04
    large_every: int = 200  # one request in this many has an attachment larger than the socket buffers
    cut_off_fraction: float = 0.15  # of the dispatch invocations
    # From the handler's start. A forked invocation spends its first second or so on a cold start and
    # the claims; a kill there only leaves claims to take over. Later it can land after the relay
    # accepted a message and before the ledger knows: the window that matters.
    cut_off_delay_s: tuple[float, float] = (0.8, 3.5)
    cut_off_ladder_s: tuple[float, ...] = ()  # instead of the range: these delays in turn (CutOffs)
    faults: Mapping[str, Any] = field(default_factory=default_faults)
    function_env: Mapping[str, str] = field(default_factory=lambda: dict(CHAOS_FUNCTION_ENV))
    queue_visibility_s: int = 6  # the template's 360 s, compressed: a cut-off batch comes back after this
    function_timeout_s: float = 30.0
    max_run_s: float = 3600.0
    pipelining: bool = False  # the relay offers PIPELINING: deliveries waiting for a connection ride


@dataclass(frozen=True)
class PlannedRequest:
    message_key: str
    sender: str
    recipients: tuple[str, ...]
    body: str
    large: bool

    @property
    def message_id(self) -> str:
        return message_id_for(self.message_key, self.sender.rsplit("@", 1)[1])


@dataclass
class ChaosResult:
    summary: dict[str, Any]
    details: dict[str, Any]
    settled: bool

    @property
    def ok(self) -> bool:
        return self.settled and self.summary["lost"] == 0 and self.summary["duplicates"] == 0


# -- the requests ------------------------------------------------------------------------------------


def plan_requests(config: ChaosConfig, content_bucket: str, large_key: str) -> tuple[list[PlannedRequest], list[str]]:
    """The send requests and the dead mailboxes, both from the seed."""
    rng = random.Random(f"requests/{config.seed}")
    size = config.pool_size or max(30, config.requests // 5)
    pool = [f"user{i:04d}@{RECIPIENT_DOMAINS[i % len(RECIPIENT_DOMAINS)]}" for i in range(size)]
    dead = sorted(rng.sample(pool, max(2, round(size * config.dead_fraction))))
    large_at = {i for i in range(config.requests) if i % config.large_every == config.large_every // 2}
    planned = []
    for i in range(config.requests):
        sender = rng.choice(SENDERS)
        recipients = tuple(rng.sample(pool, rng.randint(1, 5)))
        key = f"chaos-{config.seed}-{i:05d}"
        doc: dict[str, Any] = {
            "message_key": key,
            "from": f"Shop <{sender}>",
            "subject": f"Chaos {i}",
            "tags": {"run": "chaos"},
        }
        split = rng.randint(1, len(recipients))  # the rest in cc or bcc: all of them envelope recipients
        doc["to"], rest = list(recipients[:split]), list(recipients[split:])
        if rest:
            doc["cc" if rng.random() < 0.5 else "bcc"] = rest
        doc["text"] = f"Message {i} of the chaos run.\n" + "Line of text.\n" * rng.randint(1, 40)
        if rng.random() < 0.3:
            doc["html"] = f"<p>Message <b>{i}</b> of the chaos run.</p>"
        if i in large_at:
            doc["attachments"] = [
                {
                    "filename": "large.bin",
                    "content_type": "application/octet-stream",
                    "s3": {"bucket": content_bucket, "key": large_key},
                }
            ]
        elif rng.random() < 0.05:
            doc["attachments"] = [{"filename": "note.txt", "content_type": "text/plain", "content_base64": "aGVsbG8K"}]
        planned.append(
            PlannedRequest(key, sender, tuple(r.lower() for r in recipients), json.dumps(doc), i in large_at)
        )
    return planned, dead


# -- the run -------------------------------------------------------------------------------------------


def run_chaos(config: ChaosConfig, workdir: Path, *, moto: MotoServer | None = None) -> ChaosResult:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    started = time.monotonic()
    with (
        LocalStack(
            workdir / "stack",
            relay_script={},
            function_env=dict(config.function_env),
            moto=moto,
            relay_pipelining=config.pipelining,
        ) as stack,
        ForkServer(workdir / "forked-functions.log") as forks,
    ):
        bucket, large_key = stack.stack.name("ContentBucket"), "attachments/chaos/large.bin"
        requests, dead = plan_requests(config, bucket, large_key)
        profile = {**json.loads(json.dumps(config.faults)), "seed": config.seed, "dead": dead}
        stack.relay.set_script({"faults": profile})
        _compress_visibility(stack, config.queue_visibility_s)
        if any(r.large for r in requests):
            assert stack.moto is not None
            large = random.Random(config.seed).randbytes(socket_buffer_bytes())
            aws_client("s3", stack.moto.endpoint_url).put_object(Bucket=bucket, Key=large_key, Body=large)
        runner = _runner(stack, forks, config)
        timeline = {"stack_up": round(time.monotonic() - started, 1)}
        invocations, settled = _feed_and_run(stack, runner, requests, config, started, timeline)
        duration = time.monotonic() - started
        summary, details = _account(stack, requests, invocations, settled, timeline)
    summary = {
        **{k: summary[k] for k in SUMMARY_KEYS},
        "seed": config.seed,
        "duration_s": round(duration, 1),
        "faults": details.pop("faults"),
    }
    return ChaosResult(summary, details, settled)


def _compress_visibility(stack: LocalStack, seconds: int) -> None:
    for logical_id in ("SendQueue", "DeadLetterQueue"):
        stack.sqs.set_queue_attributes(
            QueueUrl=stack.stack.queue_url(logical_id), Attributes={"VisibilityTimeout": str(seconds)}
        )


def _runner(stack: LocalStack, forks: ForkServer, config: ChaosConfig) -> EventSourceRunner:
    sources = []
    for source in stack.stack.event_sources:
        function = stack.functions[source.function_logical_id]
        cut_offs = None
        if source.function_logical_id == "DispatchFunction" and config.cut_off_fraction > 0:
            spec = HandlerSpec(str(function.module.__file__), dict(function.environment))
            cut_offs = CutOffs(
                forks,
                spec,
                fraction=config.cut_off_fraction,
                delay_s=config.cut_off_delay_s,
                seed=config.seed,
                ladder_s=config.cut_off_ladder_s,
                store_log=stack.relay.log_path if config.cut_off_ladder_s else None,
            )
        sources.append(
            SqsEventSource(
                stack.sqs,
                source.queue_url,
                stack.stack.arn(source.queue_logical_id),
                function.handler,
                batch_size=source.batch_size,
                function_name=source.function_logical_id,
                function_timeout_s=config.function_timeout_s,
                cut_offs=cut_offs,
            )
        )
    return EventSourceRunner(sources)


@dataclass(frozen=True)
class Invocation:
    result: InvocationResult
    began: float  # wall clock, as the relay logs it (the receive is included)
    ended: float


def _feed_and_run(
    stack: LocalStack,
    runner: EventSourceRunner,
    requests: list[PlannedRequest],
    config: ChaosConfig,
    started: float,
    timeline: dict[str, float],
) -> tuple[list[Invocation], bool]:
    """Enqueue each wave (every record twice) when the send queue has drained below half a wave; run the
    functions until every queue has been empty for a moment. Returns the invocations and whether it settled."""
    rng = random.Random(f"waves/{config.seed}")
    waves = [requests[i : i + config.wave_requests] for i in range(0, len(requests), config.wave_requests)]
    send_url = stack.stack.queue_url("SendQueue")
    send_source = next(s for s in runner.sources if s.queue_url == send_url)
    invocations: list[Invocation] = []
    empty_since: float | None = None
    while True:
        if waves and send_source.pending_messages() < config.wave_requests:
            records = [r.body for r in waves.pop(0) for _ in range(2)]  # every record twice
            rng.shuffle(records)
            for i in range(0, len(records), 10):
                entries = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(records[i : i + 10])]
                stack.sqs.send_message_batch(QueueUrl=send_url, Entries=entries)
            timeline["last_wave_fed"] = round(time.monotonic() - started, 1)
        ran = []
        for source in runner.sources:
            began = time.time()
            if (result := source.poll_once()) is not None:
                ran.append(Invocation(result, began, time.time()))
        invocations += ran
        now = time.monotonic()
        if ran:
            timeline["last_invocation"] = round(now - started, 1)
        if now - started > config.max_run_s:
            return invocations, False
        if ran:
            empty_since = None
            continue
        if not waves and all(source.pending_messages() == 0 for source in runner.sources):
            empty_since = empty_since or now
            if now - empty_since >= 1.5:
                return invocations, True
        else:
            empty_since = None
        time.sleep(0.05)


# -- what happened -------------------------------------------------------------------------------------


def _account(
    stack: LocalStack,
    requests: list[PlannedRequest],
    invocations: list[Invocation],
    settled: bool,
    timeline: dict[str, float],
) -> tuple[dict[str, Any], dict[str, Any]]:
    rows = {(i["message_key"]["S"], i["recipient"]["S"]): i for i in stack.ledger_items()}
    copies = stack.relay.stored_copies()
    dsns = _read_dsns(stack, {json.loads(r.body)["subject"]: r.message_id for r in requests})
    data_events: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for event in stack.relay.log_events("data"):
        data_events.setdefault((event.get("message_id", ""), event["recipient"].lower()), []).append(event)
    expected = [(r, rcpt) for r in requests for rcpt in r.recipients]

    states: Counter[str] = Counter()
    bounced_by_status: Counter[str] = Counter()
    lost, pending, duplicates = 0, 0, 0
    checks: Counter[str] = Counter()
    examples: dict[str, list[dict[str, Any]]] = {}
    for request, rcpt in expected:
        row = rows.get((request.message_key, rcpt))
        state = _state(row)
        states[state] += 1
        if state == "bounced":
            bounced_by_status[row["reply_status"]["S"] if row and "reply_status" in row else "?"] += 1
        n = copies.get((request.message_id, rcpt), 0)
        ever_uncertain = row is not None and (
            state == "uncertain" or int(row.get("uncertain_count", {}).get("N", "0")) > 0
        )
        in_dsn = dsns["failed"].get((request.message_id, rcpt), 0)
        problems = []
        if state not in FINAL and state != "uncertain":
            if settled:
                lost += 1
                problems.append("lost")
            else:
                pending += 1
        if n > 1 and not ever_uncertain:
            duplicates += n - 1
            problems.append("duplicates")
        for check, failed in (
            ("delivered in the ledger, no copy at the relay", state == "delivered" and n == 0),
            (
                "a copy at the relay, ledger says bounced/suppressed, never uncertain",
                state in ("bounced", "suppressed") and n > 0 and not ever_uncertain,
            ),
            ("bounced, in no DSN", state == "bounced" and in_dsn == 0),
            ("suppressed, in no DSN", state == "suppressed" and in_dsn == 0),
            ("delivered, yet named as failed in a DSN", state == "delivered" and in_dsn > 0),
            ("left uncertain, no copy at the relay (never sent again)", state == "uncertain" and n == 0),
        ):
            checks[check] += failed
            if failed:
                problems.append(check)
        checks["recorded uncertain at some point"] += ever_uncertain
        checks["copies beyond the first, recipient recorded uncertain (policy)"] += (
            max(n - 1, 0) if ever_uncertain else 0
        )
        for problem in problems:
            _example(examples.setdefault(problem, []), request, rcpt, row, n, data_events)
    summary = {
        "requests": len(requests),
        "recipients": len(expected),
        "delivered": states["delivered"],
        "received_copies": sum(copies.get((r.message_id, rcpt), 0) for r, rcpt in expected),
        "bounced": states["bounced"],
        "dsn_received": dsns["messages"],
        "suppressed": states["suppressed"],
        "uncertain": states["uncertain"],
        "pending": pending,
        "lost": lost,
        "duplicates": duplicates,
    }
    outcomes = Counter(f"{i.result.function_name}:{i.result.outcome.value}" for i in invocations)
    chosen = [i for i in invocations if i.result.cut_off_after_s is not None]
    killed = [i for i in chosen if i.result.outcome is InvocationOutcome.CUT_OFF]
    stored_at = sorted(
        e["t"] for events in data_events.values() for e in events if e.get("stored") and e.get("sender") != "<>"
    )
    faults = dict(sorted(stack.relay.injected_faults().items()))
    faults["duplicated_records"] = len(requests)
    faults["cut_off_invocations"] = len(killed)
    # Those killed after the relay had accepted copies for them: the window a takeover could duplicate.
    faults["cut_off_after_the_relay_accepted"] = sum(1 for i in killed if _any_between(stored_at, i.began, i.ended))
    faults["cut_off_chosen_but_finished_first"] = len(chosen) - len(killed)
    details = {
        "settled": settled,
        "faults": faults,
        "ledger_states": dict(states),
        "bounced_by_status": dict(bounced_by_status),
        "checks": dict(checks),
        "dsn_actions": dict(dsns["actions"]),
        "invocations": dict(outcomes, total=len(invocations)),
        "seconds_in_invocations": round(sum(i.result.duration_s for i in invocations), 1),
        "slowest_invocations": [
            {
                "function": i.result.function_name,
                "outcome": i.result.outcome.value,
                "records": len(i.result.record_ids),
                "seconds": round(i.result.duration_s, 1),
            }
            for i in sorted(invocations, key=lambda i: -i.result.duration_s)[:5]
        ],
        "timeline_s": timeline,
        "examples": examples,
    }
    return summary, details


def _any_between(sorted_times: list[float], low: float, high: float) -> bool:
    at = bisect.bisect_left(sorted_times, low)
    return at < len(sorted_times) and sorted_times[at] <= high


def _state(row: Mapping[str, Any] | None) -> str:
    """The row's state; an uncertain row with a retry still due is not final (a retry was promised)."""
    if row is None:
        return "missing"
    state = row["state"]["S"]
    if state == "uncertain" and float(row.get("next_attempt_at", {}).get("N", "1e12")) < 1e11:
        return "uncertain_retry_due"
    return state


def _read_dsns(stack: LocalStack, by_subject: Mapping[str, str]) -> dict[str, Any]:
    """DSNs the relay stored (from <>): how many, and per (original Message-ID, recipient) how often named
    as failed. The original is found by its headers in the DSN, else (a DSN about a message that was never
    built, such as one whose recipients were all suppressed) by the subject its explanation quotes."""
    failed: Counter[tuple[str, str]] = Counter()
    actions: Counter[str] = Counter()
    names = {e["stored"] for e in stack.relay.log_events("data") if e.get("stored") and e.get("sender") == "<>"}
    parser = BytesParser(policy=email.policy.default)
    for name in sorted(names):
        dsn = parser.parsebytes((stack.relay.directory / "maildir" / "new" / name).read_bytes())
        original_id = ""
        for part in dsn.walk():
            if part.get_content_type() == "text/rfc822-headers":
                original_id = " ".join(str(HeaderParser().parsestr(part.get_content()).get("Message-ID", "")).split())
        if not original_id:
            explanation = dsn.get_body(("plain",))
            quoted = re.search(
                r"^\s*Subject:\s*(.+?)\s*$", explanation.get_content() if explanation else "", re.MULTILINE
            )
            original_id = by_subject.get(quoted.group(1), "") if quoted else ""
        for part in dsn.walk():
            if part.get_content_type() != "message/delivery-status":
                continue
            for group in list(part.get_payload())[1:]:
                recipient = str(group.get("Final-Recipient", "")).split(";", 1)[-1].strip().lower()
                action = str(group.get("Action", "")).strip().lower()
                actions[action] += 1
                if action == "failed":
                    failed[(original_id, recipient)] += 1
    return {"messages": len(names), "failed": failed, "actions": actions}


def _example(
    bucket: list,
    request: PlannedRequest,
    rcpt: str,
    row: Mapping[str, Any] | None,
    copies: int,
    data_events: Mapping[tuple[str, str], list[dict[str, Any]]],
) -> None:
    """Up to 10 examples per problem: the ledger row and what the relay saw at DATA for that recipient."""
    if len(bucket) >= 10:
        return
    relay = [
        {k: e[k] for k in ("session", "reply", "fault", "stored", "copy", "t") if k in e}
        for e in data_events.get((request.message_id, rcpt), [])
    ]
    bucket.append(
        {
            "message_key": request.message_key,
            "recipient": rcpt,
            "message_id": request.message_id,
            "copies": copies,
            "ledger": {k: next(iter(v.values())) for k, v in (row or {}).items()},
            "relay_data_events": relay,
        }
    )


# -- the command -------------------------------------------------------------------------------------


ROWS = [
    ("requests", "send requests (each SQS record enqueued twice)"),
    ("recipients", "(request, recipient) pairs"),
    ("delivered", "delivered (ledger)"),
    ("received_copies", "copies the relay stored"),
    ("bounced", "bounced (ledger)"),
    ("suppressed", "skipped as suppressed (ledger)"),
    ("uncertain", "left uncertain (ledger)"),
    ("dsn_received", "DSNs the senders received"),
    ("pending", "pending (run stopped before the queues emptied)"),
    ("lost", "LOST: no final state, nothing left to move them"),
    ("duplicates", "DUPLICATES: extra copies, not recorded uncertain"),
]


def print_report(result: ChaosResult, out: Any = sys.stdout) -> None:
    summary, details = result.summary, result.details
    width = max(len(label) for label in [*(label for _, label in ROWS), *summary["faults"], *details["checks"]]) + 2
    print(f"\n  {'what':<{width}}  {'count':>7}", file=out)
    for key, label in ROWS:
        print(f"  {label:<{width}}  {summary[key]:>7}", file=out)
    for title, table in (("faults injected", summary["faults"]), ("checks", details["checks"])):
        print(f"\n  {title}", file=out)
        for name, count in table.items():
            print(f"    {name:<{width - 2}}  {count:>7}", file=out)
    invocations = ", ".join(f"{k} {v}" for k, v in details["invocations"].items())
    print(f"\n  invocations: {invocations}", file=out)
    print(
        f"  seed {summary['seed']}, {summary['duration_s']} s, {'settled' if result.settled else 'DID NOT SETTLE'}",
        file=out,
    )


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.stack.chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=ChaosConfig.requests)
    parser.add_argument("--seed", type=int, default=ChaosConfig.seed)
    parser.add_argument("--wave", type=int, default=ChaosConfig.wave_requests, help="requests per wave")
    parser.add_argument(
        "--cut-offs", type=float, default=ChaosConfig.cut_off_fraction, help="fraction of dispatch invocations cut off"
    )
    parser.add_argument("--pipelining", action="store_true", help="the relay offers PIPELINING (RFC 2920)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    config = ChaosConfig(
        requests=args.requests,
        seed=args.seed,
        wave_requests=args.wave,
        cut_off_fraction=args.cut_offs,
        pipelining=args.pipelining,
    )
    workdir = LOCAL / "chaos"
    print(
        f"chaos: {config.requests} requests, seed {config.seed}, waves of {config.wave_requests}; logs in {workdir.relative_to(REPO)}/"
    )
    workdir.mkdir(parents=True, exist_ok=True)
    return finish(
        lambda: run_chaos(config, workdir),
        function_log=LOCAL / "chaos-functions.log",
        summary_path=LOCAL / "chaos-summary.json",
        details_path=workdir / "details.json",
        print_report=print_report,
        repo=REPO,
    )


if __name__ == "__main__":
    sys.exit(main())
