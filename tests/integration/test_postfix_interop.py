"""Real MTA interop: the pipeline submits through a real Postfix instead of our scripted relay.

    SQS -> dispatch --STARTTLS, no AUTH--> Postfix --> downstream capture (scripted relay, plain)
                                              |
    DLQ -> bounce  --STARTTLS, no AUTH--> Postfix --> senders' capture (example.com): our DSNs
                                                      and Postfix's own bounces

Postfix (tests/stack/postfix.py) is Debian's, with a private configuration on 127.0.0.1. One
send request goes to five recipients, each of which meets a different part of Postfix:

- an.nguyen@  accepted, relayed downstream, delivered
- ghost@      refused at RCPT (550 5.1.1): our DSN quotes Postfix's reply, "Email Bounced"
- busy@       deferred at RCPT (450 4.2.0) at every attempt: retried until the give-up horizon,
              then our DSN with 4.4.7
- later@      deferred at RCPT once (450 ... "try again in 2 seconds"); the test then drops
              it from Postfix's access table and reloads Postfix, and the retry goes through
- gone@       accepted by Postfix, refused by the downstream server: Postfix itself bounces
              it later, as mail, to the envelope sender (the RFC 3464 report issue 5 reads)

The schedule is compressed to seconds (RETRY_SCHEDULE 2s, RETRY_MAX_AGE 3s), not skipped.
The run happens once; the tests below read different parts of it.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass

import pytest

from tests.conftest import require_binary
from tests.stack.local_stack import LocalStack
from tests.stack.postfix import PostfixMta
from tests.stack.relay_fixtures import RelayProcess

SHOP = "shop@example.com"
RETURN_PATH = "bounces@example.com"  # envelope sender: where our DSNs and Postfix's bounces go
MESSAGE_KEY = "order-2002-shipped"

DELIVERED = "an.nguyen@example.net"
REFUSED = "ghost@example.net"
DEFERRED = "busy@example.org"
LET_THROUGH = "later@example.org"
REFUSED_DOWNSTREAM = "gone@example.net"

POSTFIX_ACCESS = {  # Postfix's check_recipient_access table: refused or deferred at RCPT TO
    REFUSED: "550 5.1.1 User unknown in virtual mailbox table",
    DEFERRED: "450 4.2.0 Mailbox busy",
    LET_THROUGH: "450 4.2.0 Mailbox busy, try again in 2 seconds",
}
DOWNSTREAM_SCRIPT = {
    "rcpt": {
        REFUSED_DOWNSTREAM: [
            f"550 5.1.1 <{REFUSED_DOWNSTREAM}>: Recipient address rejected: User unknown in local recipient table"
        ]
    }
}
# Attempts at 0 s, about 2 s and (if not already past it) the 3 s horizon; a recipient still
# deferred at the horizon expires (4.4.7). later@'s stated 2 s delay is honoured (the floor is
# 1 s), and the hook below reloads Postfix before the next poll anyway.
RETRY_ENV = {"RETRY_SCHEDULE": "2s", "RETRY_MAX_AGE": "3s", "RETRY_STATED_DELAY_FLOOR": "1s"}
# Postfix reads the fixed access table in new sessions only (`postfix reload` lets running smtpd
# sessions finish): a warm connection kept across invocations would keep the old session until
# its idle timeout, so the deferred retry of later@ must come on a fresh connection.
SESSION_ENV = {"SMTP_IDLE_TIMEOUT": "1"}

REQUEST = {
    "message_key": MESSAGE_KEY,
    "from": f"Cửa hàng Hoa Sen <{SHOP}>",
    "return_path": RETURN_PATH,
    "to": [DELIVERED, REFUSED, DEFERRED, LET_THROUGH, REFUSED_DOWNSTREAM],
    "subject": "Đơn hàng #2002 đã được gửi đi",
    "text": "Đơn hàng #2002 đã rời kho hôm nay.",
}


class LetThroughAfterFirstRefusal:
    """A drain hook: once Postfix has refused `address`, drop it from the access table and reload
    Postfix, as an operator fixing a mailbox would. It never ends the drain (returns False)."""

    def __init__(self, mta: PostfixMta, address: str) -> None:
        self.mta = mta
        self.address = address
        self.done = False

    def __call__(self) -> bool:
        if not self.done and self.mta.rcpt_rejections(self.address):
            self.mta.set_recipient_access({k: v for k, v in self.mta.recipient_access.items() if k != self.address})
            self.done = True
        return False


@dataclass
class InteropRun:
    mta: PostfixMta
    downstream: RelayProcess
    senders: RelayProcess
    stack: LocalStack
    events: list[dict]
    ledger: dict[str, dict]  # recipient -> ledger item of our message


@pytest.fixture(scope="module")
def run(tmp_path_factory, moto_server):
    require_binary("postfix", "postfix")
    if os.geteuid() != 0:
        pytest.skip("a real Postfix needs root: its master process starts as root and drops to `postfix`")
    moto_server.reset()
    work = tmp_path_factory.mktemp("postfix-interop")
    with (
        RelayProcess().start(work / "downstream", DOWNSTREAM_SCRIPT, security="none") as downstream,
        RelayProcess().start(work / "senders", {}, security="none") as senders,
        PostfixMta(
            recipient_access=POSTFIX_ACCESS,
            relayhost=(downstream.host, downstream.port),
            transports={"example.com": (senders.host, senders.port)},
            keep_logs_in=work,
        ).start() as mta,
        LocalStack(
            work / "stack", moto=moto_server, function_env={**mta.submission_env(), **RETRY_ENV, **SESSION_ENV}
        ) as stack,
    ):
        release = LetThroughAfterFirstRefusal(mta, LET_THROUGH)
        stack.enqueue([json.dumps(REQUEST, ensure_ascii=False)])
        # Waiting records count as pending, so a short idle time cannot end the drain early.
        stack.runner.drain(release, timeout_s=60, idle_s=0.5)
        mta.wait_until_idle()  # Postfix has passed everything on, its own bounce included
        stack.close_functions()  # the warm connections QUIT, so Postfix logs every session's summary
        mta.wait_until_sessions_logged()
        events = stack.bounce_events()
        ledger = {i["recipient"]["S"]: i for i in stack.ledger_items() if i["message_key"]["S"] == MESSAGE_KEY}
        yield InteropRun(mta, downstream, senders, stack, events, ledger)


def delivery_status(report) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The per-message fields and the per-recipient groups of an RFC 3464 report (unfolded)."""
    [part] = [p for p in report.walk() if p.get_content_type() == "message/delivery-status"]
    groups = [{name: " ".join(str(value).split()) for name, value in group.items()} for group in part.get_payload()]
    return groups[0], groups[1:]


