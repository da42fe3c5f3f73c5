"""`maildispatch [--region R] [--profile P] [--endpoint-url URL] [--stack NAME] COMMAND ...`

One parser with a subcommand per tool. A command module has NAME, HELP, `add_arguments(parser,
parents)`, `run(args) -> exit code` and optionally DESCRIPTION (default: its docstring). Every expected failure
ends as one line `maildispatch: error: ...` on stderr, exit 2 for a command line that cannot work
and 1 for an operation that failed; anything unexpected says its type and suggests --debug, which
shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from maildispatch_cli import (
    aws,
    campaign,
    check_sender,
    classify_bounces,
    preview,
    relay_check,
    send,
    status,
    suppression,
)
from maildispatch_cli.errors import EXIT_FAILED, ArgumentParser, CliError

PROG = "maildispatch"
COMMANDS = (
    relay_check,
    check_sender,
    suppression,
    classify_bounces,
    send,
    status,
    preview,
    campaign,
)  # later issues add theirs here
AWS_COMMANDS = frozenset(
    {suppression.NAME, send.NAME, status.NAME, preview.NAME, check_sender.NAME, campaign.NAME}
)  # these also take the AWS options after the command


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Operator tools for maildispatch (serverless email dispatch on AWS).",
        epilog=f"`{PROG} COMMAND --help` describes a command. The AWS options may also follow the command.",
        parents=[aws.options(), _debug_option()],
    )
    # parents are plain argparse parsers; the subcommands are ours (errors.ArgumentParser)
    commands: Any = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    for command in COMMANDS:
        parents = [_debug_option()] + ([aws.options()] if command.NAME in AWS_COMMANDS else [])
        parser_of_command = commands.add_parser(
            command.NAME,
            parents=parents,
            help=command.HELP,
            description=getattr(command, "DESCRIPTION", command.__doc__),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser_of_command.set_defaults(run=command.run)
        command.add_arguments(parser_of_command, parents)
    return parser


def _debug_option() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of an unexpected error"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments
    try:
        args = build_parser().parse_args(arguments)
        return int(args.run(args))
    except CliError as exc:
        _error(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:  # the reader went away (maildispatch suppression list | head): stop quietly
        _silence_stdout()
        return EXIT_FAILED
    except Exception as exc:
        if debug:
            traceback.print_exc()
        explained = aws.explain(exc)
        if explained is None:
            explained = f"unexpected {type(exc).__name__}: {exc}"
            if not debug:
                explained += " (rerun with --debug to see the traceback)"
        _error(explained)
        return EXIT_FAILED


def _error(message: str) -> None:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
