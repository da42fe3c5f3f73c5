"""`maildispatch campaign start|status|pause|resume|cancel|bad-rows`: batch campaigns from the command line.

    maildispatch campaign start campaign.json                 # the document POST /v1/campaigns takes
    maildispatch campaign start --list s3://BUCKET/lists/spring.csv --from news@example.com \\
        --template-key newsletter/spring --subject "Spring" [--id spring-sale] [--start-at ISO]
        [--send-by ISO] [--rate N] [--require VAR ...] [--stream NAME]
    maildispatch campaign status ID [--watch [--interval S]] [--json]
    maildispatch campaign pause|resume|cancel ID
    maildispatch campaign bad-rows ID [--limit N]

The campaign table, fan-out queue and ledger come from --stack's outputs (CampaignTableName,
FanoutQueueUrl, DeliveryLedgerTableName) or --campaign-table, --fanout-queue-url and --ledger-table.
`status --watch` redraws a progress bar until the campaign is finished, cancelled or expired.

`start` first prints the sender check of the From domain (as `maildispatch check-sender` would, on
stderr, informational: the fan-out runs it again before the first send, and a failure pauses the
campaign); --no-check skips it, as does `"preflight": false` in the document. With --stack the relay,
mode, DKIM keys and one-click URL are the deployed ones; --nameserver/--dns-port ask a given server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from maildispatch.adapters.campaign_aws import SqsFanoutTrigger
from maildispatch.adapters.dynamodb_campaigns import DynamoDbCampaignStore, DynamoDbLedgerCounts
from maildispatch.core.campaign import CampaignStatus, InvalidCampaign, TransitionRefused, parse_campaign
from maildispatch.services.campaigns import CampaignControl, CampaignExists, NoSuchCampaign
from maildispatch_cli.aws import Aws
from maildispatch_cli.errors import CliError, UsageError

NAME = "campaign"
HELP = "start, watch, pause, resume or cancel a batch campaign"
FINAL_STATES = ("finished", "cancelled", "expired")


def add_arguments(parser: argparse.ArgumentParser, parents: list[argparse.ArgumentParser]) -> None:
    parser.add_argument("--campaign-table", default=None, help="default: --stack's CampaignTableName output")
    parser.add_argument("--fanout-queue-url", default=None, help="default: --stack's FanoutQueueUrl output")
    parser.add_argument("--ledger-table", default=None, help="default: --stack's DeliveryLedgerTableName output")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    start = actions.add_parser("start", help="create a campaign and start (or schedule) its fan-out")
    start.add_argument("file", nargs="?", help="a campaign document (JSON); '-' reads stdin")
    start.add_argument("--id", help="the campaign id (default: one is made)")
    start.add_argument("--list", metavar="S3_URL", help="s3://bucket/key of the recipient list (CSV or JSON Lines)")
    start.add_argument("--format", choices=("csv", "jsonl"), help="default: from the key (.jsonl) else csv")
    start.add_argument("--from", dest="sender", help="the sender")
    start.add_argument("--template-key", help="a stored template (under templates/ in the content bucket)")
    start.add_argument("--subject")
    start.add_argument("--text-file", type=Path, help="an inline template's text body")
    start.add_argument("--html-file", type=Path, help="an inline template's HTML body")
    start.add_argument("--stream")
    start.add_argument("--start-at", help="ISO 8601 with a zone")
    start.add_argument("--send-by", help="ISO 8601 with a zone: nothing is sent after it")
    start.add_argument("--rate", type=float, help="recipients per second, at most")
    start.add_argument("--require", action="append", default=[], metavar="VAR", help="a row without VAR is a bad row")
    start.add_argument("--no-check", action="store_true", help="do not print the From domain's sender check first")
    start.add_argument("--one-click-url", metavar="URL", help="the check's one-click URL (default: the stack's)")
    start.add_argument("--nameserver", action="append", default=[], metavar="IP", help="the check asks this server")
    start.add_argument("--dns-port", type=int, default=53, help="its port (default: 53)")

    status = actions.add_parser("status", help="recipients by state, rate and ETA")
    status.add_argument("campaign_id", metavar="ID")
    status.add_argument("--watch", action="store_true", help="a live progress bar until the campaign ends")
    status.add_argument("--interval", type=float, default=2.0, help="seconds between two readings (--watch)")
    status.add_argument("--json", action="store_true", help="the status document")
    for action in ("pause", "resume", "cancel"):
        sub = actions.add_parser(action, help=f"{action} the campaign")
        sub.add_argument("campaign_id", metavar="ID")
    bad = actions.add_parser("bad-rows", help="the rows that could not be used, and why")
    bad.add_argument("campaign_id", metavar="ID")
    bad.add_argument("--limit", type=int, default=100)


def control_for(args: argparse.Namespace, aws: Aws) -> CampaignControl:
    stack = getattr(args, "stack", None)

    def where(given: str | None, output: str, option: str) -> str:
        if given:
            return given
        if not stack:
            raise UsageError(f"no {option}: give it, or the stack whose {output} output names it (--stack)")
        return aws.stack_output(stack, output)

    executor = ThreadPoolExecutor(max_workers=16)
    ddb = aws.client("dynamodb")
    return CampaignControl(
        DynamoDbCampaignStore(ddb, where(args.campaign_table, "CampaignTableName", "--campaign-table"), executor),
        SqsFanoutTrigger(
            where(args.fanout_queue_url, "FanoutQueueUrl", "--fanout-queue-url"), client=aws.client("sqs")
        ),
        DynamoDbLedgerCounts(ddb, where(args.ledger_table, "DeliveryLedgerTableName", "--ledger-table"), executor),
        events=None,  # events come from the functions; the command line only changes the state
    )


def run(args: argparse.Namespace) -> int:
    aws = Aws.from_args(args)
    try:
        if args.action == "start":
            doc = campaign_document(args)
            control = control_for(args, aws)
            if not args.no_check:
                print_sender_check(args, doc)
            record = asyncio.run(control.create(doc))
            print(f"{record.campaign_id}\t{record.state.value}")
            return 0
        control = control_for(args, aws)
        if args.action == "status":
            return watch(control, args) if args.watch else show(control, args)
        if args.action == "bad-rows":
            asyncio.run(control.get(args.campaign_id))
            for row in asyncio.run(control.bad_rows(args.campaign_id, limit=args.limit)):
                print(f"row {row.row}\t{row.field}\t{row.problem}")
            return 0
        action = {"pause": control.pause, "resume": control.resume, "cancel": control.cancel}[args.action]
        record = asyncio.run(action(args.campaign_id))
        print(f"{record.campaign_id}\t{record.state.value}")
        return 0
    except InvalidCampaign as error:
        raise UsageError(f"the campaign: {error}") from None
    except (NoSuchCampaign, CampaignExists, TransitionRefused) as error:
        raise CliError(str(error)) from None


def campaign_document(args: argparse.Namespace) -> dict[str, Any]:
    if args.file:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        try:
            loaded = json.loads(text)
        except ValueError as error:
            raise UsageError(f"{args.file}: not JSON ({error})") from None
        if not isinstance(loaded, dict):
            raise UsageError(f"{args.file}: a JSON object")
        return dict(loaded)
    if not args.list or not args.list.startswith("s3://") or "/" not in args.list[5:]:
        raise UsageError("give a campaign FILE, or --list s3://bucket/key with --from and a template")
    bucket, _, key = args.list[5:].partition("/")
    template: dict[str, Any]
    if args.template_key:
        template = {"key": args.template_key}
    else:
        template = {}
        if args.text_file:
            template["text"] = args.text_file.read_text(encoding="utf-8")
        if args.html_file:
            template["html"] = args.html_file.read_text(encoding="utf-8")
    doc: dict[str, Any] = {"list": {"bucket": bucket, "key": key}, "from": args.sender, "template": template}
    if args.format:
        doc["list"]["format"] = args.format
    optional = {
        "id": args.id,
        "subject": args.subject,
        "stream": args.stream,
        "start_at": args.start_at,
        "send_by": args.send_by,
        "rate": args.rate,
        "required_variables": args.require or None,
    }
    doc.update({k: v for k, v in optional.items() if v is not None})
    if doc["from"] is None:
        raise UsageError("--from is required (or give a campaign FILE)")
    return doc


def print_sender_check(args: argparse.Namespace, doc: dict[str, Any], *, out: Any = None) -> None:
    """The From domain's sender check, as the fan-out will run it before the first send: informational."""
    from maildispatch.adapters.dns_resolver import ResolverSettings
    from maildispatch_cli import check_sender

    out = out or sys.stderr
    try:
        spec = parse_campaign(doc)
    except InvalidCampaign:
        return  # said by create, next
    if not spec.preflight:
        return
    stack = getattr(args, "stack", None)
    parameters = Aws.from_args(args).stack_parameters(stack) if stack else {}
    url = args.one_click_url or parameters.get("UnsubscribeBaseUrl") or None
    if url is None and stack:
        url = Aws.from_args(args).stack_outputs(stack).get("MailApiUrl")
    check_args = argparse.Namespace(
        **{
            **vars(args),
            "domain": spec.sender_domain,
            "mode": parameters.get("DeliveryMode") or "relay",
            "relay_host": None,
            "spf_include": None,
            "envelope_domain": None,
            "egress_ip": parameters.get("MxEgressIp") or None,
            "helo_name": parameters.get("MxHeloName") or parameters.get("ReportingMta") or None,
            "dkim_domain": None,
            "selector": None,
            "key_file": None,
            "key_secret": None,
            "ed25519_selector": None,
            "ed25519_key_file": None,
            "ed25519_key_secret": None,
            "bulk_stream": [spec.stream or "campaign"],
            "one_click_url": url,
            "sample_message": None,
        }
    )
    try:
        setup = replace(check_sender.setup_from(check_args), dkim_required=False)
    except UsageError as error:
        print(f"sender check of {spec.sender_domain} not run: {error}", file=out)
        return
    dns = ResolverSettings(
        nameservers=tuple(args.nameserver), port=args.dns_port, timeout=2.0, lifetime=3.0, cache=False
    )
    lines = asyncio.run(check_sender.check(setup, dns))
    print(f"sender check of {spec.sender_domain} (the fan-out runs it again before the first send):", file=out)
    print(check_sender.format_lines(lines), file=out)
    if any(line.failed for line in lines):
        print("a failed check pauses the campaign before anything is sent (fix the DNS, then resume)", file=out)


