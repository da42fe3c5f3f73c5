"""An SMTP sink that offers CHUNKING (RFC 3030) as well as PIPELINING: smtp-sink does not.

    python -m bench.chunking_sink --ready-file F [--no-chunking]

It accepts every command, keeps nothing, and answers at once: a pipelined group is answered in
one write once every command of it that arrived has been read. DATA content ends at the line
with a single dot; a BDAT chunk is read by its size. EHLO offers PIPELINING, 8BITMIME, SIZE,
ENHANCEDSTATUSCODES and (unless --no-chunking) CHUNKING. It binds 127.0.0.1 on a free port,
writes the port to the ready file, and stops on SIGTERM. The latency-bound benchmark puts the
latency proxy in front of it, so that a relay offering CHUNKING (Postfix since 3.4, Gmail) can
be measured with and without BDAT.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path

EHLO = b"250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 52428800\r\n250-ENHANCEDSTATUSCODES\r\n"


class Session(asyncio.Protocol):
    def __init__(self, chunking: bool) -> None:
        self.chunking = chunking
        self.buffer = bytearray()
        self.in_data = False  # reading DATA content up to the final dot
        self.chunk_left = 0  # bytes of a BDAT chunk still to read
        self.chunk_reply = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"220 sink.test ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        replies: list[bytes] = []
        while self.buffer:
            if self.chunk_left:
                taken = min(self.chunk_left, len(self.buffer))
                del self.buffer[:taken]
                self.chunk_left -= taken
                if self.chunk_left:
                    break
                replies.append(self.chunk_reply)
                continue
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    del self.buffer[: max(0, len(self.buffer) - 4)]  # keep what could start the final dot
                    break
                del self.buffer[: end + 5]
                self.in_data = False
                replies.append(b"250 2.0.0 Ok: queued\r\n")
                continue
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                break
            line = bytes(self.buffer[:line_end])
            del self.buffer[: line_end + 2]
            reply = self.command(line)
            if reply:
                replies.append(reply)
            if reply.startswith(b"221"):
                self.transport.write(b"".join(replies))
                self.transport.close()
                return
        if replies:
            self.transport.write(b"".join(replies))

    def command(self, line: bytes) -> bytes:
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            return EHLO + (b"250-CHUNKING\r\n" if self.chunking else b"") + b"250 DSN\r\n"
        if verb == b"MAIL":
            return b"250 2.1.0 Ok\r\n"
        if verb == b"RCPT":
            return b"250 2.1.5 Ok\r\n"
        if verb == b"DATA":
            self.in_data = True
            self.buffer[0:0] = b"\r\n"  # the content starts a line: an empty message is "\r\n.\r\n" too
            return b"354 End data with <CR><LF>.<CR><LF>\r\n"
        if verb == b"BDAT" and self.chunking:
            words = line.split()
            self.chunk_left = int(words[1])
            last = len(words) > 2 and words[2].upper() == b"LAST"
            self.chunk_reply = b"250 2.0.0 Ok: queued\r\n" if last else b"250 2.0.0 Ok: chunk received\r\n"
            if self.chunk_left == 0:
                return self.chunk_reply
            return b""
        if verb in (b"RSET", b"NOOP"):
            return b"250 2.0.0 Ok\r\n"
        if verb == b"QUIT":
            return b"221 2.0.0 Bye\r\n"
        return b"502 5.5.2 Error: command not recognized\r\n"


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Session(not args.no_chunking), "127.0.0.1", 0, backlog=1000)
    temporary = args.ready_file.with_name(args.ready_file.name + ".tmp")
    temporary.write_text(str(server.sockets[0].getsockname()[1]))
    os.replace(temporary, args.ready_file)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.chunking_sink", description=__doc__.split("\n")[0])
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--no-chunking", action="store_true", help="do not offer CHUNKING")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
