"""A handler that raises is a bug the local stack shows at once: LocalStack.drain stops with the
traceback instead of waiting out its timeout, the error is in the functions' log as the Lambda runtime
writes it, and `handler_errors()` keeps it (`make demo` exits 1 on it)."""

from __future__ import annotations

import json
import time

import pytest

from maildispatch.runtime import dispatch_function
from tests.stack.event_source import HandlerKeepsFailing
from tests.stack.local_stack import LocalStack

REQUEST = {"from": "shop@example.com", "to": ["an@example.net"], "subject": "Hi", "text": "Hello"}


def test_a_dispatch_function_that_crashes_at_construction_makes_drain_raise_promptly(
    tmp_path, moto_server, monkeypatch, capsys
):
    def broken_suppression_list(*args: object) -> None:
        raise AttributeError("'NoneType' object has no attribute 'table'")

    # the adapters are made per invocation: this one fails every time, before any record is read
    monkeypatch.setattr(dispatch_function, "suppression_list", broken_suppression_list)
    with LocalStack(tmp_path, moto=moto_server) as stack:
        stack.enqueue([json.dumps({**REQUEST, "message_key": f"crash-{n}"}) for n in range(2)])
        started = time.monotonic()

        with pytest.raises(HandlerKeepsFailing) as raised:
            stack.drain(timeout_s=60)

        assert time.monotonic() - started < 10  # not the drain's 60 s, nor the queue's 360 s visibility
        message = str(raised.value)
        assert message.startswith("DispatchFunction: ")
        assert "AttributeError: 'NoneType' object has no attribute 'table'" in message
        assert "Traceback" in message and "broken_suppression_list" in message
        [first, *_] = stack.handler_errors()
        assert (first.function_name, first.error_type) == ("DispatchFunction", "AttributeError")
        assert stack.delivered_messages() == []
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"errorType"' in line]
    assert logged and logged[0]["message"]["errorType"] == "AttributeError"
