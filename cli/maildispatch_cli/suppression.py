"""Read and edit the suppression list: the addresses maildispatch no longer sends to.

The table is --table NAME, or the SuppressionTableName output of --stack NAME. Addresses are
checked as send requests check them and kept in lower case.
"""

from __future__ import annotations

import argparse

from maildispatch.adapters.dynamodb_suppression import DynamoDbSuppressionList
from maildispatch.core.request import InvalidRequest, parse_address
from maildispatch.core.suppression import Suppression, SuppressionReason
from maildispatch_cli.aws import Aws, error_code
from maildispatch_cli.errors import CliError, UsageError

NAME = "suppression"
HELP = "list and edit the suppression list (addresses no longer sent to)"
TABLE_OUTPUT = "SuppressionTableName"
ACTIONS = {
    "list": "every suppressed address, why and since when",
    "show": "one address: suppressed or not, and why (exit 1 if not)",
    "add": "suppress an address by hand",
    "remove": "send to the address again (exit 1 if it was not on the list)",
}


def add_arguments(parser: argparse.ArgumentParser, parents: list[argparse.ArgumentParser]) -> None:
    _table_option(parser)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION", title="actions")
    for name, help_text in ACTIONS.items():
        action = actions.add_parser(name, parents=parents, help=help_text, description=f"{help_text}.")
        _table_option(action)  # before or after the action
        if name != "list":
            action.add_argument("address", help="an email address, name@domain")


def _table_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--table", default=argparse.SUPPRESS, help=f"the DynamoDB table (default: the {TABLE_OUTPUT} output of --stack)"
    )


def run(args: argparse.Namespace) -> int:
    address = _address(args.address) if args.action != "list" else ""  # a typo fails before any AWS call
    aws = Aws.from_args(args)
    table, where = _table(args, aws)
    store = DynamoDbSuppressionList(aws.client("dynamodb"), table)
    from botocore.exceptions import ClientError

    try:
        return _act(store, args.action, address)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise CliError(f"no DynamoDB table {table!r} in {aws.region_name} ({where})") from None
        raise


def _act(store: DynamoDbSuppressionList, action: str, address: str) -> int:
    if action == "list":
        for listed in store.all_now():
            print(f"{listed.address}\t{listed.summary}")
        return 0
    if action == "show":
        entry = store.find_now([address]).get(address)
        print(f"{address}\t{entry.summary}" if entry else f"{address} is not suppressed")
        return 0 if entry else 1
    if action == "remove":
        removed = store.remove_now(address)
        print(f"{address} {'removed' if removed else 'was not on the list'}")
        return 0 if removed else 1
    store.add_now([Suppression(address, SuppressionReason.MANUAL)])
    print(f"{address} suppressed")
    return 0


def _address(text: str) -> str:
    """The address as the list keys it (lower case), checked with the send request's own parser."""
    try:
        return parse_address(text, "address").address.lower()
    except InvalidRequest as exc:
        raise UsageError(exc.message) from None


def _table(args: argparse.Namespace, aws: Aws) -> tuple[str, str]:
    """The table's name, and where it came from (for the error if it does not exist)."""
    if getattr(args, "table", None):
        return args.table, "check --table and --region"
    stack = getattr(args, "stack", None)
    if not stack:
        raise UsageError(
            f"which table? pass --stack NAME (its {TABLE_OUTPUT} output) or --table NAME",
            f"maildispatch {NAME}",
        )
    return aws.stack_output(stack, TABLE_OUTPUT), f"the {TABLE_OUTPUT} output of stack {stack!r}"
