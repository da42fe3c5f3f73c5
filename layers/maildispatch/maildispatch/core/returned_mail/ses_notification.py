"""Amazon SES bounce, complaint and delivery notifications (SNS JSON), as returned-message verdicts.

SES sends them through SNS; a subscription may deliver them as mail ("AWS Notification Message",
the JSON in the body, sometimes wrapped in the SNS envelope). The intake plumbing will also call
`verdicts_from_ses` directly with the decoded notification.

The SES bounce category is advisory only: the per-recipient status and diagnostic decide, so a
"Transient" bounce carrying `5.4.4 Invalid domain` is a hard `hostunknown`, as it should be.
"""

from __future__ import annotations

import json
import re
from typing import Any

from maildispatch.core.returned_mail.model import ReturnedKind

from .model import RecipientVerdict, ReturnedMessage, is_hard
from .reason import assess
from .smtp_text import find_reply_code, find_status, unwrap_relayed_reply

# bounceSubType -> reason, used only when the status and the diagnostic say nothing more specific.
_SUBTYPE_REASONS = {
    "noemail": "userunknown",
    "mailboxfull": "mailboxfull",
    "messagetoolarge": "mesgtoobig",
    "contentrejected": "filtered",
    "attachmentrejected": "contenterror",
    "suppressed": "onhold",
    "onaccountsuppressionlist": "onhold",
}


def find_ses_notification(body: str) -> dict[str, Any] | None:
    """The SES notification in a mail body, unwrapped from an SNS envelope; None when there is none."""
    if "notificationType" not in body and "eventType" not in body:
        return None
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        return None
    text = body[start : end + 1]
    for candidate in (text, text.replace("\r\n ", "").replace("\n ", ""), re.sub(r"\r?\n", "", text)):
        try:
            doc = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(doc, dict) and isinstance(doc.get("Message"), str):
            try:
                doc = json.loads(doc["Message"])
            except ValueError:
                return None
        if isinstance(doc, dict) and (doc.get("notificationType") or doc.get("eventType")):
            return doc
    return None


def verdicts_from_ses(doc: dict[str, Any]) -> ReturnedMessage:
    kind_name = str(doc.get("notificationType") or doc.get("eventType") or "").lower()
    mail = doc.get("mail") or {}
    message_id = _message_id(mail)
    if kind_name == "complaint":
        complaint = doc.get("complaint") or {}
        feedback = complaint.get("complaintFeedbackType") or "abuse"
        recipients = tuple(
            RecipientVerdict(r.get("emailAddress"), None, None, None, "feedback", None)
            for r in complaint.get("complainedRecipients") or [{}]
        )
        return ReturnedMessage(
            ReturnedKind.COMPLAINT,
            recipients,
            original_message_id=message_id,
            feedback_type=feedback,
            arrival_date=complaint.get("timestamp"),
        )
    if kind_name == "delivery":
        delivery = doc.get("delivery") or {}
        response = delivery.get("smtpResponse")
        recipients = tuple(
            RecipientVerdict(
                address,
                find_status(response) or "2.0.0",
                find_reply_code(response),
                response,
                "delivered",
                None,
                delivery.get("reportingMTA"),
                "delivered",
            )
            for address in delivery.get("recipients") or [None]
        )
        return ReturnedMessage(
            ReturnedKind.DELIVERED,
            recipients,
            original_message_id=message_id,
            reporting_mta=delivery.get("reportingMTA"),
            arrival_date=delivery.get("timestamp"),
        )
    bounce = doc.get("bounce") or {}
    subtype = str(bounce.get("bounceSubType") or "").lower()
    verdicts = []
    for r in bounce.get("bouncedRecipients") or [{}]:
        diagnostic = r.get("diagnosticCode")
        status, reply_code, remote_text = unwrap_relayed_reply(diagnostic)
        status = status or r.get("status") or find_status(diagnostic)
        reply_code = reply_code or find_reply_code(diagnostic)
        diagnostic = remote_text or diagnostic
        found = assess(status, reply_code, diagnostic, None, r.get("action"))
        reason, rule, evidence, confidence = found.reason, found.rule, found.evidence, found.confidence
        if reason in ("onhold", "undefined") and subtype in _SUBTYPE_REASONS:
            # SES's own subtype: a summary, so weak (a hard reading from it alone suppresses nothing at once)
            reason, rule, evidence, confidence = (
                _SUBTYPE_REASONS[subtype],
                f"ses-{subtype}",
                f"bounceSubType {subtype}",
                "weak",
            )
        verdicts.append(
            RecipientVerdict(
                r.get("emailAddress"),
                status,
                reply_code,
                diagnostic,
                reason,
                is_hard(reason, status, reply_code),
                bounce.get("reportingMTA"),
                r.get("action"),
                rule=rule,
                evidence=evidence,
                confidence=confidence,
            )
        )
    kind = ReturnedKind.DELAY if verdicts and all(v.action == "delayed" for v in verdicts) else ReturnedKind.BOUNCE
    return ReturnedMessage(
        kind,
        tuple(verdicts),
        original_message_id=message_id,
        reporting_mta=bounce.get("reportingMTA"),
        arrival_date=bounce.get("timestamp"),
    )


def _message_id(mail: dict[str, Any]) -> str | None:
    for h in mail.get("headers") or ():
        if isinstance(h, dict) and str(h.get("name", "")).lower() == "message-id":
            return h.get("value")
    common = mail.get("commonHeaders") or {}
    return common.get("messageId") or mail.get("messageId")
