"""moto server as the local stand-in for AWS: one subprocess on 127.0.0.1, stopped by its PID.

`MotoServer` starts moto's server from the running interpreter on 127.0.0.1 and a free port, serving one
request at a time (`tests.stack.moto_serial`: moto's backends are not thread-safe), waits until it answers
HTTP, and stops it by PID (terminate, then kill). `reset()` wipes all state through `POST /moto-api/reset`,
which is much cheaper than a restart. Because requests are served one by one, a long poll
(ReceiveMessage with WaitTimeSeconds > 0) holds every other client for that long: poll with 0.

`aws_client` makes boto3 clients against it with fake credentials; `local_aws_environment` gives the
environment variables that make *plain* `boto3.client("sqs")` calls (as the functions make them) land on it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config

DEFAULT_REGION = "us-east-1"
FAKE_ACCOUNT_ID = "123456789012"  # moto's default account; queue URLs and ARNs carry it
_FAKE_SECRET = "testing"

_START_ATTEMPTS = 3  # a fresh port per attempt: another process may grab the one we picked
_STOP_GRACE_S = 5.0


class MotoServerError(RuntimeError):
    """moto_server did not start or answer; the message carries the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def refusing_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections while the block runs: bound, never listening.

    A port merely free a moment ago can be taken meanwhile by another test's server, or be the
    ephemeral port of an outgoing connection (which then connects to itself).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def moto_server_command(port: int) -> list[str]:
    """moto server from the running interpreter, serving one request at a time (see moto_serial)."""
    return [sys.executable, "-m", "tests.stack.moto_serial", "-H", "127.0.0.1", "-p", str(port)]


class MotoServer:
    """A moto_server subprocess bound to 127.0.0.1 on a free port.

    Usage: `with MotoServer() as moto: sqs = aws_client("sqs", moto.endpoint_url)`.
    """

    def __init__(self, *, start_timeout_s: float = 30.0) -> None:
        self.start_timeout_s = start_timeout_s
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> MotoServer:
        if self._process is not None:
            raise MotoServerError("moto_server is already running")
        last_error: MotoServerError | None = None
        for _ in range(_START_ATTEMPTS):
            try:
                self._start_on(free_port())
                return self
            except MotoServerError as error:
                last_error = error
                self._stop_process()
        assert last_error is not None
        raise last_error

    def _start_on(self, port: int) -> None:
        log_fd, log_name = tempfile.mkstemp(prefix=f"moto-{port}-", suffix=".log")
        self._log_path = Path(log_name)
        self.port = port
        with os.fdopen(log_fd, "wb") as log:
            self._process = subprocess.Popen(
                moto_server_command(port),
                cwd=Path(__file__).resolve().parents[2],  # so `-m tests.stack.moto_serial` resolves
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_server_environment(),
            )
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise MotoServerError(
                    f"moto_server exited with code {self._process.returncode} on port {port}:\n{self.log_tail()}"
                )
            if self._answers():
                return
            time.sleep(0.05)
        raise MotoServerError(
            f"moto_server did not answer on port {port} within {self.start_timeout_s} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop the server by its PID: terminate, wait, kill if it does not exit."""
        self._stop_process()
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def _stop_process(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=_STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=_STOP_GRACE_S)

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- use ---------------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def endpoint_url(self) -> str:
        if self.port is None or self._process is None:
            raise MotoServerError("moto_server is not running")
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Wipe every service's state (POST /moto-api/reset)."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def log_tail(self, lines: int = 30) -> str:
        if self._log_path is None or not self._log_path.exists():
            return "(no log)"
        text = self._log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _answers(self) -> bool:
        try:
            # The dashboard route is static and cheap; any HTTP answer means Werkzeug is serving.
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/moto-api/", timeout=1) as response:
                response.read()
            return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False


def _server_environment() -> dict[str, str]:
    """The parent's environment without AWS settings that could leak into moto's own boto3 use."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=_FAKE_SECRET, AWS_SECRET_ACCESS_KEY=_FAKE_SECRET, AWS_DEFAULT_REGION=DEFAULT_REGION)
    return env


# One private session: a new Session costs ~0.2 s (it reloads the service models); Session.client() is
# not safe to call from several threads at once, the clients it returns are.
_session = boto3.session.Session()
_session_lock = threading.Lock()


def aws_client(service: str, endpoint_url: str, region: str = DEFAULT_REGION) -> Any:
    """A boto3 client for `service` on the moto server at `endpoint_url`, with fake credentials."""
    with _session_lock:
        return _session.client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=_FAKE_SECRET,
            aws_secret_access_key=_FAKE_SECRET,
            aws_session_token=_FAKE_SECRET,
            config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30),
        )


def local_aws_environment(endpoint_url: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """Environment variables that point plain `boto3.client(...)` calls at the moto server.

    AWS_REGION is set too because the Lambda runtime sets it and code may read it to build ARNs.
    """
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": _FAKE_SECRET,
        "AWS_SECRET_ACCESS_KEY": _FAKE_SECRET,
        "AWS_SESSION_TOKEN": _FAKE_SECRET,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
