"""maildispatch COMMAND ...: one entry point for the operator tools."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from maildispatch_cli import classify_bounces, relay_check, suppression

COMMANDS: dict[str, tuple[Callable[[Sequence[str] | None], int], str]] = {
    "relay-check": (relay_check.main, "check an SMTP relay step by step and send a test email"),
    "suppression": (suppression.main, "list and edit the suppression list"),
    "classify-bounces": (classify_bounces.main, "classify a folder of returned messages"),
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help") or args[0] not in COMMANDS:
        print("usage: maildispatch COMMAND [ARGS]\n\ncommands:", file=sys.stderr)
        for name, (_, help_text) in COMMANDS.items():
            print(f"  {name:18} {help_text}", file=sys.stderr)
        return 0 if args and args[0] in ("-h", "--help") else 2
    command, rest = COMMANDS[args[0]][0], args[1:]
    return command(rest)


if __name__ == "__main__":
    sys.exit(main())
