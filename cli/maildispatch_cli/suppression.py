"""`maildispatch suppression list|show|add|remove`: read and edit the suppression list."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from maildispatch.adapters.dynamodb_suppression import DynamoDbSuppressionList
from maildispatch.core.suppression import REASON_MANUAL, Suppression


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="maildispatch suppression", description="List and edit the suppression list.")
    parser.add_argument("--table", required=True, help="the stack's SuppressionTableName output")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="every suppressed address, why and since when")
    for name, help_text in (
        ("show", "one address"),
        ("remove", "send to the address again"),
        ("add", "suppress an address by hand"),
    ):
        commands.add_parser(name, help=help_text).add_argument("address")
    args = parser.parse_args(argv)
    import boto3

    store = DynamoDbSuppressionList(boto3.client("dynamodb"), args.table)
    if args.command == "list":
        for entry in store.all_now():
            print(f"{entry.address}\t{entry.summary}")
        return 0
    if args.command == "show":
        entry = store.find_now([args.address]).get(args.address.lower())
        print(f"{args.address.lower()}\t{entry.summary}" if entry else f"{args.address.lower()} is not suppressed")
        return 0 if entry else 1
    if args.command == "remove":
        removed = store.remove_now(args.address)
        print(f"{args.address.lower()} {'removed' if removed else 'was not on the list'}")
        return 0 if removed else 1
    store.add_now([Suppression(args.address.lower(), REASON_MANUAL)])
    print(f"{args.address.lower()} suppressed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
