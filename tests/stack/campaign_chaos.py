"""`make campaign-chaos`: a campaign through every fault we can make; every recipient once, none skipped.

    python -m tests.stack.campaign_chaos [--recipients 5000] [--seed 1] [--fanout-kills 2]

Against moto server, the fault-injecting relay (tests/stack/relay.py, seeded) and the real handlers
(fan-out, dispatch, bounce): a recipient list in S3 of N unique addresses plus duplicated rows (the
same address in another case), invalid rows (no address, a missing variable) and suppressed addresses,
a few dead mailboxes, started through the campaign service as the HTTP API starts it. The sender's
domain publishes passing SPF and DMARC on the DNS test server (tests/stack/dns_server.py), which the
fan-out's pre-flight sender check asks (DNS_NAMESERVERS). While it runs:

- the fan-out is killed (SIGKILL, in a forked process: tests/stack/event_source.py) at least
  `--fanout-kills` times while it still has rows to read; its queue message comes back after the
  (compressed) visibility timeout and the next run resumes at the checkpoint;
- a fraction of dispatch invocations are killed mid-batch the same way;
- the relay answers some RCPTs with SES's quota reply (454 4.7.0 Throttling failure: Daily message
  quota exceeded) and other 4xx, greylists, drops connections after the final dot;
- the campaign is paused once (by the service, as `maildispatch campaign pause` does) and resumed.

Time is compressed, not skipped (retry schedule in seconds, short leases and visibility timeouts).
moto's SQS slows as a queue deepens, so the fan-out is polled only while the send queue holds fewer
than `--max-depth` messages (on AWS the queue may be as deep as it likes).

When the campaign is final and every queue is empty, the ledger, the relay's log and the campaign item
say what happened. `.local/campaign-summary.json`:

  recipients     unique valid rows (the addresses the campaign must reach or account for)
  delivered      ledger rows delivered
  bounced        ledger rows bounced (the dead mailboxes)
  suppressed     recipients not sent because suppressed (at fan-out, or by dispatch)
  invalid_rows   bad rows the fan-out reported
  skipped        unique valid recipients that reached no final state
  duplicates     copies the relay stored beyond one per recipient, except for recipients the ledger
                 recorded uncertain (the documented retry-once policy)
  fanout_kills   fan-out invocations killed while the list was not read to its end
  quota_pauses   quota replies injected (SES's `454 Throttling failure: Daily message quota exceeded`):
                 each pauses the relay (RELAY_QUOTA_PAUSE, 2 s here) and leaves its recipient queued
  finished       the campaign reached "finished" and every recipient is final

Exit status 1 unless skipped == 0, duplicates == 0 and finished; 2 when it did not settle in time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maildispatch.adapters.dynamodb_suppression import DynamoDbSuppressionList
from maildispatch.core.campaign import CampaignState
from maildispatch.core.campaign_keys import recipient_key
from maildispatch.core.mime import message_id_for
from maildispatch.core.suppression import Suppression, SuppressionReason
from maildispatch.runtime.api_campaigns import campaign_control
from maildispatch.runtime.settings_api import CampaignApiSettings
from tests.stack.dns_server import DnsServer
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
    "recipients",
    "delivered",
    "bounced",
    "suppressed",
    "invalid_rows",
    "skipped",
    "duplicates",
    "fanout_kills",
    "quota_pauses",
    "finished",
)
SENDER = "news@shop.example.com"
DOMAINS = ("example.net", "example.org", "mail.example.com")
CAMPAIGN_ID = "chaos"
FINAL = {"delivered", "bounced", "suppressed", "uncertain"}

CAMPAIGN_FUNCTION_ENV = {
    "RETRY_SCHEDULE": "1s,2s,4s",
    "RETRY_MAX_AGE": "900s",  # counted from enqueueing: generous, an expiry would mean a recipient kept failing
    "RETRY_STATED_DELAY_FLOOR": "1s",
    "UNCERTAIN_POLICY": "retry-once",
    "CLAIM_LEASE_SECONDS": "5",
    "SMTP_TIMEOUT": "2",
    "DELAY_WARNING_AFTER": "off",
    "CAMPAIGN_PAUSE_WAIT": "2s",
    "RELAY_QUOTA_PAUSE": "2s",  # the template's hour, compressed: a quota reply pauses the relay this long
    "RELAY_RATE_PAUSE": "1s",
    "FANOUT_FINISH_POLL": "3s",
    "FANOUT_RESERVE": "6s",
    "FANOUT_GROUP_BATCHES": "5",
    "FANOUT_READ_BYTES": "16384",
}


def default_faults(quota: float) -> dict[str, Any]:
    return {
        "rcpt": {"421": 0.003, "450": 0.005, "451": 0.005, "454": quota},
        "greylist": {"probability": 0.05, "delay_seconds": 1},
        "data": {"drop_after_dot": 0.005, "slow": 0.01, "slow_seconds": [0.1, 0.4]},
    }


@dataclass(frozen=True)
class CampaignChaosConfig:
    recipients: int = 5000
    seed: int = 1
    duplicate_rows: int | None = None  # default 2 %
    invalid_rows: int | None = None  # default 1 %
    suppressed: int | None = None  # default 1 %
    dead: int | None = None  # default 0.5 %, at least 2
    fanout_kills: int = 2
    fanout_kill_delay_s: tuple[float, float] = (1.5, 4.0)
    dispatch_cut_off_fraction: float = 0.03
    quota_probability: float = 0.01
    pause: bool = True
    pause_after_share: float = 0.3  # pause when this share of recipients has an outcome
    pause_s: float = 4.0
    max_send_queue_depth: int = 150
    queue_visibility_s: int = 4
    fanout_timeout_s: float = 12.0
    dispatch_timeout_s: float = 30.0
    max_run_s: float = 1140.0
    function_env: dict[str, str] = field(default_factory=lambda: dict(CAMPAIGN_FUNCTION_ENV))
    # VERP off, as the template's default (BounceDomain ""): two DynamoDB writes less per recipient on a
    # serial moto; `make chaos` covers VERP under faults.
    # an https one-click URL (the local API's is http://127.0.0.1): campaign mail is bulk, the pre-flight wants one
    template_parameters: dict[str, str] = field(
        default_factory=lambda: {"BounceDomain": "", "UnsubscribeBaseUrl": "https://mail.shop.example.com"}
    )

    def count(self, given: int | None, share: float, minimum: int = 1) -> int:
        return given if given is not None else max(minimum, round(self.recipients * share))


@dataclass(frozen=True)
class PlannedList:
    data: bytes
    unique: list[str]  # valid addresses, lower case, in list order
    suppressed: list[str]
    dead: list[str]
    duplicate_rows: int
    invalid_rows: int


@dataclass
class CampaignChaosResult:
    summary: dict[str, Any]
    details: dict[str, Any]
    settled: bool

    @property
    def ok(self) -> bool:
        s = self.summary
        return self.settled and s["skipped"] == 0 and s["duplicates"] == 0 and s["finished"]


def plan_list(config: CampaignChaosConfig) -> PlannedList:
    rng = random.Random(f"campaign/{config.seed}")
    unique = [f"r{i:05d}@{DOMAINS[i % len(DOMAINS)]}" for i in range(config.recipients)]
    rows = [f'{a},"Reader {i}",C{i}' for i, a in enumerate(unique)]
    duplicates = config.count(config.duplicate_rows, 0.02)
    for _ in range(duplicates):  # the same address again, in another case, later in the list
        at = rng.randrange(len(rows))
        original = unique[rng.randrange(config.recipients)]
        rows.insert(at, f"{original.upper()},Again,X")
    invalid = config.count(config.invalid_rows, 0.01)
    for n in range(invalid):
        at = rng.randrange(len(rows))
        rows.insert(at, f"not-an-address-{n},Nobody,X" if n % 2 else f"nocode{n}@example.net,No Code,")
    # a duplicate inserted before its original makes the original the "duplicate": the first row wins
    data = ("email,name,code\r\n" + "\r\n".join(rows) + "\r\n").encode()
    pool = list(unique)
    rng.shuffle(pool)
    n_suppressed = config.count(config.suppressed, 0.01)
    n_dead = config.count(config.dead, 0.005, minimum=2)
    return PlannedList(
        data,
        unique,
        sorted(pool[:n_suppressed]),
        sorted(pool[n_suppressed : n_suppressed + n_dead]),
        duplicates,
        invalid,
    )


class FanoutKills(CutOffs):
    """Kills the fan-out's 1st, 3rd, 5th ... invocation (up to `kills`) while its list is not read to the end
    (each then resumes at its checkpoint: the killed run had read and enqueued part of the list)."""

    def __init__(self, fork_server: ForkServer, handler: HandlerSpec, *, kills: int, delay_s, seed: int, list_done):
        super().__init__(fork_server, handler, fraction=0.0, delay_s=delay_s, seed=seed)
        self.kills = kills
        self.chosen = 0
        self.invocations = 0
        self._list_done = list_done

    def draw(self) -> float | None:
        self.invocations += 1
        delay = self._random.uniform(*self.delay_s)
        if self.chosen < self.kills and self.invocations % 2 == 1 and not self._list_done():
            self.chosen += 1
            return delay
        return None


def sender_dns(domain: str) -> dict[str, list[tuple[str, str]]]:
    """What the campaign's pre-flight sender check needs to pass for `domain` in relay mode (the template's
    RelayHost, smtp.gmail.com): SPF including Google's, a DMARC policy. No DKIM key is configured here."""
    return {
        domain: [("TXT", "v=spf1 include:_spf.google.com ~all")],
        f"_dmarc.{domain}": [("TXT", f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{domain}")],
    }


def run_campaign_chaos(
    config: CampaignChaosConfig, workdir: Path, *, moto: MotoServer | None = None
) -> CampaignChaosResult:
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    started = time.monotonic()
    planned = plan_list(config)
    with (
        DnsServer(sender_dns(SENDER.rsplit("@", 1)[1])) as dns,  # the pre-flight check passes on it
        LocalStack(
            workdir / "stack",
            relay_script={},
            function_env={**config.function_env, "DNS_NAMESERVERS": dns.host, "DNS_PORT": str(dns.port)},
            moto=moto,
            parameters=dict(config.template_parameters),
        ) as stack,
        ForkServer(workdir / "forked-functions.log") as forks,
    ):
        profile = {**default_faults(config.quota_probability), "seed": config.seed, "dead": planned.dead}
        stack.relay.set_script({"faults": profile})
        for logical_id in ("SendQueue", "DeadLetterQueue", "FanoutQueue"):
            stack.sqs.set_queue_attributes(
                QueueUrl=stack.stack.queue_url(logical_id),
                Attributes={"VisibilityTimeout": str(config.queue_visibility_s)},
            )
        assert stack.moto is not None
        ddb = aws_client("dynamodb", stack.moto.endpoint_url)
        bucket = stack.stack.name("ContentBucket")
        aws_client("s3", stack.moto.endpoint_url).put_object(Bucket=bucket, Key="lists/chaos.csv", Body=planned.data)
        suppressions = DynamoDbSuppressionList(ddb, stack.stack.name("SuppressionTable"), None)
        asyncio.run(
            suppressions.add([Suppression(a, SuppressionReason.MANUAL, diagnostic="chaos") for a in planned.suppressed])
        )
        control = campaign_control(
            CampaignApiSettings(
                campaign_table=stack.stack.name("CampaignTable"),
                fanout_queue_url=stack.stack.queue_url("FanoutQueue"),
                ledger_table=stack.stack.name("DeliveryLedgerTable"),
            )
        )
        asyncio.run(
            control.create(
                {
                    "id": CAMPAIGN_ID,
                    "list": {"bucket": bucket, "key": "lists/chaos.csv"},
                    "from": f"Shop News <{SENDER}>",
                    "template": {"subject": "Chaos for {{ name }}", "text": "Hello {{ name }}, your code: {{ code }}."},
                    "required_variables": ["code"],
                    "health": {"bounce_rate": 0.5},  # the dead mailboxes must not pause it: that is not this test
                }
            )
        )
        runner, kills = _runner(stack, forks, config, control)
        timeline = {"stack_up": round(time.monotonic() - started, 1)}
        invocations, settled, pause_log = _run(stack, runner, control, config, planned, started, timeline)
        duration = time.monotonic() - started
        summary, details = _account(stack, control, planned, invocations, settled, kills)
    summary = {k: summary[k] for k in (*SUMMARY_KEYS, "quota_note")} | {
        "seed": config.seed,
        "duration_s": round(duration, 1),
        "load_average_at_end": round(os.getloadavg()[0], 1),  # the machine is shared: read the duration with it
    }
    details["pause"] = pause_log
    details["timeline_s"] = timeline
    return CampaignChaosResult(summary, details, settled)


def _runner(
    stack: LocalStack, forks: ForkServer, config: CampaignChaosConfig, control: Any
) -> tuple[EventSourceRunner, FanoutKills | None]:
    def list_done() -> bool:
        record = asyncio.run(control.get(CAMPAIGN_ID))
        return bool(record.checkpoint.done)

    sources, kills = [], None
    for source in stack.stack.event_sources:
        function = stack.functions[source.function_logical_id]
        spec = HandlerSpec(str(function.module.__file__), dict(function.environment))
        cut_offs: CutOffs | None = None
        timeout = config.dispatch_timeout_s
        if source.function_logical_id == "FanoutFunction":
            timeout = config.fanout_timeout_s
            if config.fanout_kills:
                cut_offs = kills = FanoutKills(
                    forks,
                    spec,
                    kills=config.fanout_kills,
                    delay_s=config.fanout_kill_delay_s,
                    seed=config.seed,
                    list_done=list_done,
                )
        elif source.function_logical_id == "DispatchFunction" and config.dispatch_cut_off_fraction > 0:
            cut_offs = CutOffs(
                forks, spec, fraction=config.dispatch_cut_off_fraction, delay_s=(0.8, 3.0), seed=config.seed
            )
        sources.append(
            SqsEventSource(
                stack.sqs,
                source.queue_url,
                stack.stack.arn(source.queue_logical_id),
                function.handler,
                batch_size=source.batch_size,
                function_name=source.function_logical_id,
                function_timeout_s=timeout,
                cut_offs=cut_offs,
            )
        )
    return EventSourceRunner(sources), kills


def _run(
    stack: LocalStack,
    runner: EventSourceRunner,
    control: Any,
    config: CampaignChaosConfig,
    planned: PlannedList,
    started: float,
    timeline: dict[str, float],
) -> tuple[list[InvocationResult], bool, dict[str, Any]]:
    """Poll the functions until the campaign is final and every queue has been empty a moment."""
    send_url = stack.stack.queue_url("SendQueue")
    fanout_url = stack.stack.queue_url("FanoutQueue")
    send_source = next(s for s in runner.sources if s.queue_url == send_url)
    invocations: list[InvocationResult] = []
    empty_since: float | None = None
    pause_log: dict[str, Any] = {"paused_at_outcomes": None, "resumed": False}
    paused_until: float | None = None
    next_look = 0.0
    state = "scheduled"
    target = len(planned.unique) - len(planned.suppressed)
    while True:
        ran = []
        for source in runner.sources:
            if source.queue_url == fanout_url and send_source.pending_messages() > config.max_send_queue_depth:
                continue  # moto's SQS slows with depth: let dispatch catch up first
            if (result := source.poll_once()) is not None:
                ran.append(result)
        invocations += ran
        now = time.monotonic()
        if now >= next_look:
            next_look = now + 1.0
            record = asyncio.run(control.get(CAMPAIGN_ID))
            state = record.state.value
            if (
                config.pause
                and pause_log["paused_at_outcomes"] is None
                and record.attempted >= config.pause_after_share * target
            ):
                asyncio.run(control.pause(CAMPAIGN_ID, reason="chaos: paused by hand"))
                pause_log["paused_at_outcomes"] = record.attempted
                timeline["paused"] = round(now - started, 1)
                paused_until = now + config.pause_s
            if paused_until is not None and now >= paused_until and record.state is CampaignState.PAUSED:
                pause_log["outcomes_while_paused"] = record.attempted - pause_log["paused_at_outcomes"]
                asyncio.run(control.resume(CAMPAIGN_ID))
                pause_log["resumed"] = True
                timeline["resumed"] = round(now - started, 1)
                paused_until = None
            if record.checkpoint.done and "list_read" not in timeline:
                timeline["list_read"] = round(now - started, 1)
        if now - started > config.max_run_s:
            return invocations, False, pause_log
        if ran:
            empty_since = None
            continue
        final = state in ("finished", "cancelled", "expired")
        if final and all(source.pending_messages() == 0 for source in runner.sources):
            empty_since = empty_since or now
            if now - empty_since >= 1.5:
                timeline["settled"] = round(now - started, 1)
                return invocations, True, pause_log
        else:
            empty_since = None
        time.sleep(0.05)


def _account(
    stack: LocalStack,
    control: Any,
    planned: PlannedList,
    invocations: list[InvocationResult],
    settled: bool,
    kills: FanoutKills | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    record = asyncio.run(control.get(CAMPAIGN_ID))
    status = asyncio.run(control.status(CAMPAIGN_ID))
    rows = {(i["message_key"]["S"], i["recipient"]["S"]): i for i in stack.ledger_items()}
    copies = stack.relay.stored_copies()
    sender_domain = SENDER.rsplit("@", 1)[1]
    suppressed_set, dead_set = set(planned.suppressed), set(planned.dead)
    states: Counter[str] = Counter()
    checks: Counter[str] = Counter()
    skipped, duplicates = 0, 0
    examples: list[dict[str, Any]] = []
    for address in planned.unique:
        key = recipient_key(CAMPAIGN_ID, address)
        row = rows.get((key, address))
        state = _state(row, planned_suppressed=address in suppressed_set)
        states[state] += 1
        n = copies.get((message_id_for(key, sender_domain), address), 0)
        ever_uncertain = row is not None and (
            row["state"]["S"] == "uncertain" or int(row.get("uncertain_count", {}).get("N", "0")) > 0
        )
        if state not in FINAL and state != "suppressed_at_fanout":
            skipped += 1
            if len(examples) < 20:
                examples.append({"address": address, "state": state, "row": row})
        if n > 1 and not ever_uncertain:
            duplicates += n - 1
        checks["copies beyond the first, recipient recorded uncertain (policy)"] += (
            max(n - 1, 0) if ever_uncertain else 0
        )
        checks["suppressed, yet a copy at the relay"] += address in suppressed_set and n > 0
        checks["bounced, not a dead mailbox (a quota or 4xx reply counted as a bounce?)"] += (
            state == "bounced" and address not in dead_set
        )
        checks["delivered in the ledger, no copy at the relay"] += state == "delivered" and n == 0
    campaign_keys = {k for k, _ in rows if k.startswith(f"cmp.{CAMPAIGN_ID}.")}
    checks["ledger keys beyond the unique recipients (a duplicated row sent)"] = len(
        campaign_keys - {recipient_key(CAMPAIGN_ID, a) for a in planned.unique}
    )
    cp = record.checkpoint
    checks["invalid rows reported != planned"] = int(cp.invalid != planned.invalid_rows)
    checks["duplicate rows counted != planned"] = int(cp.duplicates != planned.duplicate_rows)
    checks["suppressed at fan-out"] = cp.suppressed
    faults = dict(sorted(stack.relay.injected_faults().items()))
    fanout_killed = [
        i for i in invocations if i.function_name == "FanoutFunction" and i.outcome is InvocationOutcome.CUT_OFF
    ]
    dispatch_killed = [
        i for i in invocations if i.function_name == "DispatchFunction" and i.outcome is InvocationOutcome.CUT_OFF
    ]
    finished = record.state is CampaignState.FINISHED and skipped == 0
    summary = {
        "recipients": len(planned.unique),
        "delivered": states["delivered"],
        "bounced": states["bounced"],
        "suppressed": states["suppressed"] + states["suppressed_at_fanout"],
        "invalid_rows": cp.invalid,
        "skipped": skipped,
        "duplicates": duplicates,
        "fanout_kills": len(fanout_killed),
        "quota_pauses": faults.get("rcpt_454", 0),
        "finished": finished,
        "quota_note": (
            "each injected 454 quota reply paused the relay and left its recipient queued "
            "(never bounced, never suppressed, never an attempt)"
        ),
    }
    outcomes = Counter(f"{i.function_name}:{i.outcome.value}" for i in invocations)
    details = {
        "settled": settled,
        "campaign": {
            "state": record.state.value,
            "reason": record.reason,
            "preflight_passed": record.checkpoint.preflight_passed,
            **status.to_document(),
        },
        "ledger_states": dict(states),
        "checks": dict(checks),
        "faults": faults,
        "duplicate_rows": planned.duplicate_rows,
        "dead_mailboxes": len(planned.dead),
        "dispatch_kills": len(dispatch_killed),
        "fanout_kills_chosen": kills.chosen if kills else 0,
        "invocations": dict(outcomes, total=len(invocations)),
        "skipped_examples": examples,
    }
    return summary, details


def _state(row: dict[str, Any] | None, *, planned_suppressed: bool) -> str:
    if row is None:
        return "suppressed_at_fanout" if planned_suppressed else "missing"
    state = row["state"]["S"]
    if state == "uncertain" and float(row.get("next_attempt_at", {}).get("N", "1e12")) < 1e11:
        return "uncertain_retry_due"
    return str(state)


def print_report(result: CampaignChaosResult, out: Any = sys.stdout) -> None:
    summary, details = result.summary, result.details
    print(f"\n  {'what':<40}  {'value':>8}", file=out)
    for key in SUMMARY_KEYS:
        print(f"  {key:<40}  {summary[key]!s:>8}", file=out)
    for title, table in (("checks (all 0 but the counts)", details["checks"]), ("faults injected", details["faults"])):
        print(f"\n  {title}", file=out)
        for name, count in table.items():
            print(f"    {name:<70}  {count:>6}", file=out)
    print(f"\n  pause: {details['pause']}", file=out)
    print(f"  invocations: {', '.join(f'{k} {v}' for k, v in details['invocations'].items())}", file=out)
    print(f"  timeline (s): {details['timeline_s']}", file=out)
    print(f"  {summary['quota_note']}", file=out)
    print(
        f"  seed {summary['seed']}, {summary['duration_s']} s, {'settled' if result.settled else 'DID NOT SETTLE'}",
        file=out,
    )


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.stack.campaign_chaos", description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=CampaignChaosConfig.recipients)
    parser.add_argument("--seed", type=int, default=CampaignChaosConfig.seed)
    parser.add_argument("--fanout-kills", type=int, default=CampaignChaosConfig.fanout_kills)
    parser.add_argument(
        "--cut-offs",
        type=float,
        default=CampaignChaosConfig.dispatch_cut_off_fraction,
        help="fraction of dispatch invocations killed",
    )
    parser.add_argument(
        "--max-run-s", type=float, default=CampaignChaosConfig.max_run_s, help="give up (exit 2) after this long"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    config = CampaignChaosConfig(
        recipients=args.recipients,
        seed=args.seed,
        fanout_kills=args.fanout_kills,
        dispatch_cut_off_fraction=args.cut_offs,
        max_run_s=args.max_run_s,
    )
    workdir = LOCAL / "campaign-chaos"
    print(
        f"campaign chaos: {config.recipients} recipients, seed {config.seed}, load average {os.getloadavg()[0]:.1f}; "
        f"logs in {workdir.relative_to(REPO)}/"
    )
    workdir.mkdir(parents=True, exist_ok=True)
    return finish(
        lambda: run_campaign_chaos(config, workdir),
        function_log=LOCAL / "campaign-chaos-functions.log",
        summary_path=LOCAL / "campaign-summary.json",
        details_path=workdir / "details.json",
        print_report=print_report,
        repo=REPO,
    )


if __name__ == "__main__":
    sys.exit(main())
