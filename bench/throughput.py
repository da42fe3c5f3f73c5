"""Throughput of the dispatch path against its yardsticks, on loopback.

CPU-bound: smtp-sink answers at once and the fakes never wait, so the figure is the cost of our
code per message, next to bare aiosmtplib sending the same bytes, the naive Python pipeline
(Jinja2 + EmailMessage + aiosmtplib, one message at a time per connection) and smtp-source (C)
as the machine's ceiling. Latency-bound: a proxy adds 20 ms to every reply and allows 10 connections,
the fakes wait 5 ms per call; the yardstick is the naive sender (stdlib smtplib, a connection
per message, one message after another).
"""

from __future__ import annotations

import asyncio
import json
import smtplib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiosmtplib

from maildispatch.adapters.smtp_relay import RelaySettings, RelayTransport

from .workload import Fakes, Invocation, invoke, invoke_async, lambda_event, request_body

ENVELOPE_SENDER = "shop@example.com"
ENVELOPE_RECIPIENT = "customer@example.net"


def relay_settings(port: int, *, max_connections: int, pipelining: bool = True, chunking: bool = True) -> RelaySettings:
    return RelaySettings(
        host="127.0.0.1",
        port=port,
        security="none",
        allow_insecure=True,
        timeout=30,
        max_connections=max_connections,
        pipelining=pipelining,
        chunking=chunking,
    )


# Yardsticks


async def _bare_aiosmtplib(port: int, message: bytes, count: int, connections: int) -> float:
    left = count

    async def worker() -> None:
        nonlocal left
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30) as smtp:
            while left > 0:
                left -= 1
                await smtp.sendmail(ENVELOPE_SENDER, [ENVELOPE_RECIPIENT], message)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started


def bare_aiosmtplib(port: int, message: bytes, count: int, *, connections: int = 20) -> float:
    """Messages per second: pre-built bytes over `connections` reused aiosmtplib connections."""
    return count / asyncio.run(_bare_aiosmtplib(port, message, count, connections))


async def _naive_python(port: int, bodies: list[str], connections: int) -> float:
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    import jinja2

    queue = list(reversed(bodies))
    plain, html_environment = jinja2.Environment(autoescape=False), jinja2.Environment(autoescape=True)
    compiled: dict[tuple[bool, str], jinja2.Template] = {}

    def template(source: str, *, html: bool = False) -> jinja2.Template:
        # Compiled once per container, as Environment.get_template() caches a file's template.
        key = (html, source)
        if key not in compiled:
            compiled[key] = (html_environment if html else plain).from_string(source)
        return compiled[key]

    def build(body: str) -> EmailMessage:
        request = json.loads(body)
        source, variables = request["template"], request["variables"]
        message = EmailMessage()
        message["From"] = request["from"]
        message["To"] = ", ".join(request["to"])
        message["Subject"] = template(source["subject"]).render(variables)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="example.com")
        message.set_content(template(source["text"]).render(variables))
        message.add_alternative(template(source["html"], html=True).render(variables), subtype="html")
        return message

    async def worker() -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=30) as smtp:
            while queue:
                await smtp.send_message(build(queue.pop()))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return time.perf_counter() - started


def naive_python(port: int, count: int, *, connections: int = 20, run: str = "naive") -> float:
    """Messages per second: the pipeline most Lambda senders write, over `connections` reused connections.

    Per message: the SQS body parsed with json.loads; subject, text and HTML rendered with Jinja2
    (each template compiled once and kept, as Environment.get_template() keeps a file's); an
    `email.message.EmailMessage` built with set_content and add_alternative; aiosmtplib's
    send_message (the email package's generator, then MAIL, RCPT, DATA, a command at a time). One
    message at a time per connection; the same requests the dispatch path gets; no ledger.
    """
    bodies = [request_body(index, run) for index in range(count)]
    return count / asyncio.run(_naive_python(port, bodies, connections))


def naive_smtplib(port: int, message: bytes, count: int) -> float:
    """Messages per second: stdlib smtplib, a new connection per message, one after another."""
    started = time.perf_counter()
    for _ in range(count):
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.sendmail(ENVELOPE_SENDER, [ENVELOPE_RECIPIENT], message)
    return count / (time.perf_counter() - started)


# Our dispatch path


@dataclass
class PathRun:
    messages: int
    seconds: float
    invocations: list[Invocation] = field(default_factory=list)

    @property
    def msgs_per_s(self) -> float:
        return self.messages / self.seconds


