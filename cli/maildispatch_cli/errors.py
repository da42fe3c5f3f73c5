"""The command line's expected failures: each becomes one line `maildispatch: error: ...` on stderr.

`CliError` is an operation that failed (exit 1); `UsageError` is a command line that cannot work
as given (exit 2): a missing or wrong option, an invalid address. `ArgumentParser` raises
`UsageError` instead of printing its usage and exiting, so parse errors read the same way.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

EXIT_FAILED = 1
EXIT_USAGE = 2


class CliError(Exception):
    """An expected failure, said in one line a person can act on."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(CliError):
    """The command line cannot work as given. `prog` names the (sub)command, for the --help hint."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, prog: str | None = None) -> None:
        super().__init__(f"{message} (see: {prog} --help)" if prog else message)


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a parse error raises UsageError (one line, exit 2) instead of printing the usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.prog)
