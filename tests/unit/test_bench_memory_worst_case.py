"""The worst-case memory benchmark's messages are as large as the function lets a message be, and no larger."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bench.memory_worst_case import ATTACHMENTS_PER_MESSAGE, attachment_bytes_for
from bench.workload import request_body
from maildispatch.core.mime import AttachmentData, build_message, message_id_for
from maildispatch.core.render import render_content
from maildispatch.core.request import parse_send_request

MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # the function's default, and the template's


def test_the_attachments_make_a_message_just_under_max_message_bytes() -> None:
    size = attachment_bytes_for(MAX_MESSAGE_BYTES, ATTACHMENTS_PER_MESSAGE)
    request = parse_send_request(json.loads(request_body(0, "worst-case")))
    attachments = [
        AttachmentData(f"scan-{n}.pdf", "application/pdf", bytes(size)) for n in range(ATTACHMENTS_PER_MESSAGE)
    ]
    built = build_message(
        request,
        render_content(request),
        attachments,
        message_id=message_id_for("worst-case-0", "example.com"),
        date=datetime(2026, 12, 5, tzinfo=UTC),
    )
    assert 0.99 * MAX_MESSAGE_BYTES < len(built.data) <= MAX_MESSAGE_BYTES
    assert size * ATTACHMENTS_PER_MESSAGE <= MAX_MESSAGE_BYTES * 3 // 4, (
        "within what the service lets S3 attachments weigh"
    )