def reports_for(run: InteropRun, recipient: str, reporting_mta: str) -> list:
    """Reports that reached the senders' capture about `recipient`, written by `reporting_mta`."""
    found = []
    for message in run.senders.messages():
        per_message, groups = delivery_status(message)
        if per_message["Reporting-MTA"] == f"dns; {reporting_mta}" and any(
            g["Final-Recipient"].replace(" ", "") == f"rfc822;{recipient}" for g in groups
        ):
            found.append(message)
    return found


def test_each_recipient_ends_as_postfix_decided(run):
    states = {recipient: item["state"]["S"] for recipient, item in run.ledger.items()}
    assert states == {
        DELIVERED: "delivered",
        REFUSED: "bounced",
        DEFERRED: "bounced",  # expired
        LET_THROUGH: "delivered",
        REFUSED_DOWNSTREAM: "delivered",  # to Postfix, which took responsibility; its bounce comes as mail
    }, run.mta.maillog()
    assert sorted(
        (e["detail"]["reason"], r["address"], r["status"]) for e in run.events for r in e["detail"]["recipients"]
    ) == [
        ("expired", DEFERRED, "4.4.7"),
        ("rejected", REFUSED, "5.1.1"),
    ]
    assert all(e["detail-type"] == "Email Bounced" and e["detail"]["message_key"] == MESSAGE_KEY for e in run.events)
    assert run.stack.queue_depth("SendQueue") == 0 and run.stack.queue_depth("DeadLetterQueue") == 0
    assert run.mta.queued() == []


