"""Structure and standards that decide a verdict without any one MTA's wording (issue 13, round four).

Each case is written from a standard (RFC 5321, RFC 3463, RFC 7208) or a provider's published error
reference, never from a bounce collection. They are the rules that raised the leave-one-family-out
score: read the structure of a report, not the words of the family that wrote it.
"""

from __future__ import annotations

import pytest

from maildispatch.core.returned_mail import classify_returned_message
from maildispatch.core.returned_mail.reason import assess
from maildispatch.core.returned_mail.smtp_text import complete_multiline, find_command


def sendmail_style_dsn(first_line: str, transcript: str, status: str) -> bytes:
    """An RFC 3464 report whose Diagnostic-Code keeps only the first line of a multiline reply, while
    the human-readable part quotes the whole session (as Sendmail's reports do)."""
    return f"""\
From: Mail Delivery Subsystem <MAILER-DAEMON@mta1.example.com>
To: shop@example.com
Subject: Returned mail: see transcript for details
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b0"

--b0
Content-Type: text/plain; charset=us-ascii

   ----- The following addresses had permanent fatal errors -----
<someone@example.net>
    (reason: {first_line})

   ----- Transcript of session follows -----
... while talking to mx.example.net.:
{transcript}
554 5.0.0 Service unavailable

--b0
Content-Type: message/delivery-status

Reporting-MTA: dns; mta1.example.com

Final-Recipient: RFC822; someone@example.net
Action: failed
Status: {status}
Remote-MTA: DNS; mx.example.net
Diagnostic-Code: SMTP; {first_line}

--b0
Content-Type: text/rfc822-headers

From: shop@example.com
To: someone@example.net
Subject: hello
Message-ID: <m1@example.com>

--b0--
""".encode()


# Google's SMTP error reference, 550 5.7.1 "Our system has detected that this message is likely
# unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked.",
# sent as an RFC 5321 4.2.1 multiline reply.
GOOGLE_UNSOLICITED = (
    ">>> DATA\n"
    "<<< 550-5.7.1 Our system has detected that this message is\n"
    "<<< 550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent\n"
    "<<< 550 5.7.1 to Gmail, this message has been blocked."
)


def test_a_multiline_reply_cut_to_its_first_line_is_read_whole_from_the_transcript():
    report = classify_returned_message(
        sendmail_style_dsn("550-5.7.1 Our system has detected that this message is", GOOGLE_UNSOLICITED, "5.7.1")
    )
    (verdict,) = report.recipients
    assert verdict.reason == "spamdetected"
    assert verdict.hard is False
    assert "likely unsolicited mail" in (verdict.diagnostic or "")


def test_completion_keeps_a_first_line_that_ends_its_sentence_and_any_single_line_reply():
    whole = "<<< 550-Please turn on SMTP Authentication.\n<<< 550 relay through this server without authentication."
    assert complete_multiline("550-Please turn on SMTP Authentication.", whole) == (
        "550-Please turn on SMTP Authentication."
    )
    assert complete_multiline("550 5.1.1 User unknown", "550 5.1.1 User unknown") == "550 5.1.1 User unknown"
    assert complete_multiline("550-5.7.1 Our system has detected that this message is", GOOGLE_UNSOLICITED) == (
        "550-5.7.1 Our system has detected that this message is 550-5.7.1 likely unsolicited mail. To reduce the "
        "amount of spam sent 550 5.7.1 to Gmail, this message has been blocked."
    )


@pytest.mark.parametrize(
    "text",
    [
        # RFC 5321 4.3.1: a greeting is "<code> <domain> [text]"; a 554 greeting refuses the session
        "(reason: 554 mx3.example.net ESMTP not accepting connections)",
        "<<< 554 mx3.example.net ESMTP Service not available",
        "host mx.example.net[192.0.2.1] said: 421 smtp1.example.net ESMTP too busy",
    ],
)
def test_a_reply_shaped_like_a_greeting_answers_the_connection(text):
    assert find_command(text) == "CONN"


