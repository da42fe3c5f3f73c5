"""Worst-case memory of one dispatch invocation: the biggest batch that can arrive, each message at the size limit.

    python -m bench.memory_worst_case --child --event EVENT.json --env ENV.json

One invocation of the real dispatch handler (functions/dispatch/app.py, the template's
environment) on `BatchSize` records (the template's default), each a send request whose message
comes to about MAX_MESSAGE_BYTES with its attachments in S3, at the template's
DISPATCH_CONCURRENCY and SMTP_MAX_CONNECTIONS. The AWS side is a moto server (its own process)
provisioned from template.yaml, so the attachments come through boto3 as they would from S3; the
relay is smtp-sink. The figure is the peak RSS (VmHWM) of the process that ran the handler, from
just before the event is parsed; the render workers (processes of their own, which Lambda counts
too) are given besides. The target is 80 % of the function's MemorySize.

`measure()` runs the parent side: moto, the stack, the attachments, the event, the child.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from . import template_facts

REPO = Path(__file__).resolve().parents[1]
ATTACHMENTS_PER_MESSAGE = 3
HEADROOM_FOR_TEXT_BYTES = 32 * 1024  # headers and the rendered text and HTML parts
TARGET_SHARE = 0.8  # of MemorySize


def attachment_bytes_for(max_message_bytes: int, attachments: int) -> int:
    """Raw bytes per attachment so that the message (base64: 57 bytes a 78-byte line) stays just under the limit."""
    encoded_budget = max_message_bytes - HEADROOM_FOR_TEXT_BYTES - 512 * attachments  # part headers
    return (encoded_budget // attachments) // 78 * 57


def _status_kib(pid: int | str, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def child(args: argparse.Namespace) -> None:
    os.environ.update(json.loads(args.env.read_text()))
    from tests.stack.lambda_context import FakeLambdaContext

    spec = importlib.util.spec_from_file_location("dispatch_app", REPO / "functions" / "dispatch" / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # reads its settings at import, as in Lambda
    tally: dict[str, int] = {}
    handle = module.dispatch.handle

    def handle_and_keep_tally(event: Any, context: Any) -> Any:  # the handler returns only the batch response
        response, counts = handle(event, context)
        tally.update(counts)
        return response, counts

    module.dispatch.handle = handle_and_keep_tally
    baseline = _status_kib("self", "VmRSS:") / 1024
    Path("/proc/self/clear_refs").write_text("5")  # from here on the high-water mark is the invocation's
    raw = args.event.read_bytes()
    event = json.loads(raw)
    started = time.perf_counter()
    response = module.handler(event, FakeLambdaContext("DispatchFunction", 900))
    seconds = time.perf_counter() - started
    peak = _status_kib("self", "VmHWM:") / 1024
    workers = [_status_kib(pid, "VmHWM:") / 1024 for pid in _children(os.getpid())]
    print(
        json.dumps(
            {
                "peak_rss_mb": round(peak, 1),
                "baseline_rss_mb": round(baseline, 1),
                "render_workers": len(workers),
                "render_workers_peak_rss_mb": round(sum(workers), 1),
                "failures": len(response["batchItemFailures"]),
                "delivered": tally.get("delivered", 0),
                "counts": tally,
                "seconds": round(seconds, 2),
            }
        )
    )
    os._exit(0)  # the workers and the kept connections go with the process


def _send_request(index: int, bucket: str, keys: list[str]) -> str:
    from .workload import request_body

    request = json.loads(request_body(index, "worst-case"))
    request["attachments"] = [
        {"filename": f"scan-{n}.pdf", "content_type": "application/pdf", "s3": {"bucket": bucket, "key": key}}
        for n, key in enumerate(keys)
    ]
    return json.dumps(request)


def measure(work: Path, sink_port: int) -> dict[str, Any]:
    """Provision moto from the template, put the attachments, run the child; the results as a dict."""
    from tests.stack.local_stack import TEMPLATE_PARAMETERS
    from tests.stack.moto import MotoServer, aws_client, local_aws_environment
    from tests.stack.provision import provision_from_template

    from .workload import lambda_record

    environment = template_facts.function_environment("DispatchFunction")
    batch = int(template_facts.parameter_default("BatchSize") or 10)
    memory_size = template_facts.memory_size("DispatchFunction")
    max_message_bytes = int(environment.get("MAX_MESSAGE_BYTES", 10 * 1024 * 1024))
    concurrency = int(environment.get("DISPATCH_CONCURRENCY", 32))
    size = attachment_bytes_for(max_message_bytes, ATTACHMENTS_PER_MESSAGE)
    work.mkdir(parents=True, exist_ok=True)
    event_file, env_file = work / "worst-case-event.json", work / "worst-case-env.json"
    with MotoServer() as moto:
        stack = provision_from_template(
            template_facts.TEMPLATE,
            endpoint_url=moto.endpoint_url,
            name_prefix="bench" + uuid.uuid4().hex[:6],
            parameters=TEMPLATE_PARAMETERS,
        )
        bucket = stack.name("ContentBucket")
        s3 = aws_client("s3", moto.endpoint_url)
        records = []
        for index in range(batch):  # every message its own objects, as producers would upload them
            keys = [f"attachments/worst-case/{index}-{n}.pdf" for n in range(ATTACHMENTS_PER_MESSAGE)]
            for key in keys:
                s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(size))
            records.append(lambda_record(_send_request(index, bucket, keys), f"worst-case-{index}"))
        event_file.write_text(json.dumps({"Records": records}), encoding="ascii")
        env = {
            **stack.function_environment("DispatchFunction"),
            **local_aws_environment(moto.endpoint_url),
            # smtp-sink instead of the relay in SSM: inline relay settings take precedence
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(sink_port),
            "SMTP_SECURITY": "none",
            "SMTP_ALLOW_INSECURE": "true",
            "POWERTOOLS_SERVICE_NAME": "DispatchFunction",
            "POWERTOOLS_DEV": "false",
            "POWERTOOLS_METRICS_NAMESPACE": "bench",
        }
        env_file.write_text(json.dumps(env))
        try:
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.memory_worst_case",
                    "--child",
                    "--event",
                    str(event_file),
                    "--env",
                    str(env_file),
                ],
                cwd=REPO,
                env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "layers" / "maildispatch")])),
                capture_output=True,
                text=True,
                timeout=600,
            )
        finally:
            event_file.unlink(missing_ok=True)
            env_file.unlink(missing_ok=True)
    if result.returncode != 0:
        raise RuntimeError(f"the worst-case memory child failed:\n{result.stderr[-3000:]}")
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    if measured["failures"] or measured["delivered"] != batch:
        raise RuntimeError(f"the worst-case invocation delivered {measured['delivered']} of {batch}: {measured}")
    return {
        "worst_case_peak_rss_mb": measured["peak_rss_mb"],
        "worst_case": {
            **measured,
            "records": batch,
            "batch_size_is": "the template's default BatchSize",
            "max_message_bytes": max_message_bytes,
            "attachments_per_message": ATTACHMENTS_PER_MESSAGE,
            "attachment_bytes": size,
            "concurrency": concurrency,
            "max_connections": int(environment.get("SMTP_MAX_CONNECTIONS", 5)),
            "memory_size_mb": memory_size,
            "ratio_to_memory_size": round(measured["peak_rss_mb"] / memory_size, 3),
            "with_render_workers_ratio_to_memory_size": round(
                (measured["peak_rss_mb"] + measured["render_workers_peak_rss_mb"]) / memory_size, 3
            ),
            "what": "one invocation of functions/dispatch/app.py's handler, S3 (moto) attachments, relay smtp-sink; "
            "peak RSS from just before the event is parsed",
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory_worst_case", description=__doc__.split("\n")[0])
    parser.add_argument("--child", action="store_true", required=True)
    parser.add_argument("--event", type=Path, required=True)
    parser.add_argument("--env", type=Path, required=True)
    child(parser.parse_args())


if __name__ == "__main__":
    main()