def dispatch_path(
    port: int,
    messages: int,
    *,
    batch: int,
    concurrency: int,
    max_connections: int,
    transport_per: str = "invocation",
    run: str = "cpu",
    render_workers: int = 0,
) -> PathRun:
    """`messages` requests in batches of `batch` through the real dispatch path, no waiting fakes.

    transport_per="invocation": a fresh RelayTransport (and event loop) per batch, as in Lambda,
    where one invocation is one batch; "run": one transport over every batch, connections kept.
    render_workers: render in that many budgeted worker processes, as deployed (0: in process).
    """
    relay = relay_settings(port, max_connections=max_connections)
    fakes = Fakes(latency=0.0)
    events = [lambda_event(run, start, min(batch, messages - start)) for start in range(0, messages, batch)]
    if transport_per == "invocation":
        started = time.perf_counter()
        invocations = [invoke(event, relay, fakes, concurrency=concurrency) for event in events]
        seconds = time.perf_counter() - started
        delivered = sum(i.delivered for i in invocations)
    else:

        async def all_batches() -> tuple[int, float]:
            renderer = None
            if render_workers:
                from maildispatch.adapters.render_worker import RenderBudget, WorkerRenderer

                renderer = WorkerRenderer(RenderBudget(workers=render_workers))
                await renderer.render(*_warm_up_job())  # the workers start before the clock does
            # A Lambda invocation holds its own batch only: each event is let go once it has run, so the
            # garbage collector does not walk the rest of the run's 20,000 records as the bench's baggage.
            pending = events[::-1]
            events.clear()
            delivered = 0
            started = time.perf_counter()
            async with RelayTransport(relay) as transport:
                while pending:
                    event = pending.pop()
                    _, tally = await invoke_async(
                        event, relay, fakes, concurrency=concurrency, transport=transport, renderer=renderer
                    )
                    delivered += tally.get("delivered", 0)
            return delivered, time.perf_counter() - started

        delivered, seconds = asyncio.run(all_batches())
        invocations = []
    if delivered != messages:
        raise RuntimeError(f"{messages - delivered} of {messages} messages were not delivered")
    return PathRun(messages, seconds, invocations)


def _warm_up_job() -> tuple:
    from maildispatch.core.request import parse_send_request

    return parse_send_request(json.loads(request_body(0, "warm-up"))), None


@dataclass(frozen=True)
class LatencyCase:
    batch: int
    concurrency: int
    max_connections: int
    pipelining: bool = True
    chunking: bool = True  # BDAT where the relay offers CHUNKING


def latency_invocations(
    port: int, case: LatencyCase, invocations: int, *, latency: float, run: str, keep_connections: bool = False
) -> list[Invocation]:
    """`invocations` invocations of `case.batch` records each, every one with a fresh transport.

    keep_connections: one event loop and one transport for all of them instead, as a warm
    container could keep its relay connections from one invocation to the next.
    """
    relay = relay_settings(
        port, max_connections=case.max_connections, pipelining=case.pipelining, chunking=case.chunking
    )
    fakes = Fakes(latency=latency)
    events = [lambda_event(f"{run}-{n}", 0, case.batch) for n in range(invocations)]
    if keep_connections:
        results = asyncio.run(_kept_connections(events, relay, fakes, case.concurrency))
    else:
        results = [invoke(event, relay, fakes, concurrency=case.concurrency) for event in events]
    for result in results:
        if result.delivered != case.batch:
            raise RuntimeError(
                f"{case}: {case.batch - result.delivered} of {case.batch} not delivered: {dict(result.tally)}"
            )
    return results


async def _kept_connections(
    events: list[dict], relay: RelaySettings, fakes: Fakes, concurrency: int
) -> list[Invocation]:
    results = []
    async with RelayTransport(relay) as transport:
        for event in events:
            started = time.perf_counter()
            response, tally = await invoke_async(event, relay, fakes, concurrency=concurrency, transport=transport)
            results.append(
                Invocation(
                    len(event["Records"]), time.perf_counter() - started, tally, len(response["batchItemFailures"])
                )
            )
    return results


def median_rate(invocations: list[Invocation]) -> float:
    return statistics.median(i.msgs_per_s for i in invocations)


def interleaved(reps: int, *measures: Callable[[], float]) -> list[list[float]]:
    """Run each measure `reps` times, taking turns, so drifting load hits them alike."""
    results: list[list[float]] = [[] for _ in measures]
    for _ in range(reps):
        for index, measure in enumerate(measures):
            results[index].append(measure())
    return results
