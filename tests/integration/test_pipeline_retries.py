"""The pipeline end to end over time: the give-up horizon (4.4.7) and records that must wait again
(re-enqueued with their identity)."""

from __future__ import annotations

import json

from tests.stack.local_stack import LocalStack
from tests.stack.pipeline_requests import delivery_status_groups, send_request


def test_a_recipient_deferred_until_the_give_up_horizon_bounces_with_4_4_7(tmp_path, fresh_moto):
    script = {"rcpt": {"busy@example.org": ["451 4.3.0 Mailbox temporarily unavailable"]}}
    # Attempts about a second apart, then give up; the horizon leaves room for a retry on a busy machine.
    env = {"RETRY_SCHEDULE": "1s", "RETRY_MAX_AGE": "6s"}
    with LocalStack(tmp_path / "s", moto=fresh_moto, relay_script=script, function_env=env) as stack:
        stack.enqueue([send_request(message_key="exp-1", to=["busy@example.org"])])
        stack.drain(timeout_s=60)
        [dsn] = stack.dsn_messages()
        [group] = delivery_status_groups(dsn)
        assert group["Status"] == "4.4.7" and group["Action"] == "failed"
        assert "451 4.3.0" in group["Diagnostic-Code"]
        [event] = stack.bounce_events()
        assert event["detail"]["reason"] == "expired"
        assert len(stack.relay.log_events("rcpt", recipient="busy@example.org")) >= 2  # retried before giving up


def test_a_record_that_must_wait_again_is_re_enqueued_and_keeps_its_identity(tmp_path, fresh_moto):
    script = {
        "rcpt": {
            "busy@example.org": [
                "451 4.7.1 Greylisted, please try again in 1 seconds",
                "451 4.7.1 again",
                "250 2.1.5 OK",
            ]
        }
    }
    env = {"REQUEUE_AFTER_RECEIVES": "1"}  # every wait becomes a fresh copy of the record
    with LocalStack(tmp_path / "s", moto=fresh_moto, relay_script=script, function_env=env) as stack:
        body = json.loads(send_request(to=["busy@example.org"]))  # no message_key: the first SQS id becomes it
        [first_id] = stack.enqueue([json.dumps(body)])
        stack.drain(timeout_s=30)
        assert stack.copies_received() == {"busy@example.org": 1}
        [item] = stack.ledger_items()
        assert item["message_key"]["S"] == f"sqs-{first_id}" and item["attempts"]["N"] == "3"