def test_a_reply_that_names_a_host_but_is_no_greeting_keeps_its_stage():
    assert find_command("550 5.1.1 <a@mx.example.net>: Recipient address rejected (in reply to RCPT TO)") == "RCPT"


@pytest.mark.parametrize(
    "diagnostic",
    [
        # RFC 7208 8.4 (the receiver says it refused on SPF), in wordings no specific rule knows
        "550 5.7.1 Rejected: SPF record of example.com does not authorize 192.0.2.1",
        "550 Message refused, see our SPF notes at https://postmaster.example.net/",
        "451 4.7.1 Greylisted: SPF temperror for example.com",
    ],
)
def test_spf_named_in_a_remote_refusal_is_the_senders_authentication(diagnostic):
    code = int(diagnostic[:3])
    found = assess(None, code, diagnostic, None, "failed")
    assert found.reason == "authfailure"


def test_spf_advice_from_the_reporting_system_itself_is_not_a_refusal_on_spf():
    advice = "Your message was rejected. * Set up SPF records for your sending domain if you have not done so already."
    assert assess(None, None, advice, None, "failed").reason != "authfailure"
    assert assess("5.7.1", 550, "550 5.7.1 spf=pass, but the message was refused", None, "failed").reason != (
        "authfailure"
    )


def test_an_explicit_media_or_content_code_reads_as_content_whatever_the_stage():
    # RFC 3463 X.6.0 "other or undefined media error": the message's content or form, even after DATA
    found = assess("5.6.0", 554, "554 5.6.0 Cannot process", "DATA", "failed")
    assert (found.reason, found.rule) == ("contenterror", "status-5.6.0")


def test_loose_refusal_words_that_say_try_again_later_never_read_hard():
    found = assess(
        "5.7.1",
        550,
        "550 5.7.1 <u@example.net>: Recipient address rejected: Please try again later",
        "RCPT",
        "failed",
    )
    assert found.reason != "userunknown"
    # without the temporary wording, Postfix's access(5) text still reads hard but weak (unchanged)
    loose = assess("5.7.1", 554, "554 5.7.1 <u@example.net>: Recipient address rejected: Access denied", "RCPT")
    assert (loose.reason, loose.confidence) == ("userunknown", "weak")


def test_a_report_that_says_disk_space_is_short_overrides_a_user_unknown_reply():
    found = assess("5.0.0", 550, "550 User unknown", "RCPT", "failed", "Your message was rejected: low disk space")
    assert found.reason == "systemfull"


def test_spf_as_the_name_of_a_sending_identity_is_no_authentication_verdict():
    # Google SMTP error reference, 421 4.7.28: a rate limit on mail "originating from your SPF domain"
    text = (
        "421 4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your SPF domain "
        "[example.com]. To protect our users from spam, mail sent from your domain has been temporarily rate limited."
    )
    assert assess("4.7.28", 421, text, "DATA", "failed").reason == "speeding"


def test_a_header_named_dkim_signature_is_no_authentication_verdict():
    found = assess(None, 554, "554 Transaction failed: Duplicate header 'DKIM-Signature'.", "DATA", "failed")
    assert found.reason != "authfailure"


@pytest.mark.parametrize(
    "diagnostic",
    [
        # RFC 3207: the session's encryption is what failed
        "500 Remote server does not support TLS (state 6).",
        "454 TLS negotiation with the server broke off",
    ],
)
def test_tls_named_in_a_refusal_is_a_failed_starttls(diagnostic):
    found = assess(None, int(diagnostic[:3]), diagnostic, None, "failed")
    assert found.reason == "failedstarttls"


@pytest.mark.parametrize(
    "diagnostic",
    [
        "Delivery attempts to mx.example.net [192.0.2.9]:25 were unsuccessful",
        "The recipient's server turned down our attempts to connect [mx.example.net 192.0.2.9: no answer]",
    ],
)
def test_a_connection_attempt_that_no_server_answered_is_an_expired_delivery(diagnostic):
    # RFC 3463 X.4.1 "no answer from host", in a report that gave up: no reply code anywhere
    found = assess(None, None, diagnostic, None, "failed")
    assert (found.reason, found.rule) == ("expired", "no-answer-from-host")
    assert found.confidence == "weak"


