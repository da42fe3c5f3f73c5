"""A relay stand-in for latency: a TCP proxy that delays every byte from the server by DELAY.

    python -m bench.latency_proxy --upstream HOST:PORT --delay 0.02 --max-connections 10 \\
        --ready-file F [--stats-file S]

Data from the server reaches the client DELAY seconds after it arrived, in order, without the
delays adding up: replies the server writes together (a pipelined group) arrive together one
DELAY later, as over a network with that latency one way. Data from the client passes at once.
More than --max-connections at once get "421 4.7.0 Too many concurrent SMTP connections" (also
delayed) and are closed, as Gmail does. It binds 127.0.0.1 on a free port, writes the port to
the ready file, and on SIGTERM writes {"accepted", "refused", "peak_connections"} to the stats file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from collections import deque
from collections.abc import Callable
from pathlib import Path

REFUSAL = b"421 4.7.0 Too many concurrent SMTP connections from this IP; try again later\r\n"


class LatencyProxy:
    def __init__(self, upstream: tuple[str, int], delay: float, max_connections: int) -> None:
        self.upstream = upstream
        self.delay = delay
        self.max_connections = max_connections
        self.active = 0
        self.accepted = 0
        self.refused = 0
        self.peak = 0

    async def session(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.active >= self.max_connections:
            self.refused += 1
            await asyncio.sleep(self.delay)
            client_writer.write(REFUSAL)
            await _close(client_writer)
            return
        self.active += 1
        self.accepted += 1
        self.peak = max(self.peak, self.active)
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self.active -= 1
            await _close(client_writer)
            return
        released = False

        def release() -> None:  # a connection stops counting once either side has closed it
            nonlocal released
            if not released:
                released = True
                self.active -= 1

        try:
            await asyncio.gather(
                self._pass(client_reader, server_writer, release),
                self._delay(server_reader, client_writer, release),
            )
        finally:
            release()
            await _close(server_writer)
            await _close(client_writer)

    async def _pass(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, release: Callable[[], None]
    ) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            release()
            if not writer.is_closing():
                writer.write_eof()

    async def _delay(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, release: Callable[[], None]
    ) -> None:
        """Forward each chunk DELAY after it arrived; a later chunk never overtakes an earlier one."""
        loop = asyncio.get_running_loop()
        pending: deque[tuple[float, bytes]] = deque()
        arrived = asyncio.Event()

        async def read() -> None:
            try:
                while data := await reader.read(65536):
                    pending.append((loop.time() + self.delay, data))
                    arrived.set()
            except OSError:
                pass
            release()
            pending.append((loop.time() + self.delay, b""))
            arrived.set()

        reading = asyncio.ensure_future(read())
        try:
            while True:
                while not pending:
                    arrived.clear()
                    await arrived.wait()
                due, data = pending.popleft()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            reading.cancel()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass


async def serve(args: argparse.Namespace) -> None:
    host, _, port = args.upstream.rpartition(":")
    proxy = LatencyProxy((host, int(port)), args.delay, args.max_connections)
    server = await asyncio.start_server(proxy.session, "127.0.0.1", 0)
    temporary = args.ready_file.with_name(args.ready_file.name + ".tmp")
    temporary.write_text(str(server.sockets[0].getsockname()[1]))
    os.replace(temporary, args.ready_file)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    if args.stats_file:
        args.stats_file.write_text(
            json.dumps({"accepted": proxy.accepted, "refused": proxy.refused, "peak_connections": proxy.peak})
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.latency_proxy", description=__doc__.split("\n")[0])
    parser.add_argument("--upstream", required=True, metavar="HOST:PORT")
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--max-connections", type=int, default=10)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--stats-file", type=Path)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
