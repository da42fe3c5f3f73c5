"""Untrusted templates rendered in worker processes, each render within a CPU and memory budget.

In CPython only a separate process can bound what a template costs: a loop in C, a 1 GB
string or minutes of bytecode cannot be interrupted from another thread. A small pool of
long-lived workers (started with the interpreter, not forked from a threaded parent) runs
`core.render.render_job`; the parent talks to each over a Unix socket pair with
length-prefixed pickles, from whatever event loop the invocation runs, without blocking it.

Per render, in the worker: an ITIMER_PROF timer of `cpu_seconds` of CPU time (its signal
raises out of the render) and RLIMIT_AS at the worker's own size plus `memory_mb` (an
allocation past it is a MemoryError). In the parent: a wall-clock limit, past which the
worker is killed (a render stuck in C code, or starved). A breached worker is killed, reaped
and replaced; the request gets a RenderError naming the budget, which the service reports
as a permanent render failure, and the other records of the batch go on.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any

from maildispatch.core.render import (
    RenderedContent,
    RenderError,
    RenderJob,
    TemplateSource,
    prepare_render,
    render_job,
)
from maildispatch.core.request import SendRequest

_HEADER = struct.Struct("!I")
_READY = b"ready"
STARTUP_SECONDS = 30.0  # a fresh worker imports Jinja2; not counted against any template's budget


@dataclass(frozen=True)
class RenderBudget:
    """What one template render may use in a worker process."""

    cpu_seconds: float = 2.0  # CPU time of one message's render (subject, text and html together)
    memory_mb: int = 256  # memory a render may add to the worker's own
    workers: int = 2  # renders at once; a slow render holds one worker, the others go on
    # Default: four times the CPU budget plus a second. Lambda gives a 512 MB function about a third
    # of a vCPU, so a render's CPU time runs well behind the wall clock; the CPU limit should decide.
    wall_seconds: float | None = None

    @property
    def wall_limit(self) -> float:
        return self.wall_seconds if self.wall_seconds is not None else 4 * self.cpu_seconds + 1.0


class WorkerRenderer:
    """A TemplateRenderer. Plain bodies never reach a worker; workers start on the first template."""

    def __init__(self, budget: RenderBudget = RenderBudget()) -> None:
        if budget.workers < 1:
            raise ValueError("at least one render worker")
        self.budget = budget
        self._idle: list[_Worker] = []
        self._started = 0
        self._waiters: deque[asyncio.Future[_Worker]] = deque()
        self._all: weakref.WeakSet[_Worker] = weakref.WeakSet()
        self._finalizer = weakref.finalize(self, _stop_all, self._all)
        atexit.register(self._finalizer)

    async def render(self, request: SendRequest, template: TemplateSource | None) -> RenderedContent:
        job = prepare_render(request, template)
        if isinstance(job, RenderedContent):
            return job
        return await self.render_job(job)

    async def render_job(self, job: RenderJob) -> RenderedContent:
        worker = await self._acquire()
        try:
            await worker.started()
            reply = await worker.call(job, self.budget.wall_limit)
        except _WorkerStuck:
            worker.stop()
            raise RenderError(
                "template", f"the render did not finish within its time budget ({self.budget.wall_limit:g} s)"
            ) from None
        except _WorkerDied as died:
            worker.stop()
            raise RenderError(
                "template",
                f"the render worker died while rendering ({died}); over the memory budget"
                f" ({self.budget.memory_mb} MiB) or crashed",
            ) from None
        except BaseException:  # cancelled mid-render, or a worker that would not start: its state is unknown
            worker.stop()
            raise
        else:
            if reply[0] not in ("ok", "error"):
                worker.stop()  # a breach may leave the worker's heap or Jinja's caches half-done: replace it
        finally:
            self._release(worker)
        kind = reply[0]
        if kind == "ok":
            return RenderedContent(subject=reply[1], text=reply[2], html=reply[3])
        if kind == "error":
            raise RenderError(reply[1], reply[2])
        if kind == "cpu":
            raise RenderError("template", f"the template exceeded its CPU budget ({self.budget.cpu_seconds:g} s)")
        if kind == "memory":
            raise RenderError("template", f"the template exceeded its memory budget ({self.budget.memory_mb} MiB)")
        raise RuntimeError(f"unexpected answer from a render worker: {kind!r}")

    def close(self) -> None:
        """Stops every worker and reaps it (also at interpreter exit)."""
        self._finalizer()
        self._idle.clear()
        self._started = 0

    @property
    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._all if w.alive]

    # -- the pool ---------------------------------------------------------------------------

    async def _acquire(self) -> _Worker:
        while self._idle:
            worker = self._idle.pop()
            if worker.alive and worker.process.poll() is None:
                return worker
            worker.stop()  # died while idle (killed from outside): not any request's fault
            self._started -= 1
        if self._started < self.budget.workers:
            worker = _Worker(self.budget)
            self._started += 1
            self._all.add(worker)
            return worker
        waiter: asyncio.Future[_Worker] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())
            raise

    def _release(self, worker: _Worker) -> None:
        if not worker.alive:
            worker.stop()
            try:
                worker = _Worker(self.budget)  # start the replacement now: it warms up while others render
            except OSError:
                self._started -= 1
                return
            self._all.add(worker)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done() and not waiter.get_loop().is_closed():
                waiter.set_result(worker)
                return
        self._idle.append(worker)


class _WorkerStuck(Exception):
    pass


class _WorkerDied(Exception):
    pass


class _Worker:
    def __init__(self, budget: RenderBudget) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(child.fileno()), repr(budget.cpu_seconds), str(budget.memory_mb)],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
                close_fds=True,
            )
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        parent.setblocking(False)
        self.sock = parent
        self.ready = False
        self.alive = True

    async def started(self) -> None:
        if not self.ready:
            try:
                frame = await asyncio.wait_for(self._receive(), STARTUP_SECONDS)
            except (TimeoutError, _WorkerDied) as error:
                raise RuntimeError(f"a render worker did not start: {error or 'timed out'}") from None
            if frame != _READY:
                raise RuntimeError("a render worker did not start: unexpected greeting")
            self.ready = True

    async def call(self, job: RenderJob, wall_seconds: float) -> tuple[Any, ...]:
        loop = asyncio.get_running_loop()
        data = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            await loop.sock_sendall(self.sock, _HEADER.pack(len(data)) + data)
        except OSError as error:
            raise _WorkerDied(self._status(error)) from None
        try:
            async with asyncio.timeout(wall_seconds):  # no task per call, unlike wait_for
                frame = await self._receive()
        except TimeoutError:
            raise _WorkerStuck from None
        reply = pickle.loads(frame)
        assert isinstance(reply, tuple)
        return reply

    async def _receive(self) -> bytes:
        header = await self._exactly(_HEADER.size)
        return await self._exactly(_HEADER.unpack(header)[0])

    async def _exactly(self, size: int) -> bytes:
        loop = asyncio.get_running_loop()
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            try:
                count = await loop.sock_recv_into(self.sock, view[got:])
            except OSError as error:
                raise _WorkerDied(self._status(error)) from None
            if count == 0:
                raise _WorkerDied(self._status(None))
            got += count
        return bytes(buffer)

    def _status(self, error: OSError | None) -> str:
        try:
            code = self.process.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            return f"connection lost: {error}" if error else "connection closed"
        return f"killed by signal {-code}" if code < 0 else f"exit status {code}"

    def stop(self) -> None:
        """Kills and reaps the process: no zombie is left behind."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.sock.close()
        self.alive = False