def test_a_server_that_replied_is_read_by_its_reply_not_as_no_answer():
    found = assess(None, 550, "mx.example.net [192.0.2.9]:25 said: 550 go away", None, "failed")
    assert found.rule != "no-answer-from-host"


@pytest.mark.parametrize(
    "said_once",
    [
        "Your message was not delivered within 2 days and 0 hours. The following recipients did not receive it:",
        "Delivery to the following recipients was aborted after 48 hour(s):",
        "This message could not be delivered for 5 days.",
    ],
)
def test_a_report_that_gave_up_after_a_stated_time_is_an_expired_delivery(said_once):
    # RFC 3463 X.4.7 "delivery time expired", said once in the report's own words
    found = assess(None, None, None, None, "failed", said_once)
    assert found.reason == "expired"


def exchange_online_ndr(diagnostic: str, status: str) -> bytes:
    """An Exchange Online report relaying a remote server's reply after its own code and reading."""
    return f"""\
From: postmaster@outlook.example.com
To: shop@example.com
Subject: Undeliverable: hello
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b0"

--b0
Content-Type: text/plain; charset=us-ascii

Delivery has failed to these recipients or groups:

someone@mobile.example.jp
The recipient's mail server refused the message.

--b0
Content-Type: message/delivery-status

Reporting-MTA: dns;SG2P000.mail.protection.outlook.com

Final-Recipient: rfc822;someone@mobile.example.jp
Action: failed
Status: {status}
Diagnostic-Code: smtp;{diagnostic}
Remote-MTA: dns;mx.mobile.example.jp

--b0--
""".encode()


def test_exchange_relaying_a_reply_that_carries_its_own_code_is_read_by_that_code():
    # Exchange Online's 5.7.350 "Remote server returned message detected as spam -> <the reply>":
    # the remote server's own reply (a block list here) says why, not Exchange's reading.
    report = classify_returned_message(
        exchange_online_ndr(
            "550 5.7.350 Remote server returned message detected as spam -> 554 5.7.1 Service unavailable;"
            " Client host [192.0.2.1] blocked using zen.spamhaus.org",
            "5.7.350",
        )
    )
    (verdict,) = report.recipients
    assert verdict.reason == "blocked"
    assert verdict.reply_code == 554
    assert verdict.status == "5.7.1"


def test_a_reply_with_an_empty_address_slot_answered_data_and_an_unknown_user_there_is_a_filter():
    # au/KDDI (published by senders who measured it): "550 <a@b>: User unknown" answers RCPT TO for an
    # address that does not exist, "550 : User unknown" answers the end of DATA when the recipient's own
    # filter refuses the sender. Exchange's unregistered 5.1.351 (its reading of any remote 550) does
    # not outweigh the stage.
    report = classify_returned_message(
        exchange_online_ndr(
            "550 5.1.351 Remote server returned unknown recipient or mailbox unavailable -> 550 : User unknown",
            "5.1.351",
        )
    )
    (verdict,) = report.recipients
    assert (verdict.reason, verdict.hard, verdict.suppressible) == ("filtered", False, False)
    assert verdict.status == "5.1.351"  # the report's code is still what is reported
    assert verdict.diagnostic == "550 : User unknown"


def test_the_same_relayed_reply_naming_the_address_stays_an_unknown_user():
    report = classify_returned_message(
        exchange_online_ndr(
            "550 5.1.351 Remote server returned unknown recipient or mailbox unavailable"
            " -> 550 <someone@mobile.example.jp>: User unknown",
            "5.1.351",
        )
    )
    (verdict,) = report.recipients
    assert (verdict.reason, verdict.hard) == ("userunknown", True)


def test_a_registered_unknown_user_code_at_data_is_still_an_unknown_user():
    # RFC 3463 X.1.1 is the registry's own "bad destination mailbox address": decisive at any stage.
    found = assess("5.1.1", 550, "550 5.1.1 : User unknown", command="DATA")
    assert found.reason == "userunknown"
