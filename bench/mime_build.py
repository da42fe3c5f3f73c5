"""python -m bench.mime_build: µs per build_message() against the EmailMessage tree it replaced.

Two messages: the Vietnamese welcome sample as text + html alternatives (the common shape), and the
same with a 100 KB attachment. Each is timed with timeit, best of several repeats, for the writer
(build_message) and for the email package's generator (_build_message_via_email_package), which
must give the same bytes; that is checked first. Both prepare the header fields with the same code,
so its cost is shown too: the rest is what writing the bytes directly saves.
"""

from __future__ import annotations

import argparse
import itertools
import os
import timeit
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

from maildispatch.core import mime
from maildispatch.core.mime import AttachmentData, BuiltMessage
from maildispatch.core.render import RenderedContent, render_content
from maildispatch.core.request import SendRequest, parse_send_request

SAMPLE = Path(__file__).resolve().parents[1] / "events" / "requests" / "welcome-vi.json"
DATE = datetime(2025, 3, 8, 2, 30, tzinfo=UTC)
MESSAGE_ID = "<3f2a9c@example.com>"

Build = Callable[..., BuiltMessage]


def per_message_us(
    build: Build, request: SendRequest, content: RenderedContent, attachments: Sequence[AttachmentData], repeat: int
) -> float:
    def once() -> BuiltMessage:
        return build(request, content, attachments, message_id=MESSAGE_ID, date=DATE)

    number, _ = timeit.Timer(once).autorange()
    return min(timeit.repeat(once, number=number, repeat=repeat)) / number * 1e6


def header_fields(
    request: SendRequest,
    content: RenderedContent,
    attachments: Sequence[AttachmentData],
    *,
    message_id: str,
    date: datetime,
) -> BuiltMessage:
    """The part both paths share: the top-level header fields, encoded and folded."""
    mime._message_headers(request, content, message_id, date, mime._needs_utf8_headers(request))
    return BuiltMessage(b"", message_id, "", False)


def same_boundaries(
    build: Build, request: SendRequest, content: RenderedContent, attachments: Sequence[AttachmentData]
) -> BuiltMessage:
    counter = itertools.count()
    with mock.patch.object(mime, "_new_boundary", lambda: f"=_{next(counter):032x}"):
        return build(request, content, attachments, message_id=MESSAGE_ID, date=DATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    request = parse_send_request(SAMPLE.read_bytes())
    content = render_content(request)
    cases: dict[str, list[AttachmentData]] = {
        "text + html": [],
        "text + html + 100 KB attachment": [AttachmentData("report.pdf", "application/pdf", os.urandom(100 * 1024))],
    }
    print(f"{'message':34} {'email package':>14} {'writer':>10} {'speed-up':>9} {'header fields (both)':>21}")
    for name, attachments in cases.items():
        new, old = (
            same_boundaries(build, request, content, attachments)
            for build in (mime.build_message, mime._build_message_via_email_package)
        )
        assert new == old, "the writer's bytes differ from the email package's"
        before = per_message_us(mime._build_message_via_email_package, request, content, attachments, args.repeat)
        after = per_message_us(mime.build_message, request, content, attachments, args.repeat)
        headers = per_message_us(header_fields, request, content, attachments, args.repeat)
        print(f"{name:34} {before:11.0f} µs {after:7.0f} µs {before / after:8.1f}x {headers:18.0f} µs")


if __name__ == "__main__":
    main()
