"""In-memory stand-ins for the HTTP API service's ports (SubmissionQueue, MessageLedger, UploadSigner)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from maildispatch.core.message_status import MessageStatus, RecipientStatus, Submission, message_status
from maildispatch.ports import PresignedUpload, SubmissionFailed


@dataclass
class FakeSubmissionQueue:
    bodies: list[str] = field(default_factory=list)
    fail: bool = False

    def send(self, body: str) -> None:
        if self.fail:
            raise SubmissionFailed("queue unreachable")
        self.bodies.append(body)


@dataclass
class FakeMessageLedger:
    rows: dict[str, list[RecipientStatus]] = field(default_factory=dict)
    submissions: dict[str, Submission] = field(default_factory=dict)
    fail_recording: bool = False

    def status(self, message_key: str, named: Sequence[str] = ()) -> MessageStatus:
        return message_status(
            message_key, self.rows.get(message_key, []), self.submissions.get(message_key), tuple(named)
        )

    def record_submission(self, message_key: str, recipients: Sequence[str]) -> None:
        if self.fail_recording:
            raise ConnectionError("ledger unreachable")
        self.submissions.setdefault(message_key, Submission(tuple(recipients), datetime(2026, 1, 1, tzinfo=UTC)))


@dataclass
class FakeUploadSigner:
    signed: list[dict] = field(default_factory=list)

    def presign_put(self, key: str, *, content_type: str, size: int, expires_in: int) -> PresignedUpload:
        self.signed.append({"key": key, "content_type": content_type, "size": size, "expires_in": expires_in})
        return PresignedUpload(
            f"https://content.example/{key}?signed", {"Content-Type": content_type}, "content", key, 1000.0 + expires_in
        )
