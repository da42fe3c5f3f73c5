"""A message's delivery state, per recipient, from the delivery ledger.

One line per recipient: address, state (queued, sending, delivered, deferred, bounced, suppressed,
uncertain) and the last reply, next attempt and last change. --recipient names recipients to list
as queued when the ledger has no row for them yet. The table is --table NAME, or the
DeliveryLedgerTableName output of --stack NAME. Exit 1 when the ledger knows nothing of the key.
"""

from __future__ import annotations

import argparse
import sys

from maildispatch_cli.aws import Aws
from maildispatch_cli.client import MaildispatchClient

NAME = "status"
HELP = "per-recipient delivery state of a message key"


def add_arguments(parser: argparse.ArgumentParser, parents: list[argparse.ArgumentParser]) -> None:
    parser.add_argument("message_key", metavar="KEY", help="the message key (as `maildispatch send` printed it)")
    parser.add_argument("--table", default=None, help="the ledger table (default: --stack's output)")
    parser.add_argument(
        "--recipient", action="append", default=[], metavar="ADDRESS", help="a recipient to list even without a row"
    )


def run(args: argparse.Namespace) -> int:
    client = MaildispatchClient(table=args.table, stack=getattr(args, "stack", None), aws=Aws.from_args(args))
    recipients = client.status(args.message_key, args.recipient)
    if not recipients:
        print(
            f"{args.message_key}: no recipient recorded (queued, unknown, or expired from the ledger)", file=sys.stderr
        )
        return 1
    for recipient in recipients:
        print(recipient.describe())
    return 0
