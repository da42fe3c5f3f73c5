"""Stand-ins for the Lambda Python runtime: its context object, and what it logs when a handler raises.

The context carries what powertools' Logger reads (function_name, memory_limit_in_mb, invoked_function_arn,
aws_request_id) plus the rest of the documented attributes, and a deadline that starts counting down when
the object is created, as the runtime's does when the invocation starts.

`handler_raised` writes what the runtime writes to the function's log when the handler raises (its
JSON log format: level ERROR, errorType, errorMessage, stackTrace) to stdout, where the functions' own
logs go, and returns the error as a `HandlerError` for whoever runs the handlers to keep.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tests.stack.moto import DEFAULT_REGION, FAKE_ACCOUNT_ID


class FakeLambdaContext:
    """Context for one invocation of `function_name` with a `timeout_s` budget."""

    def __init__(
        self,
        function_name: str,
        timeout_s: float,
        memory_mb: int = 512,
        *,
        region: str = DEFAULT_REGION,
        account_id: str = FAKE_ACCOUNT_ID,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        today = datetime.now(UTC).strftime("%Y/%m/%d")
        self.log_stream_name = f"{today}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self.tenant_id: str | None = None
        self.timeout_s = timeout_s
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation would be killed; never negative."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return f"FakeLambdaContext({self.function_name!r}, request_id={self.aws_request_id!r})"


_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class HandlerError:
    """A handler invocation that raised: which function, what, and where (the traceback as text)."""

    function_name: str
    error_type: str
    message: str
    traceback: str
    at: float  # time.monotonic() when it was seen

    def __str__(self) -> str:
        return f"{self.function_name} raised {self.error_type}: {self.message}\n{self.traceback}".rstrip()


def handler_raised(function_name: str, error: BaseException, *, formatted: str | None = None) -> HandlerError:
    """Log an exception that escaped `function_name`'s handler as the Lambda runtime does; the record of it.

    `formatted`: the traceback already as text (a handler that ran in another process)."""
    if formatted is None:
        frames = error.__traceback__
        while frames is not None and Path(frames.tb_frame.f_code.co_filename).parent == _HERE:
            frames = frames.tb_next  # the emulator's own frames: the runtime's trace starts at the handler
        text = "".join(traceback.format_exception(type(error), error, frames))
        error_type, message = type(error).__name__, str(error)
    else:  # its last line is "ErrorType: message"
        text = formatted
        last = formatted.rstrip().splitlines()[-1] if formatted.strip() else type(error).__name__
        error_type, _, message = last.partition(": ")
    raised = HandlerError(function_name, error_type, message, text, time.monotonic())
    line = {
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": "ERROR",
        "function": function_name,
        "message": {
            "errorMessage": raised.message,
            "errorType": raised.error_type,
            "stackTrace": text.rstrip().splitlines(),
        },
    }
    print(json.dumps(line, ensure_ascii=False), file=sys.stdout, flush=True)
    return raised
