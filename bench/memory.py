"""Peak memory of one dispatch invocation, measured in a child process of its own.

    python -m bench.memory --event EVENT.json --port PORT --concurrency N --max-connections M

The child imports what the function imports, reads the event as Lambda's runtime receives it
(raw JSON bytes, kept while the handler runs) and parses it, runs one invocation of the dispatch
path against the SMTP server on PORT, and prints its ru_maxrss and what it delivered as JSON.
`measure()` writes a batch of send requests with inline attachments and runs that child.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mib() -> float:
    return _status_mib("VmRSS:")


def _reset_peak() -> bool:
    """Reset the process's peak RSS (VmHWM) to its current RSS (Linux 4.0+); False where that cannot be done."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def write_event(path: Path, records: int, attachment_bytes: int) -> int:
    """A Lambda SQS event of `records` send requests, each with its own random attachment; returns its size."""
    from .workload import lambda_record, request_body

    with path.open("w", encoding="ascii") as out:
        out.write('{"Records": [')
        for index in range(records):
            body = request_body(index, "memory", attachment=os.urandom(attachment_bytes))
            out.write(("," if index else "") + json.dumps(lambda_record(body, f"memory-{index}")))
        out.write("]}")
    return path.stat().st_size


def child(args: argparse.Namespace) -> None:
    from .throughput import relay_settings
    from .workload import Fakes, invoke, production_logging

    production_logging()  # powertools is loaded in the function too
    baseline = _rss_mib()
    raw = args.event.read_bytes()  # what the runtime receives; it keeps it while the handler runs
    event = json.loads(raw)  # decodes the bytes to one str first: three copies of the event at its peak
    parsed = _rss_mib()
    parse_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    invocation_peak = parsed_after_reset = None
    if _reset_peak():  # from here on the high-water mark is the invocation's own
        parsed_after_reset = _status_mib("VmHWM:")
    relay = relay_settings(args.port, max_connections=args.max_connections)
    result = invoke(event, relay, Fakes(latency=0.0), concurrency=args.concurrency)
    if parsed_after_reset is not None:
        invocation_peak = _status_mib("VmHWM:")
    # The process's peak: ru_maxrss follows VmHWM, so after a reset it no longer covers the parse.
    peak = max(parse_peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(
        json.dumps(
            {
                "peak_rss_mb": round(peak, 1),
                "baseline_rss_mb": round(baseline, 1),
                "after_event_parsed_rss_mb": round(parsed, 1),
                "peak_while_parsing_event_mb": round(parse_peak, 1),
                "peak_during_invocation_mb": None if invocation_peak is None else round(invocation_peak, 1),
                "records": result.records,
                "delivered": result.delivered,
                "seconds": round(result.seconds, 2),
                "event_mb": round(len(raw) / 2**20, 1),
            }
        )
    )


def measure(
    work: Path, port: int, *, records: int, attachment_bytes: int, concurrency: int, max_connections: int
) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    event = work / "memory-event.json"
    try:
        write_event(event, records, attachment_bytes)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "layers" / "maildispatch")]))
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.memory",
                "--event",
                str(event),
                "--port",
                str(port),
                "--concurrency",
                str(concurrency),
                "--max-connections",
                str(max_connections),
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        event.unlink(missing_ok=True)
    if result.returncode != 0:
        raise RuntimeError(f"the memory child failed:\n{result.stderr[-3000:]}")
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    if measured["delivered"] != records:
        raise RuntimeError(f"the memory child delivered {measured['delivered']} of {records}")
    return {
        **measured,
        "attachment_kb": attachment_bytes // 1024,
        "concurrency": concurrency,
        "max_connections": max_connections,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n")[0])
    parser.add_argument("--event", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--max-connections", type=int, required=True)
    child(parser.parse_args())


if __name__ == "__main__":
    main()
