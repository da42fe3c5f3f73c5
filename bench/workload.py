"""The work a benchmark gives the dispatch function: send requests, Lambda events, fakes for AWS.

`invoke()` is one dispatch invocation as `DispatchFunction.handle` runs it (records from the
Lambda event, one event loop, one RelayTransport, `run_records` over the service, the batch
response), with the ledger and the AWS adapters replaced by in-memory fakes that can wait a
fixed time per call, as a remote store would.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import logging
import os
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from maildispatch.adapters.smtp_relay import RelaySettings, RelayTransport
from maildispatch.core.render import TemplateSource
from maildispatch.core.report import BounceReport
from maildispatch.core.request import S3Attachment
from maildispatch.core.sqs_record import SqsRecord
from maildispatch.ports import ContentMissing, TemplateRenderer
from maildispatch.runtime.sqs_batch import batch_response, run_records
from maildispatch.services.dispatch import DispatchPolicy, DispatchService
from tests.fakes.ledger import InMemoryLedger

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:maildispatch-send"
SENDER = "Hoa Sen Shop <shop@example.com>"

# An order-shipped message: text and HTML bodies from one template with variables. Rendered and
# built, a message comes to about 2 KB (`message_size` below says exactly).
TEMPLATE = {
    "subject": "Your order #{{ order }} has shipped, {{ name }}",
    "text": (
        "Hello {{ name }},\n\n"
        "Good news: order #{{ order }} left our warehouse today and is on its way to you.\n\n"
        "{% for item in items %}  {{ item.qty }} x {{ item.title }} ({{ item.price }})\n{% endfor %}\n"
        "Tracking number: {{ tracking }}\nExpected delivery: {{ eta }}\n\n"
        "Thank you for shopping with Cửa hàng Hoa Sen.\n"
        "Questions about your order? Reply to this message or write to help@example.com; we answer within a day.\n"
        "You receive this message because you placed an order at shop.example.com.\n"
    ),
    "html": (
        "<html><body><p>Hello <b>{{ name }}</b>,</p>"
        "<p>Good news: order <strong>#{{ order }}</strong> left our warehouse today.</p><table>"
        "{% for item in items %}<tr><td>{{ item.qty }}</td><td>{{ item.title }}</td><td>{{ item.price }}</td></tr>{% endfor %}"
        "</table><p>Tracking number: <code>{{ tracking }}</code><br>Expected delivery: {{ eta }}</p>"
        "<p>Thank you for shopping with Cửa hàng Hoa Sen.</p>"
        '<p style="color:#666;font-size:12px">Questions about your order? Reply to this message or write to '
        '<a href="mailto:help@example.com">help@example.com</a>; we answer within a day. You receive this message '
        "because you placed an order at shop.example.com.</p></body></html>"
    ),
}
_TITLES = ["Lotus tea, 200 g", "Ceramic cup", "Bamboo tray", "Silk scarf", "Notebook, A5", "Incense, sandalwood"]


def request_body(index: int, run: str, *, attachment: bytes | None = None) -> str:
    """The JSON body of one send request, different for every index."""
    rng = random.Random(index)
    items = [
        {
            "qty": rng.randint(1, 3),
            "title": rng.choice(_TITLES),
            "price": f"${rng.randint(3, 90)}.{rng.randint(0, 99):02d}",
        }
        for _ in range(5)
    ]
    request: dict[str, Any] = {
        "message_key": f"bench-{run}-{index}",
        "from": SENDER,
        "to": [f"customer{index}@example.net"],
        "template": TEMPLATE,
        "variables": {
            "name": f"Customer {index}",
            "order": str(100000 + index),
            "items": items,
            "tracking": f"1Z{index:016d}",
            "eta": "Tuesday, 2 December",
        },
        "tags": {"kind": "order-shipped"},
    }
    if attachment is not None:
        request["attachments"] = [
            {
                "filename": "invoice.pdf",
                "content_type": "application/pdf",
                "content_base64": base64.b64encode(attachment).decode("ascii"),
            }
        ]
    return json.dumps(request)


def lambda_record(body: str, message_id: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def lambda_event(run: str, start: int, count: int) -> dict[str, Any]:
    """One SQS batch as Lambda hands it to the function."""
    return {"Records": [lambda_record(request_body(i, run), f"{run}-{i}") for i in range(start, start + count)]}


# Fakes for AWS. Each call waits `latency` seconds first (0: not at all), as a remote call would.


@dataclass
class LatentContentStore:
    latency: float = 0.0

    async def template(self, key: str) -> TemplateSource:
        await _wait(self.latency)
        raise ContentMissing(f"template {key!r} does not exist")

    async def attachment(self, ref: S3Attachment, *, max_bytes: int) -> bytes:
        await _wait(self.latency)
        raise ContentMissing(f"s3://{ref.bucket}/{ref.key} does not exist")


@dataclass
class LatentDeadLetters:
    latency: float = 0.0
    reports: list[BounceReport] = field(default_factory=list)

    async def send(self, report: BounceReport) -> None:
        await _wait(self.latency)
        self.reports.append(report)


@dataclass
class LatentSuppressions:
    """An empty suppression list (nobody is suppressed), for services that look one up."""

    latency: float = 0.0

    async def find(self, addresses: Sequence[str]) -> dict[str, Any]:
        await _wait(self.latency)
        return {}

    async def add(self, entries: Sequence[Any]) -> None:
        await _wait(self.latency)


async def _wait(latency: float) -> None:
    if latency:
        await asyncio.sleep(latency)


@dataclass
class Fakes:
    """The ledger and AWS adapters of one benchmark run; the ledger lives as long as the table would."""

    latency: float = 0.0
    ledger: InMemoryLedger = field(init=False)
    content: LatentContentStore = field(init=False)
    dead_letters: LatentDeadLetters = field(init=False)
    suppressions: LatentSuppressions = field(init=False)

    def __post_init__(self) -> None:
        self.ledger = InMemoryLedger(call_latency=self.latency)
        self.content = LatentContentStore(self.latency)
        self.dead_letters = LatentDeadLetters(self.latency)
        self.suppressions = LatentSuppressions(self.latency)


POLICY = DispatchPolicy(reporting_mta="bench.maildispatch.test")
_SERVICE_TAKES_SUPPRESSIONS = "suppressions" in inspect.signature(DispatchService).parameters


def dispatch_service(
    transport: RelayTransport, fakes: Fakes, invocation_id: str, renderer: TemplateRenderer | None = None
) -> DispatchService:
    # The suppression list is one more lookup per message where the service has one.
    extra: dict[str, Any] = {"suppressions": fakes.suppressions} if _SERVICE_TAKES_SUPPRESSIONS else {}
    if renderer is not None:  # else in process, on the event loop
        extra["renderer"] = renderer
    return DispatchService(
        transport, fakes.ledger, fakes.content, fakes.dead_letters, POLICY, invocation_id=invocation_id, **extra
    )  # type: ignore[arg-type]


@dataclass(frozen=True)
class Invocation:
    records: int
    seconds: float
    tally: Mapping[str, int]
    failures: int  # records in batchItemFailures

    @property
    def delivered(self) -> int:
        return int(self.tally.get("delivered", 0))

    @property
    def msgs_per_s(self) -> float:
        return self.delivered / self.seconds


class RecordError(RuntimeError):
    """A record raised inside the service: the benchmark stops rather than measure a broken path."""


async def invoke_async(
    event: Mapping[str, Any],
    relay: RelaySettings,
    fakes: Fakes,
    *,
    concurrency: int,
    transport: RelayTransport | None = None,
    invocation_id: str = "bench",
    renderer: TemplateRenderer | None = None,
) -> tuple[dict, dict[str, int]]:
    """The async part of one invocation; a given `transport` is shared (and not closed) across calls."""
    records = [SqsRecord.from_lambda(r) for r in event["Records"]]
    errors: list[BaseException] = []

    async def run(transport: RelayTransport) -> tuple[dict, dict[str, int]]:
        service = dispatch_service(transport, fakes, invocation_id, renderer)
        results = await run_records(
            records,
            service.process,
            concurrency=concurrency,
            remaining_seconds=lambda: 900.0,
            reserve_seconds=relay.timeout + 5.0,
            on_error=lambda record, error: errors.append(error),
        )
        return batch_response(results), dict(service.tally.counts)

    if transport is not None:
        response, tally = await run(transport)
    else:
        async with RelayTransport(relay) as fresh:
            response, tally = await run(fresh)
    if errors:
        raise RecordError(f"{len(errors)} record(s) raised; the first: {errors[0]!r}") from errors[0]
    return response, tally


def invoke(event: Mapping[str, Any], relay: RelaySettings, fakes: Fakes, *, concurrency: int) -> Invocation:
    """One invocation, timed as Lambda bills it: from the event to the batch response."""
    started = time.perf_counter()
    response, tally = asyncio.run(invoke_async(event, relay, fakes, concurrency=concurrency))
    seconds = time.perf_counter() - started
    return Invocation(len(event["Records"]), seconds, tally, len(response["batchItemFailures"]))


def production_logging() -> None:
    """Our modules' INFO logs (a line per message) through powertools' JSON formatter, to /dev/null.

    The functions log at INFO by default (template: LogLevel), so formatting those lines is part
    of the cost of a message.
    """
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

    sink = logging.StreamHandler(open(os.devnull, "w"))
    logger = Logger(service="maildispatch-bench", level="INFO", logger_handler=sink)
    copy_config_to_registered_loggers(source_logger=logger, include={"maildispatch"})


def sample_message() -> bytes:
    """The bytes our path hands the relay for request 0: the yardsticks send exactly this."""
    from maildispatch.core.mime import build_message, message_id_for
    from maildispatch.core.render import render_content
    from maildispatch.core.request import parse_send_request

    record = SqsRecord.from_lambda(lambda_record(request_body(0, "sample"), "sample-0"))
    request = parse_send_request(record.body)
    content = render_content(request)
    built = build_message(
        request, content, [], message_id=message_id_for("sample-0", request.from_.domain), date=record.sent_at
    )
    return built.data
