"""Running a batch: bounded concurrency, one bad record fails alone, nothing starts too late."""

import asyncio
from contextlib import asynccontextmanager

from maildispatch.core.tally import Tally
from maildispatch.runtime.sqs_batch import BatchSession, RecordResult, SqsBatchFunction, batch_response, run_records
from tests.fakes.services import sqs_record


def run(records, process, *, concurrency=4, remaining=lambda: 60.0, reserve=5.0):
    errors = []
    results = asyncio.run(
        run_records(
            records,
            process,
            concurrency=concurrency,
            remaining_seconds=remaining,
            reserve_seconds=reserve,
            on_error=lambda r, e: errors.append((r.message_id, e)),
        )
    )
    return results, errors


def test_no_more_than_the_bound_run_at_once():
    in_flight, peak = 0, 0

    async def process(record):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return RecordResult.finished(record.message_id)

    records = [sqs_record("{}", message_id=str(i)) for i in range(20)]
    results, _ = run(records, process, concurrency=3)
    assert peak == 3 and all(r.done for r in results)


def test_records_start_in_order_and_their_results_come_back_in_order_whenever_they_finish():
    started = []

    async def process(record):
        started.append(record.message_id)
        await asyncio.sleep(0.001 * (10 - int(record.message_id)))  # the first records take longest
        return RecordResult.retry(record.message_id, visible_after=int(record.message_id))

    records = [sqs_record("{}", message_id=str(i)) for i in range(10)]
    results, _ = run(records, process, concurrency=3)
    assert started == [str(i) for i in range(10)]
    assert [(r.message_id, r.visible_after) for r in results] == [(str(i), i) for i in range(10)]


def test_a_record_that_raises_fails_alone_and_keeps_the_queue_visibility():
    async def process(record):
        if record.message_id == "bad":
            raise RuntimeError("boom")
        return RecordResult.finished(record.message_id)

    results, errors = run([sqs_record("{}", message_id=i) for i in ("a", "bad", "c")], process)
    assert batch_response(results) == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert [e[0] for e in errors] == ["bad"]
    assert results[1].visible_after is None


def test_records_are_not_started_when_the_invocation_is_about_to_time_out():
    started = []

    async def process(record):
        started.append(record.message_id)
        return RecordResult.finished(record.message_id)

    results, _ = run([sqs_record("{}", message_id=i) for i in ("a", "b")], process, remaining=lambda: 3.0, reserve=5.0)
    assert started == []
    assert [r.visible_after for r in results] == [0, 0]  # untouched, visible again at once
    assert len(batch_response(results)["batchItemFailures"]) == 2


class _LoopRecordingFunction(SqsBatchFunction):
    """A function whose session records the event loop each invocation runs on."""

    def __init__(self, settings=None):
        self.loops = []
        self.closed = False

    @asynccontextmanager
    async def session(self, context):
        self.loops.append(asyncio.get_running_loop())

        async def process(record):
            return RecordResult.finished(record.message_id)

        yield BatchSession(process, Tally(), concurrency=2, reserve_seconds=0)

    async def aclose(self):
        self.closed = True


class _Context:
    def get_remaining_time_in_millis(self):
        return 60_000


def test_warm_invocations_run_on_the_functions_one_event_loop():
    function = _LoopRecordingFunction()
    event = {"Records": [{"messageId": "a", "receiptHandle": "rh-a", "body": "{}"}]}
    assert function.handle(event, _Context())[0] == {"batchItemFailures": []}
    function.handle(event, _Context())
    first, second = function.loops
    assert first is second and not first.is_closed()
    function.close()
    assert function.closed and first.is_closed()


def test_an_invocation_logs_one_summary_line_at_info(caplog):
    function = _LoopRecordingFunction()
    event = {"Records": [{"messageId": str(n), "receiptHandle": f"rh-{n}", "body": "{}"} for n in range(5)]}
    with caplog.at_level("INFO", logger="maildispatch"):
        function.handle(event, _Context())
    function.close()
    [line] = [r for r in caplog.records if r.levelname == "INFO"]
    assert line.getMessage() == "invocation done"
    assert (line.records, line.records_retried) == (5, 0)
