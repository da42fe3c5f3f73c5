"""The pipeline end to end with hard content: a UTF-8 Bcc on a relay without SMTPUTF8, S3 attachments
(confined, sized first, every S3 error a report), a hostile template beside good records."""

from __future__ import annotations

import json

from tests.stack.local_stack import LocalStack
from tests.stack.pipeline_requests import SHOP, send_request


def test_a_utf8_bcc_does_not_make_the_ascii_recipient_bounce_on_a_relay_without_smtputf8(tmp_path, fresh_moto):
    """Issue 9 point 7: the Bcc alone needs SMTPUTF8, so only its transaction is refused (5.6.7)."""
    with LocalStack(tmp_path / "stack", moto=fresh_moto, relay_smtputf8=False) as stack:
        stack.enqueue([send_request(message_key="utf8-bcc-1", bcc=["用户@example.net"])])
        stack.drain(timeout_s=60)
        events = stack.bounce_events()

        assert stack.copies_received() == {"binh@example.net": 1}
        failed = [r for e in events for r in e["detail"]["recipients"]]
        assert [r["address"] for r in failed] == ["用户@example.net"]
        assert "binh@example.net" not in json.dumps(events)


def test_s3_attachments_are_confined_sized_first_and_every_s3_error_fails_its_request_with_a_report(
    tmp_path, fresh_moto
):
    """Issue 9 point 5: templates and keys outside attachments/ are refused, an object over the message
    budget is refused after HEAD, and NoSuchBucket/NoSuchKey/NoSuchVersion fail the request with a
    report instead of crash-looping the record."""
    from tests.stack.moto import aws_client

    with LocalStack(tmp_path / "stack", moto=fresh_moto, function_env={"MAX_MESSAGE_BYTES": "200000"}) as stack:
        bucket = stack.stack.name("ContentBucket")
        s3 = aws_client("s3", stack.moto.endpoint_url)
        s3.put_object(Bucket=bucket, Key="attachments/ok.pdf", Body=b"%PDF-1.4 small")
        s3.put_object(Bucket=bucket, Key="attachments/big.bin", Body=b"\0" * 300_000)
        s3.put_object(Bucket=bucket, Key="templates/welcome.json", Body=b'{"subject": "secret"}')
        s3.put_object(Bucket=bucket, Key="other-producer/file.pdf", Body=b"theirs")

        def attach(key, to, bucket=bucket, **extra):
            ref = {"bucket": bucket, "key": key, **extra}
            return send_request(to=[to], attachments=[{"filename": "f.pdf", "s3": ref}])

        cases = {
            "ok@example.net": (attach("attachments/ok.pdf", "ok@example.net"), None),
            "tpl@example.net": (attach("templates/welcome.json", "tpl@example.net"), "outside the attachment prefix"),
            "other@example.net": (attach("other-producer/file.pdf", "other@example.net"), "outside the attachment"),
            "big@example.net": (attach("attachments/big.bin", "big@example.net"), "300000 bytes"),
            "nokey@example.net": (attach("attachments/missing.pdf", "nokey@example.net"), "does not exist"),
            "nobucket@example.net": (
                attach("attachments/ok.pdf", "nobucket@example.net", bucket="no-such-bucket-md"),
                "not in the content bucket",
            ),
            "noversion@example.net": (
                attach("attachments/ok.pdf", "noversion@example.net", version_id="no-such-version"),
                "version",
            ),
        }
        stack.enqueue([body for body, _ in cases.values()])
        stack.drain(timeout_s=60)
        events = stack.bounce_events()

        assert stack.copies_received() == {"ok@example.net": 1}
        errors = {r["address"]: e["detail"]["error"] or "" for e in events for r in e["detail"]["recipients"]}
        for address, (_, expected) in cases.items():
            if expected is not None:
                assert expected in errors.get(address, ""), f"{address}: {errors.get(address)!r}"


def test_a_hostile_template_fails_alone_and_the_good_records_of_its_batch_go_in_the_same_invocation(
    tmp_path, fresh_moto
):
    env = {"RENDER_TIMEOUT": "0.5", "RENDER_MEMORY_MB": "128"}
    with LocalStack(tmp_path / "s", moto=fresh_moto, function_env=env) as stack:

        def templated(key: str, text: str) -> str:
            return json.dumps(
                {
                    "message_key": key,
                    "from": SHOP,
                    "to": [f"{key}@example.net"],
                    "template": {"subject": "Hi {{ name }}", "text": text},
                    "variables": {"name": "An"},
                }
            )

        hostile = templated("hog", "{% for x in 'x'*2000000 %}{% for y in 'x'*2000000 %}{% endfor %}{% endfor %}")
        greedy = templated("greedy", "{{ (['x'*2000000]*200)|join|length }}")
        good = [templated(f"good{i}", "Hello {{ name }}") for i in range(4)]
        stack.enqueue([hostile, *good, greedy])
        invocations = stack.drain(timeout_s=60)
        assert stack.copies_received() == {f"good{i}@example.net": 1 for i in range(4)}
        dispatch = [i for i in invocations if "Dispatch" in i.function_name]
        assert not any(i.failed_ids for i in dispatch), "nothing was left for a retry"
        assert len(dispatch) == 1 and len(dispatch[0].record_ids) == 6  # the batch went through in one invocation
        errors = {e["detail"]["message_key"]: e["detail"]["error"] for e in stack.bounce_events()}
        # The CPU limit or, on a machine too loaded to give the worker its CPU, the wall-clock backstop;
        # which one is test_render_worker's concern, this test's is that the batch went on without it.
        assert "CPU budget (0.5 s)" in errors["hog"] or "time budget" in errors["hog"]
        assert "memory budget (128 MiB)" in errors["greedy"]
        assert stack.queue_depth("DeadLetterQueue") == 0 and stack.queue_depth("SendQueue") == 0