def show(control: CampaignControl, args: argparse.Namespace) -> int:
    status = asyncio.run(control.status(args.campaign_id))
    if args.json:
        print(json.dumps(status.to_document(), indent=2))
        return 0
    for name, value in status.to_document().items():
        if value is not None:
            print(f"{name:16}{value}")
    return 0


def watch(control: CampaignControl, args: argparse.Namespace, *, out: Any = None, sleep: Any = time.sleep) -> int:
    out = out or sys.stdout
    tty = out.isatty()
    while True:
        status = asyncio.run(control.status(args.campaign_id))
        line = progress_line(status)
        out.write(("\r" + line + "\x1b[K") if tty else line + "\n")
        out.flush()
        if status.state.value in FINAL_STATES:
            if tty:
                out.write("\n")
            return 0
        sleep(max(0.2, args.interval))


def progress_line(status: CampaignStatus, width: int = 30) -> str:
    """[#########.....]  62%  620/1000 final | sent 600 bounced 12 deferred 30 | 41.2/s ETA 9s | running"""
    doc = status.to_document()
    total = max(1, status.checkpoint.enqueued)
    share = status.final / total if status.checkpoint.done else status.final / total * 0.999
    filled = min(width, int(share * width))
    bar = "#" * filled + "." * (width - filled)
    rate = f"{doc['rate_per_s']}/s" if doc["rate_per_s"] is not None else "-/s"
    eta = _duration(doc["eta_s"]) if doc["eta_s"] is not None else "-"
    read = "" if status.checkpoint.done else f" (list read to row {status.checkpoint.row})"
    return (
        f"[{bar}] {share:4.0%} {status.final}/{status.checkpoint.enqueued} final{read} | sent {doc['sent']} "
        f"bounced {doc['bounced']} deferred {doc['deferred']} suppressed {doc['suppressed']} | {rate} ETA {eta} "
        f"| {status.state.value}" + (f" ({status.reason})" if status.reason else "")
    )


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
