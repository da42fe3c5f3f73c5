"""`make fuzz`: every @pytest.mark.fuzz test at 10,000 cases, each target in a process of its own.

One process per target, so that the 256 MB limit is what one target's cases take (the conftest
checks the peak RSS of each process) and a failure names its target.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

PATHS = ["tests/fuzz", "tests/unit", "tests/integration"]


def targets() -> list[str]:
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "fuzz", "-p", "no:cacheprovider", *PATHS],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in listed.splitlines() if "::" in line]


def main() -> int:
    env = {**os.environ, "HYPOTHESIS_PROFILE": "fuzz"}
    failed = []
    for target in targets():
        started = time.monotonic()
        # the whole target may take minutes (pytest-timeout's 120 s is for the ordinary suite);
        # each case is held to hypothesis's 2 s deadline
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "timeout=3600", target]
        done = subprocess.run(command, env=env)
        print(f"fuzz: {target}: {'ok' if done.returncode == 0 else 'FAILED'} in {time.monotonic() - started:.0f} s")
        if done.returncode:
            failed.append(target)
    print(f"fuzz: {len(failed)} of {len(targets())} targets failed" + (f": {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
