"""What the command-line harnesses (`make chaos`, `make campaign-chaos`) share around a run: the
in-process functions' log goes to a file while it runs, the summary and details are written as JSON,
and the exit code says lost or duplicated mail (1) or a run that did not settle (2)."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol


class HarnessResult(Protocol):
    summary: dict[str, Any]
    details: dict[str, Any]
    settled: bool

    @property
    def ok(self) -> bool: ...


@contextmanager
def functions_logged_to(path: Path) -> Iterator[None]:
    """The in-process functions log to stdout: into `path` while the run lasts, the console stays clean."""
    console = sys.stdout
    with open(path, "w", encoding="utf-8") as log:
        sys.stdout = log
        warnings.filterwarnings(
            "ignore", message="No application metrics to publish"
        )  # an invocation that sent nothing
        try:
            yield
        finally:
            sys.stdout = console


def finish(
    run: Callable[[], HarnessResult],
    *,
    function_log: Path,
    summary_path: Path,
    details_path: Path,
    print_report: Callable[[Any], None],
    repo: Path,
) -> int:
    """Runs, reports, writes the JSON files; the exit code: 0 all well, 1 mail lost or duplicated, 2 not settled."""
    with functions_logged_to(function_log):
        result = run()
    print_report(result)
    summary_path.write_text(json.dumps(result.summary, indent=2) + "\n", encoding="utf-8")
    details_path.write_text(json.dumps(result.details, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"  summary: {summary_path.relative_to(repo)}, details: {details_path.relative_to(repo)}")
    if not result.settled:
        return 2
    return 0 if result.ok else 1
