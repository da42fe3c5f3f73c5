"""Untrusted templates in budgeted worker processes: hostile templates end in a named RenderError
within their budget, the other renders and records go on, and no worker is left behind."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maildispatch.adapters.render_worker import RenderBudget, WorkerRenderer
from maildispatch.core.render import RenderError, TemplateSource
from maildispatch.core.request import SendRequest, parse_send_request
from maildispatch.runtime.sqs_batch import run_records
from maildispatch.services.dispatch import DispatchPolicy, DispatchService
from tests.fakes.ledger import InMemoryLedger
from tests.fakes.services import CollectingDeadLetters, FakeContentStore, ManualClock, ScriptedTransport, sqs_record
from tests.hypothesis_budget import case_memory_bounded, examples

# The wall-clock backstop is set far out so that, however loaded the machine, the CPU and memory
# limits are what stop a hostile template here (the backstop has its own test below).
BUDGET = RenderBudget(cpu_seconds=0.5, memory_mb=128, workers=2, wall_seconds=30)
SECRET = "RESET-TOKEN-123"
VARIABLES = {"name": "An", "user": {"email": "an@example.net"}, "token": SECRET, "items": [1, 2, 3]}

# payload -> what the error names (budget 0.5 s CPU, 128 MiB).
PAYLOADS = {
    # CPU
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}": "ranges would count",
    "{% for x in 'x'*2000000 %}{% for y in 'x'*2000000 %}{% endfor %}{% endfor %}": "CPU budget (0.5 s)",
    "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}": "recursion too deep",
    "{{ lipsum(n=1000000) }}": "lipsum",
    "{{ lipsum(n=5, min=1000000, max=1000000) }}": "lipsum",
    "{{ ('x'*100000)|wordwrap(1) }}": "|wordwrap width 1",
    "{{ ('word '*400000)|wordwrap(79) }}": "|wordwrap of 2000000 characters",
    "{{ 9 ** 10000000 }}": "'**' would build",
    # memory
    "{{ 'x'.ljust(10**9) }}": "str.ljust width",
    "{{ 'x'.center(10**9) }}": "str.center width",
    "{{ '%1000000000d' % 1 }}": "%-format width",
    "{{ '%.1000000000f' % 1 }}": "%-format width",
    "{{ '%*d' % (1000000000, 1) }}": "%-format width",
    "{{ '%1000000000d'|format(1) }}": "%-format width",
    "{{ '{:>1000000000}'.format('x') }}": "str.format width",
    "{{ '{:{w}}'.format('x', w=1000000000) }}": "str.format argument",
    "{{ 'x'|center(1000000000) }}": "|center width",
    "{{ 'a\nb'|indent(1000000000) }}": "|indent width",
    "{{ [1]|batch(1000000000, 0)|list }}": "|batch width",
    "{{ [1]|slice(1000000000)|list }}": "|slice width",
    "{{ (['x'*2000000]*200)|join|length }}": "memory budget (128 MiB)",
    "{{ ('x'*2000000).split('')|length }}": "ValueError",
    "{% set ns = namespace(a=['x']) %}{% for i in range(40) %}{% set ns.a = ns.a + ns.a %}{% endfor %}"
    "{{ ns.a|length }}": "budget",
    "{{ 'x' * 3000000 }}": "'*' would build",
    "{% for i in range(30000) %}{{ 'y' * 1000 }}{% endfor %}": "renders to more than",
    # compile time
    "{{ 1[0] and 1 }}": "cannot compile",
    "{{ 1/0 if 1 else 2 }}": "ZeroDivisionError",
    "{% for %}": "syntax error on line 1",
    "{{ " + "(" * 2000 + "1" + ")" * 2000 + " }}": "",  # a parser recursion: any named RenderError
    # sandbox escapes
    "{{ ''.__class__.__mro__ }}": "unsafe",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}": "unsafe",
    "{{ cycler.__init__.__globals__ }}": "unsafe",
    "{{ joiner.__init__.__globals__.os }}": "unsafe",
    "{{ namespace.__init__.__globals__ }}": "unsafe",
    "{{ lipsum.__globals__ }}": "unsafe",
    "{{ range.__self__ }}": "",
    "{{ self._TemplateReference__context }}": "unsafe",
    "{{ self.__init__.__globals__ }}": "unsafe",
    "{{ ''|attr('__class__') }}": "unsafe",
    "{{ items.append(4) }}": "unsafe",
    "{{ user.update({'a': 1}) }}": "unsafe",
    "{{ config }}": "'config' is undefined",
    "{{ request }}": "'request' is undefined",
    "{{ config.__class__.__init__.__globals__['os'].popen('id').read() }}": "unsafe",
    "{% include '/etc/passwd' %}": "",
    "{% import 'x' as y %}": "",
    "{% extends 'base' %}": "",
    "{{ '\\ud800' }}": "surrogate",
    # error messages must not echo values
    "{{ user[token] }}": "has no attribute '…'",
    "{{ {}[token] }}": "has no attribute '…'",
    "{{ token|int(base=2) + token }}": "TypeError",
    "{{ token.foo() }}": "undefined",
}


def request(text: str, **variables: object) -> SendRequest:
    return parse_send_request(
        {
            "from": "shop@example.com",
            "to": ["an@example.net"],
            "template": {"subject": "Hi {{ name }}", "text": text},
            "variables": {**VARIABLES, **variables},
        }
    )


@pytest.fixture(scope="module")
def renderer() -> Iterator[WorkerRenderer]:
    pool = WorkerRenderer(BUDGET)
    yield pool
    pids = pool.worker_pids
    pool.close()
    assert not [pid for pid in pids if _exists(pid)], "workers left behind (zombies or alive)"


def _exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def render(renderer: WorkerRenderer, req: SendRequest, template: TemplateSource | None = None):
    return asyncio.run(renderer.render(req, template))


def test_a_good_template_renders_in_a_worker(renderer: WorkerRenderer) -> None:
    content = render(renderer, request("Hello {{ name }}, {{ items|sum }}"))
    assert (content.subject, content.text, content.html) == ("Hi An", "Hello An, 6", None)


@pytest.mark.parametrize("payload", list(PAYLOADS))
def test_a_hostile_template_is_a_named_render_error_within_its_budget(renderer: WorkerRenderer, payload: str) -> None:
    render(renderer, request("warm"))  # a worker replaced after the last breach starts outside the timing
    with pytest.raises(RenderError) as caught:
        render(renderer, request(payload))
    assert PAYLOADS[payload] in str(caught.value)
    assert SECRET not in str(caught.value)
    assert render(renderer, request("still {{ name }}")).text == "still An"  # the pool recovers


def test_one_slow_render_does_not_hold_up_the_others(renderer: WorkerRenderer) -> None:
    hog = request("{% for x in 'x'*2000000 %}{% for y in 'x'*2000000 %}{% endfor %}{% endfor %}")

    async def scenario() -> tuple[bool, BaseException]:
        await asyncio.gather(*(renderer.render(request("warm"), None) for _ in range(BUDGET.workers)))
        slow = asyncio.ensure_future(renderer.render(hog, None))
        await asyncio.sleep(0.05)  # the hog holds a worker

        async def good(i: int) -> None:
            content = await renderer.render(request(f"good {i} {{{{ name }}}}"), None)
            assert content.text == f"good {i} An"

        await asyncio.gather(*(good(i) for i in range(20)))
        hog_still_running = not slow.done()  # every good render finished while the hog held its worker
        with pytest.raises(RenderError) as caught:
            await slow
        return hog_still_running, caught.value

    hog_still_running, error = asyncio.run(scenario())
    assert hog_still_running, "good renders waited for the hog"
    assert "CPU budget" in str(error)


def test_a_render_stuck_past_the_wall_clock_is_killed_and_the_worker_replaced() -> None:
    pool = WorkerRenderer(RenderBudget(cpu_seconds=10, memory_mb=128, workers=1, wall_seconds=0.3))
    try:
        assert render(pool, request("warm")).text == "warm"
        [pid] = pool.worker_pids
        with pytest.raises(RenderError, match="did not finish within its time budget"):
            render(pool, request("{% for x in 'x'*2000000 %}{% for y in 'x'*2000000 %}{% endfor %}{% endfor %}"))
        assert not _exists(pid), "the killed worker was reaped"
        assert render(pool, request("next {{ name }}")).text == "next An"
    finally:
        pool.close()


def test_a_worker_killed_while_idle_is_replaced_without_failing_a_request() -> None:
    pool = WorkerRenderer(RenderBudget(cpu_seconds=0.5, memory_mb=128, workers=1))
    try:
        render(pool, request("warm"))
        [pid] = pool.worker_pids
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
        assert render(pool, request("after {{ name }}")).text == "after An"
        assert pool.worker_pids != [pid]
    finally:
        pool.close()
    assert not _exists(pid)


def test_a_worker_killed_mid_render_is_a_render_error() -> None:
    pool = WorkerRenderer(RenderBudget(cpu_seconds=5, memory_mb=128, workers=1))

    async def scenario() -> None:
        await pool.render(request("warm"), None)
        [pid] = pool.worker_pids
        task = asyncio.ensure_future(
            pool.render(request("{% for x in 'x'*2000000 %}{% for y in 'x'*200 %}{% endfor %}{% endfor %}"), None)
        )
        await asyncio.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(RenderError, match="render worker died"):
            await task

    try:
        asyncio.run(scenario())
        assert render(pool, request("after")).text == "after"
    finally:
        pool.close()


def test_plain_bodies_never_start_a_worker() -> None:
    pool = WorkerRenderer(BUDGET)
    plain = parse_send_request({"from": "shop@example.com", "to": ["an@example.net"], "subject": "S", "text": "T"})
    assert render(pool, plain).text == "T"
    assert pool.worker_pids == []


# -- a batch through the dispatch service --------------------------------------------------


def test_a_hostile_template_fails_alone_and_the_good_records_of_its_batch_are_delivered(
    renderer: WorkerRenderer,
) -> None:
    transport, dead_letters = ScriptedTransport(), CollectingDeadLetters()
    service = DispatchService(
        transport,
        InMemoryLedger(clock=ManualClock()),
        FakeContentStore(templates={}),
        dead_letters,
        DispatchPolicy(reporting_mta="dispatch.test"),
        renderer=renderer,
        clock=ManualClock(),
    )
    hostile = {
        "cpu": "{% for x in 'x'*2000000 %}{% for y in 'x'*2000000 %}{% endfor %}{% endfor %}",
        "memory": "{{ (['x'*2000000]*200)|join|length }}",
        "compile": "{{ 1[0] and 1 }}",
    }
    records = [
        sqs_record(
            {
                "message_key": f"bad-{name}",
                "from": "shop@example.com",
                "to": ["victim@example.net"],
                "template": {"subject": "x", "text": text},
            },
            message_id=f"bad-{name}",
        )
        for name, text in hostile.items()
    ] + [
        sqs_record(
            {
                "message_key": f"good-{i}",
                "from": "shop@example.com",
                "to": [f"good{i}@example.net"],
                "template": {"subject": "Hi {{ name }}", "text": "Hello {{ name }}"},
                "variables": {"name": f"n{i}"},
            },
            message_id=f"good-{i}",
        )
        for i in range(6)
    ]
    results = asyncio.run(
        run_records(
            records,
            service.process,
            concurrency=10,
            remaining_seconds=lambda: 900.0,
            reserve_seconds=1.0,
            on_error=lambda record, error: pytest.fail(f"{record.message_id} raised {error!r}"),
        )
    )
    assert all(r.done for r in results)
    assert {r for e, _ in transport.deliveries for r in e.recipients} == {f"good{i}@example.net" for i in range(6)}
    errors = {r.message_key: r.error for r in dead_letters.reports}
    assert {r.reason for r in dead_letters.reports} == {"render_failed"}
    assert "CPU budget" in errors["bad-cpu"]
    assert "memory budget" in errors["bad-memory"]
    assert "cannot compile" in errors["bad-compile"]


# -- property: only RenderErrors come out -----------------------------------------------------

FRAGMENTS = [
    "{{ ", " }}", "{% ", " %}", "for x in ", "range(", "10", "100000", "1000000000", ")", "(", "endfor",
    "if ", "endif", "macro m()", "endmacro", "m()", "set a = ", "'x'", "*", "**", "%", "+", "|", "wordwrap(",
    "center(", "lipsum(", "join", "length", "format(", ".ljust(", ".format(", "'{:>9}'", "'%9d'", ".__class__",
    "name", "items", "user", "token", "[", "]", ",", "namespace(", "cycler", "self", "loop.index", "~", "-",
    "{#", "#}", "\n", "{%- raw %}", "{% endraw -%}", "9", "'\\ud800'", "none", "true",
]  # fmt: skip


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


@pytest.mark.fuzz
@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=6), max_size=25))
@case_memory_bounded
def test_whatever_the_template_only_render_errors_come_out(
    renderer: WorkerRenderer, loop: asyncio.AbstractEventLoop, parts: list[str]
) -> None:
    text = "".join(parts)
    try:
        content = loop.run_until_complete(renderer.render(request(text), None))
    except RenderError as error:
        assert SECRET not in str(error)
    else:
        assert isinstance(content.text, str) and isinstance(content.subject, str)