def test_the_recipient_postfix_refuses_at_rcpt_gets_our_dsn_quoting_postfix(run):
    [refusal] = run.mta.rcpt_rejections(REFUSED)
    assert refusal.reply == f"550 5.1.1 <{REFUSED}>: Recipient address rejected: User unknown in virtual mailbox table"
    assert refusal.sender == RETURN_PATH
    [dsn] = reports_for(run, REFUSED, "mail.example.com")
    assert dsn["X-Envelope-From"] == "<>" and dsn["X-Envelope-To"] == RETURN_PATH
    assert dsn.get_content_type() == "multipart/report" and dsn.get_param("report-type") == "delivery-status"
    assert dsn["Auto-Submitted"] == "auto-replied"
    assert "by mta.test (Postfix)" in str(dsn["Received"])  # it went through Postfix too
    per_message, [group] = delivery_status(dsn)
    assert per_message["Original-Envelope-Id"] == MESSAGE_KEY
    assert group["Final-Recipient"] == f"rfc822; {REFUSED}"
    assert group["Action"] == "failed" and group["Status"] == "5.1.1"
    assert group["Remote-MTA"] == "dns; 127.0.0.1"
    assert group["Diagnostic-Code"] == f"smtp; {refusal.reply}"  # Postfix's reply, word for word
    [event] = [e["detail"] for e in run.events if e["detail"]["reason"] == "rejected"]
    [recipient] = event["recipients"]
    assert recipient["address"] == REFUSED and refusal.reply in recipient["diagnostic"]


def test_a_recipient_postfix_keeps_deferring_expires_with_4_4_7(run):
    refusals = run.mta.rcpt_rejections(DEFERRED)
    assert len(refusals) >= 2, "retried before giving up"
    assert {r.reply for r in refusals} == {f"450 4.2.0 <{DEFERRED}>: Recipient address rejected: Mailbox busy"}
    assert int(run.ledger[DEFERRED]["attempts"]["N"]) == len(refusals)  # every attempt reached Postfix, no other
    [dsn] = reports_for(run, DEFERRED, "mail.example.com")
    _, [group] = delivery_status(dsn)
    assert group["Action"] == "failed" and group["Status"] == "4.4.7"
    assert group["Diagnostic-Code"] == f"smtp; {refusals[-1].reply}"
    [event] = [e["detail"] for e in run.events if e["detail"]["reason"] == "expired"]
    assert [r["address"] for r in event["recipients"]] == [DEFERRED]


def test_a_deferred_recipient_goes_through_once_postfix_lets_it(run):
    [refusal] = run.mta.rcpt_rejections(LET_THROUGH)
    assert refusal.reply.startswith("450 4.2.0") and "try again in 2 seconds" in refusal.reply
    assert run.ledger[LET_THROUGH]["attempts"]["N"] == "2"
    [delivery] = run.mta.deliveries(LET_THROUGH)
    assert delivery.status == "sent" and delivery.relay == f"127.0.0.1[127.0.0.1]:{run.downstream.port}"
    assert [m["X-Envelope-To"] for m in run.downstream.messages()].count(LET_THROUGH) == 1


def test_both_functions_submit_over_starttls_without_auth(run):
    sessions = [s for s in run.mta.smtpd_sessions() if "mail" in s]
    # Two dispatch attempts and at least one DSN (the refusals are reported together or apart,
    # depending on timing), in as many sessions as warm connections allowed (Postfix logs
    # `mail=accepted/tried` per session).
    transactions = sum(int(s["mail"].split("/")[-1]) for s in sessions)
    assert transactions >= 3, sessions
    assert all(s.get("starttls") == "1" and "auth" not in s for s in sessions), sessions


def test_postfix_offers_chunking_and_every_message_goes_as_one_bdat_chunk_behind_the_envelope(run):
    # RFC 3030: Postfix's smtpd offers CHUNKING; no DATA, one BDAT ... LAST per transaction.
    sessions = [s for s in run.mta.smtpd_sessions() if "mail" in s]

    # Postfix logs `command=count` or `command=accepted/tried` per session: as many BDATs tried as MAILs
    # ("bdat=0/1" where every recipient was refused, and Postfix then refuses the chunk too).
    def tried(session: dict[str, str], command: str) -> str:
        return session.get(command, "0").split("/")[-1]

    assert sessions and all("data" not in s and tried(s, "bdat") == tried(s, "mail") for s in sessions), sessions


