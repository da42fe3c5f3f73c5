"""How many cases a property test runs: the profile's number, or a test's own smaller one in the
ordinary suite; `make fuzz` (HYPOTHESIS_PROFILE=fuzz) runs 10,000 of every @pytest.mark.fuzz test."""

from __future__ import annotations

import functools
import os
import time
import tracemalloc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

FUZZ_EXAMPLES = 10_000
PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("MAILDISPATCH_REQUIRE_ALL") == "1" else None)


def examples(usual: int) -> int:
    """`usual` cases in `make test`; FUZZ_EXAMPLES under `make fuzz`."""
    return FUZZ_EXAMPLES if PROFILE == "fuzz" else usual


CASE_MEMORY_LIMIT = 256 * 2**20  # `make fuzz`: no single case may allocate more than this
# What the cases of this process took at most (reported at the end of a `make fuzz` target; the
# time includes tracemalloc's own overhead, so it is an upper bound of a case's time).
CASE_STATS: dict[str, float] = {"cases": 0, "max_seconds": 0.0, "max_bytes": 0}


def case_memory_bounded(test: Callable[P, R]) -> Callable[P, R]:
    """Under `make fuzz`, each case (one call of `test`) allocates at most CASE_MEMORY_LIMIT at its peak.

    Goes between @given and the test function, so that it wraps every example. tracemalloc sees
    Python allocations in this process (a render worker has its own RLIMIT_AS); the run's whole RSS
    also holds hypothesis's own records of 10,000 cases, which is not a case's cost.
    """
    if PROFILE != "fuzz":
        return test

    @functools.wraps(test)
    def bounded(*args: P.args, **kwargs: P.kwargs) -> R:
        if not tracemalloc.is_tracing():
            tracemalloc.start()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        result = test(*args, **kwargs)
        took = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] - before
        CASE_STATS["cases"] += 1
        CASE_STATS["max_seconds"] = max(CASE_STATS["max_seconds"], took)
        CASE_STATS["max_bytes"] = max(CASE_STATS["max_bytes"], peak)
        assert peak <= CASE_MEMORY_LIMIT, f"one case allocated {peak / 2**20:.0f} MB at its peak"
        return result

    return bounded
