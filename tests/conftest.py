"""Shared fixtures. CI (MAILDISPATCH_REQUIRE_ALL=1, set by .ci/run) turns every skip into a failure."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from tests.hypothesis_budget import PROFILE
from tests.stack.cli import moto_env  # noqa: F401  (fixture)
from tests.stack.dns_server import dns_server  # noqa: F401  (fixture)
from tests.stack.moto_fixtures import aws_env, fresh_moto, moto_server  # noqa: F401  (fixtures)
from tests.stack.relay_fixtures import relay, relay_settings  # noqa: F401  (fixtures)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REQUIRE_ALL = os.environ.get("MAILDISPATCH_REQUIRE_ALL") == "1"

# CI explores the same examples every run: a red CI is a reproducible one. Locally, hypothesis
# keeps exploring new inputs (and remembers failures in .hypothesis/).
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True, max_examples=150)
# `make fuzz`: the hostile-input suites (@pytest.mark.fuzz) at length, each case within 2 s.
hypothesis_settings.register_profile("fuzz", max_examples=10_000, deadline=2000, print_blob=True)
if PROFILE:
    hypothesis_settings.load_profile(PROFILE)


def pytest_sessionfinish(session, exitstatus):
    """Under the fuzz profile, report the run's peak RSS (each case's own peak is checked by
    case_memory_bounded; the process also holds hypothesis's records of every case it tried)."""
    if PROFILE != "fuzz":
        return
    import resource

    from tests.hypothesis_budget import CASE_STATS

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"\nfuzz: process peak RSS {peak_mb:.0f} MB")
    if CASE_STATS["cases"]:
        print(
            f"fuzz: {CASE_STATS['cases']:.0f} cases, slowest {CASE_STATS['max_seconds']:.3f} s,"
            f" largest allocation peak {CASE_STATS['max_bytes'] / 2**10:.0f} KiB"
        )


def require_binary(name: str, package: str) -> str:
    """The path of a program from a Debian package; skip (fail in CI) with the reason when it is missing."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        pytest.skip(
            f"needs `{name}` from the Debian package `{package}`: apt-get install {package} (.ci/run installs it)"
        )
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped in CI, where everything must run: {reason}"
