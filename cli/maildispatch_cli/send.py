"""Send requests: enqueue each on the send queue (one message each), print its message key.

The file holds a send request (a JSON object) or a list of them; `-` reads standard input. Every
request is checked as the dispatch function checks it before any is sent. The queue is --queue-url
URL, or the SendQueueUrl output of --stack NAME.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from maildispatch_cli.aws import Aws
from maildispatch_cli.client import MaildispatchClient
from maildispatch_cli.errors import UsageError

NAME = "send"
HELP = "enqueue send requests (a JSON file, or - for stdin) and print their message keys"


def add_arguments(parser: argparse.ArgumentParser, parents: list[argparse.ArgumentParser]) -> None:
    parser.add_argument("request", help="a JSON file holding a request or a list of them; - reads stdin")
    parser.add_argument("--queue-url", default=None, metavar="URL", help="the send queue (default: --stack's output)")


def read_requests(source: str) -> Any:
    """The JSON document in the file (or stdin for -); UsageError for a missing file or bad JSON."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{'stdin' if source == '-' else source} is not JSON: {exc}") from None


def run(args: argparse.Namespace) -> int:
    doc = read_requests(args.request)
    if not isinstance(doc, (dict, list)):
        raise UsageError(f"{args.request}: expected a send request (a JSON object) or a list of them")
    client = MaildispatchClient(queue_url=args.queue_url, stack=getattr(args, "stack", None), aws=Aws.from_args(args))
    for key in client.send(doc if isinstance(doc, list) else [doc]):
        print(key)
    return 0
