"""Where a returned message's verdict came from, as far as it bears on trust.

An SES notification is trusted only when it arrives on the returned-mail queue in an SNS envelope
whose signature verifies (core/sns_signature.py, adapters/sns_signature.py). The same JSON inside a
stored mail's body is only text anyone could have mailed to the bounce domain: it proves nothing.
So such a message is reported and counted, never suppresses.
"""

from __future__ import annotations


def carries_ses_notification(raw: bytes) -> bool:
    """The stored mail's text holds an SES notification (what the classifier would read it as)."""
    from maildispatch.core.returned_mail import mimewalk, ses_notification

    try:
        walked = mimewalk.walk(mimewalk.parse_message(raw), raw)
        return ses_notification.find_ses_notification("\n".join(walked.texts)) is not None
    except Exception:  # unparseable mail classifies as unclassified; it carries nothing trusted
        return False
