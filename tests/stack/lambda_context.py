"""A stand-in for the Lambda Python runtime's context object.

It carries what powertools' Logger reads (function_name, memory_limit_in_mb, invoked_function_arn,
aws_request_id) plus the rest of the documented attributes, and a deadline that starts counting down when
the object is created, as the runtime's does when the invocation starts.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

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
