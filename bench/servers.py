"""The servers a benchmark talks to, each on 127.0.0.1 on a free port and stopped by its PID.

- `SmtpSink`: Postfix's smtp-sink (C, one process), the fastest SMTP server there is here.
- `LatencyProxy`: `python -m bench.latency_proxy` in front of a server, adding network latency
  to every reply and refusing connections over a limit, as Gmail does.
- `ChunkingSink`: `python -m bench.chunking_sink`, a sink that offers CHUNKING (RFC 3030) too,
  which smtp-sink does not; the latency-bound benchmark's relay.
- `run_smtp_source`: Postfix's smtp-source (C), the machine's ceiling against the sink.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parents[1]


class MissingProgram(RuntimeError):
    """A program the benchmark needs is not installed; the message says which package has it."""


def program(name: str, package: str) -> str:
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        raise MissingProgram(f"`{name}` is missing: apt-get install {package}")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


class _Process:
    process: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()  # this PID only
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _start_module(self, module: str, arguments: list[str], ready: Path, what: str) -> int:
        """Runs `python -m module ... --ready-file ready` and returns the port it writes there once listening."""
        ready.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *arguments, "--ready-file", str(ready)],
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not ready.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{what} did not start")
            time.sleep(0.02)
        return int(ready.read_text())


class SmtpSink(_Process):
    """`smtp-sink -u nobody 127.0.0.1:PORT BACKLOG`: accepts everything, offers PIPELINING, keeps nothing."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port = 0

    def __enter__(self) -> SmtpSink:
        binary = program("smtp-sink", "postfix")
        for _ in range(5):  # the free port may be taken between probing and binding
            self.port = free_port()
            self.process = subprocess.Popen(
                [binary, "-u", "nobody", f"{self.host}:{self.port}", "1000"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if wait_for_port(self.port, self.process):
                return self
            self.stop()
        raise RuntimeError("smtp-sink did not start")


class ChunkingSink(_Process):
    """`python -m bench.chunking_sink`: accepts everything, offers PIPELINING and (unless told not to) CHUNKING."""

    host = "127.0.0.1"

    def __init__(self, work_dir: Path, *, chunking: bool = True) -> None:
        self.work_dir = work_dir
        self.chunking = chunking
        self.port = 0

    def __enter__(self) -> ChunkingSink:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.port = self._start_module(
            "bench.chunking_sink",
            [] if self.chunking else ["--no-chunking"],
            self.work_dir / "chunking-sink.port",
            "the chunking sink",
        )
        return self


@dataclass(frozen=True)
class ProxyStats:
    accepted: int
    refused: int
    peak_connections: int


class LatencyProxy(_Process):
    """`python -m bench.latency_proxy` in front of (host, port); its stats are read when it stops."""

    host = "127.0.0.1"

    def __init__(self, upstream_port: int, work_dir: Path, *, delay: float, max_connections: int) -> None:
        self.upstream_port = upstream_port
        self.work_dir = work_dir
        self.delay = delay
        self.max_connections = max_connections
        self.port = 0
        self.stats: ProxyStats | None = None

    def __enter__(self) -> LatencyProxy:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        stats = self.work_dir / "proxy.stats.json"
        stats.unlink(missing_ok=True)
        arguments = ["--upstream", f"127.0.0.1:{self.upstream_port}", "--delay", str(self.delay)]
        arguments += ["--max-connections", str(self.max_connections), "--stats-file", str(stats)]
        self.port = self._start_module(
            "bench.latency_proxy", arguments, self.work_dir / "proxy.port", "the latency proxy"
        )
        self._stats_file = stats
        return self

    def stop(self) -> None:
        super().stop()
        if getattr(self, "_stats_file", None) is not None and self._stats_file.exists():
            self.stats = ProxyStats(**json.loads(self._stats_file.read_text()))


@dataclass(frozen=True)
class SourceRun:
    messages: int
    seconds: float

    @property
    def msgs_per_s(self) -> float:
        return self.messages / self.seconds


def run_smtp_source(port: int, messages: int, *, sessions: int = 20, size: int = 2048) -> SourceRun:
    """smtp-source -s SESSIONS -d (reused connections): the C client's rate against the sink."""
    binary = program("smtp-source", "postfix")
    command = [
        binary,
        "-s",
        str(sessions),
        "-d",
        "-m",
        str(messages),
        "-l",
        str(size),
        "-t",
        "to@example.net",
        "-f",
        "from@example.com",
        "-M",
        "client.test",
        f"127.0.0.1:{port}",
    ]
    started = time.perf_counter()
    subprocess.run(
        command, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120
    )
    return SourceRun(messages, time.perf_counter() - started)