def _stop_all(workers: weakref.WeakSet[_Worker]) -> None:
    for worker in list(workers):
        worker.stop()


# -- the worker process --------------------------------------------------------------------


class _CpuBudgetExceeded(BaseException):  # BaseException: neither Jinja nor the sandbox catches it
    pass


def _on_cpu_budget(signum: int, frame: object) -> None:
    raise _CpuBudgetExceeded


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the budget alone
        return 0


def worker_main(fd: int, cpu_seconds: float, memory_mb: int) -> None:
    import resource

    sock = socket.socket(fileno=fd)
    # Import and compile everything a render touches before the limit is measured and set.
    warm = RenderJob(TemplateSource("{{ a }}", "{{ a|upper }}", "<p>{{ a }}</p>"), {"a": "x"}, None)
    render_job(warm)
    limit = _address_space() + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGPROF, _on_cpu_budget)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def send(data: bytes) -> None:
        sock.sendall(_HEADER.pack(len(data)) + data)

    def receive(size: int) -> bytes | None:
        buffer = bytearray()
        while len(buffer) < size:
            try:
                chunk = sock.recv(size - len(buffer))
            except OSError:  # the parent is gone
                return None
            if not chunk:
                return None
            buffer += chunk
        return bytes(buffer)

    send(_READY)
    while True:
        header = receive(_HEADER.size)
        frame = None if header is None else receive(_HEADER.unpack(header)[0])
        if frame is None:
            return  # the parent closed its end, or is gone
        reply: tuple[Any, ...]
        try:
            job = pickle.loads(frame)
            signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
            try:
                content = render_job(job)
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
            reply = ("ok", content.subject, content.text, content.html)
        except RenderError as error:
            reply = ("error", error.field, error.message)
        except _CpuBudgetExceeded:
            reply = ("cpu",)
        except MemoryError:
            reply = ("memory",)
        except Exception as error:  # not the template's doing as far as we know, but still this request's
            reply = ("error", "template", f"the render failed: {type(error).__name__}")
        del frame
        send(pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    worker_main(int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]))