def test_accepted_mail_arrives_downstream_intact(run):
    [message] = [m for m in run.downstream.messages() if m["X-Envelope-To"] == DELIVERED]
    assert message["X-Envelope-From"] == RETURN_PATH
    assert message["Subject"] == REQUEST["subject"] and "Cửa hàng Hoa Sen" in str(message["From"])
    assert message.get_body(("plain",)).get_content().strip() == REQUEST["text"]
    received = " ".join(str(r) for r in message.get_all("Received"))
    assert "by mta.test (Postfix) with ESMTPS" in received  # we submitted over STARTTLS


def test_postfix_bounces_a_downstream_refusal_to_the_envelope_sender_as_rfc_3464(run):
    [delivery] = run.mta.deliveries(REFUSED_DOWNSTREAM)
    assert delivery.status == "bounced" and delivery.dsn == "5.1.1"
    [bounce] = reports_for(run, REFUSED_DOWNSTREAM, "mta.test")
    assert bounce["X-Envelope-From"] == "<>" and bounce["X-Envelope-To"] == RETURN_PATH
    assert bounce["Subject"] == "Undelivered Mail Returned to Sender"
    assert bounce["From"].addresses[0].addr_spec == "MAILER-DAEMON@mta.test"
    assert bounce["Auto-Submitted"] == "auto-replied"
    assert bounce.get_content_type() == "multipart/report" and bounce.get_param("report-type") == "delivery-status"
    per_message, [group] = delivery_status(bounce)
    assert per_message["Reporting-MTA"] == "dns; mta.test"
    assert per_message["X-Postfix-Sender"] == f"rfc822; {RETURN_PATH}"
    assert "Arrival-Date" in per_message
    assert group["Final-Recipient"] == f"rfc822; {REFUSED_DOWNSTREAM}"
    assert group["Original-Recipient"].replace(" ", "") == f"rfc822;{REFUSED_DOWNSTREAM}"
    assert group["Action"] == "failed" and group["Status"] == "5.1.1"
    assert group["Remote-MTA"] == "dns; 127.0.0.1"
    assert group["Diagnostic-Code"] == f"smtp; {DOWNSTREAM_SCRIPT['rcpt'][REFUSED_DOWNSTREAM][0]}"
    # The original comes back whole: its Message-ID ties the bounce to our message key.
    [returned] = [p for p in bounce.walk() if p.get_content_type() == "message/rfc822"]
    [original] = returned.get_payload()
    [delivered] = [m for m in run.downstream.messages() if m["X-Envelope-To"] == DELIVERED]
    assert original["Message-ID"] == delivered["Message-ID"]
    assert original["Subject"] == REQUEST["subject"]


def test_nothing_was_sent_twice(run):
    copies = Counter(m["X-Envelope-To"] for m in run.downstream.messages())
    assert copies == {DELIVERED: 1, LET_THROUGH: 1}
    downstream_rcpts = Counter(e["recipient"] for e in run.downstream.log_events("rcpt"))
    assert downstream_rcpts == {DELIVERED: 1, LET_THROUGH: 1, REFUSED_DOWNSTREAM: 1}
    # Postfix passes each recipient it accepted on exactly once: so it accepted each once.
    passed_on = Counter(d.recipient for d in run.mta.deliveries() if d.recipient != RETURN_PATH)
    assert passed_on == {DELIVERED: 1, LET_THROUGH: 1, REFUSED_DOWNSTREAM: 1}
    assert len(run.mta.rcpt_rejections(REFUSED)) == 1  # a 5xx is never asked again
    reports = Counter(delivery_status(m)[0]["Reporting-MTA"] for m in run.senders.messages())
    assert reports == {"dns; mail.example.com": 2, "dns; mta.test": 1}  # ghost + busy from us, gone from Postfix
