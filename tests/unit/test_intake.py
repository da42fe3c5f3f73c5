"""What arrives on the returned-mail queue: S3 notifications, SES notifications via SNS, S3's test event."""

import json
from pathlib import Path

import pytest

from maildispatch.core.returned_queue import (
    S3TestEvent,
    SesNotification,
    StoredMail,
    UnknownIntake,
    envelope_addresses,
    intake_items,
    ses_envelope_addresses,
)

EVENTS = Path(__file__).resolve().parents[2] / "events" / "returned"


def test_an_s3_notification_names_the_stored_mail_with_its_key_decoded():
    [item] = intake_items((EVENTS / "s3-object-created.json").read_text())
    assert item == StoredMail("maildispatch-returnedmailbucket-1a2b3c", "returned/8l6f0q3v2k1m from ses")


def test_s3s_test_event_is_recognised():
    assert intake_items((EVENTS / "s3-test-event.json").read_text()) == [S3TestEvent()]


def test_an_ses_notification_is_unwrapped_from_its_sns_envelope_or_taken_raw_without_one():
    wrapped = (EVENTS / "ses-bounce-via-sns.json").read_text()
    [item] = intake_items(wrapped)
    assert isinstance(item, SesNotification) and item.notification["notificationType"] == "Bounce"
    assert item.envelope == json.loads(wrapped)  # kept: its signature is what proves the notification
    assert intake_items(json.loads(wrapped)["Message"]) == [SesNotification(item.notification, None)]
    assert ses_envelope_addresses(item.notification) == ["RETURN_PATH"]


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        '{"hello": "world"}',
        '{"Records": [{"eventSource": "aws:sqs"}]}',
        '{"Type": "Notification", "Message": "{oops"}',
    ],
)
def test_anything_else_is_refused_with_a_reason(body):
    with pytest.raises(UnknownIntake):
        intake_items(body)


def test_the_addresses_a_returned_message_was_sent_to_come_from_its_headers():
    raw = b"Delivered-To: bounces+x@b.example\r\nTo: Someone <bounces+y@b.example>, other@b.example\r\nSubject: s\r\n\r\nbody"
    assert envelope_addresses(raw) == ["bounces+x@b.example", "bounces+y@b.example", "other@b.example"]
