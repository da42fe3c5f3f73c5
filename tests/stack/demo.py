"""`make demo`: the real handlers on the embedded local stack, end to end.

Starts moto server and a STARTTLS+AUTH relay on 127.0.0.1, creates what template.yaml
declares (with DKIM keys for example.com in Secrets Manager, published by a DNS test server), enqueues
the samples in events/requests/, sends events/producers/send-request.json through each producer
(EventBridge, SNS, the S3 outbox, the HTTP API on a local server), runs the functions until every
queue is drained, prints what happened and writes .local/demo-summary.json.

Then it switches the dispatch and bounce functions to direct-to-MX delivery (DELIVERY_MODE=mx) in a
small world on loopback (tests/stack/mx_world.py: a DNS server, an MX host that refuses connections,
one that accepts, and the senders' MX for example.com) and sends events/mx-requests/: to a domain with
two MX hosts, a null-MX domain and a domain that does not exist; the DSNs go by MX lookup to
example.com's MX, not to the relay. The figures above are counted before that phase.

A handler that raises (the functions report failures per record, so that is a bug) fails the demo:
it prints the first error with its traceback and exits 1; one that raises at every invocation stops
it at once (LocalStack.drain gives up instead of waiting out its timeout).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import Any, TextIO

# The bounce function's invocations that publish no metric say so; it is noise here.
warnings.filterwarnings("ignore", message="No application metrics to publish")

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / ".local"
ROWS = [
    ("delivered", "recipients delivered by the relay"),
    ("retried", "of those, delivered after a retry (451 greylisting)"),
    ("bounced", "recipients bounced (550 at RCPT)"),
    ("dsn_delivered", "RFC 3464 reports delivered to senders"),
    ("poison", "invalid requests reported"),
    ("dlq_remaining", "dead letters nobody handled"),
    ("events", '"Email Bounced" events published'),
    ("mx_delivered", "recipients delivered by MX lookup (first MX refusing)"),
    ("mx_bounced", "recipients bounced by DNS (null MX, NXDOMAIN), each with a DSN by MX"),
    ("dkim_verified", "delivered messages whose DKIM signatures dkimpy verified"),
    ("dkim_failed", "delivered messages whose signatures did not verify"),
]


def main() -> int:
    workdir = LOCAL / "demo"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    console = sys.stdout
    # The functions log JSON to stdout, as in Lambda; keep the console for the summary.
    function_log = open(workdir / "functions.log", "w", encoding="utf-8")
    sys.stdout = function_log
    from tests.stack.event_source import HandlerKeepsFailing
    from tests.stack.local_stack import LocalStack

    started = time.monotonic()
    try:
        with LocalStack(workdir, dkim=True) as stack:
            print(
                f"moto server {stack.moto.endpoint_url}, relay 127.0.0.1:{stack.relay.port} (STARTTLS, AUTH)",
                file=console,
            )
            samples = stack.enqueue_samples()
            print(
                f"enqueued {len(samples)} send requests from events/requests/: {', '.join(p.name for p in samples)}",
                file=console,
            )
            producer_request = json.loads((REPO / "events" / "producers" / "send-request.json").read_text("utf-8"))
            stack.send_through_each_producer(producer_request)
            print(
                "sent one request through each producer: EventBridge put-events, SNS publish, S3 put, "
                f"HTTP POST {stack.api.url}/v1/messages",
                file=console,
            )
            stack.drain(timeout_s=90)
            events = stack.bounce_events()
            summary = stack.summary(events)
            summary.update(deliver_by_mx(stack, workdir, console))
            errors = stack.handler_errors()
    except HandlerKeepsFailing as failing:
        sys.stdout = console
        print(f"\nFAILED: a handler raised at every invocation; the demo stopped.\n{failing}", file=sys.stderr)
        print(f"function logs: {(workdir / 'functions.log').relative_to(REPO)}", file=sys.stderr)
        return 1
    finally:
        sys.stdout = console
        function_log.close()

    print(f"\n{summary_table(summary)}", file=console)
    print(f"\ndelivered files ({len(summary['files'])}):", file=console)
    for path in summary["files"]:
        print(f"  {Path(path).relative_to(REPO)}", file=console)
    print(
        f"\nfunction logs: {(workdir / 'functions.log').relative_to(REPO)}; took {time.monotonic() - started:.1f} s",
        file=console,
    )
    (LOCAL / "demo-summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"summary: {(LOCAL / 'demo-summary.json').relative_to(REPO)}", file=console)
    if errors:  # the functions report failures per record; an exception escaping a handler is a bug
        print(f"\nFAILED: {len(errors)} handler invocation(s) raised; the first:\n{errors[0]}", file=sys.stderr)
        return 1
    return 0


def summary_table(summary: dict[str, Any]) -> str:
    """The figures as the demo prints them (and README.md shows them)."""
    width = max(len(label) for _, label in ROWS)
    lines = [f"{'':<2}{'what':<{width}}  count"]
    lines += [f"  {label:<{width}}  {summary[key]:>5}" for key, label in ROWS]
    lines += ["", f"producers: {json.dumps(summary['producers'])} (recipients delivered by each path)"]
    return "\n".join(lines)


def deliver_by_mx(stack: Any, workdir: Path, console: TextIO) -> dict[str, Any]:
    """The MX phase: the dispatch function switched to DELIVERY_MODE=mx in a loopback world."""
    from tests.stack.mx_world import MxWorld

    with MxWorld(workdir / "mx") as world:
        print(
            f"direct to MX: DNS 127.0.0.1:{world.dns.port}, MX hosts 127.0.0.2 (refusing) and 127.0.0.3, "
            f"the senders' MX 127.0.0.4 (DSNs), on port {world.port}",
            file=console,
        )
        stack.use_mx_mode(world)
        samples = stack.enqueue_samples(REPO / "events" / "mx-requests")
        print(f"enqueued {len(samples)} from events/mx-requests/: {', '.join(p.name for p in samples)}", file=console)
        stack.drain(timeout_s=60)
        stack.bounce_events()  # the MX phase's events are not counted in "events"
        result = stack.mx_summary()
        dsns = world.dsn_messages()
    for recipient, outcome in sorted(result["mx_outcomes"].items()):
        print(f"  by MX: {recipient} {outcome}", file=console)
    print(f"  DSNs by MX to the senders' MX (mx.example.com): {len(dsns)}", file=console)
    return result


if __name__ == "__main__":
    sys.exit(main())
