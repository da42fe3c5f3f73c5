"""Held-out bounces, round fourteen: what big RECEIVING hosts answer, quoted in a sender's returned message.

Round eight (test_returned_provider_references.py) covered Comcast, Cox, AT&T, iCloud's CS01/CS02, Orange, La Poste,
SFR, T-Online, GMX/Web.de, Yandex's "No such user" and spam replies, NetEase, Zoho's 541/452, Mimecast, Barracuda,
Cisco, Trend Micro, Symantec, Rackspace and others; round four (test_returned_provider_codes.py) Google's, Exchange
Online's and Yahoo's TS0x/PH01 codes. This file covers receivers they did not reach: GoDaddy / Secureserver ("IB"
codes), Telstra / BigPond, Spectrum / Charter / Roadrunner ("AUP#" codes), Outlook.com's consumer postmaster codes
(SC-002..004, DY-002, OU-001/002, the AS-numbered block list), Yahoo's codes other than TS0x / PH01 / TSS04, AOL's
old "(RTR:..)" / "(RLY:..)" / "(DNS:..)" codes, Google's 2024 bulk-sender codes (4.7.27 .. 5.7.32), Proofpoint
Essentials (through its reseller's list), Apple iCloud's HM08, Free.fr, Mail.ru, Yandex's other replies, Zoho as a
receiver, and Tencent QQ's codes round twelve left out.

Each row is one reply text as the receiver's own help / postmaster page writes it, or a page that quotes its replies;
the URL is named above each group. Texts marked "(read)" were read in that page during this round; texts marked
"(recalled)" are written as the named page publishes them, from memory of it, without re-reading it this round (so
their wording may differ in small ways from the live page; the reading asked of the classifier does not hang on
those details). Nothing was taken from any bounce collection. The expected verdict was written from the provider's
explanation and RFC 3463 / RFC 5321 before the classifier was run (issue 13, round fourteen). Where the explanation
leaves two readings open the row lists both; hard or soft follows the reason (`model.is_hard`), never the reply's
first digit; when unsure between hard and soft the row says soft.

Every row is classified in up to four whole returned messages (built by round eight's helpers): an RFC 3464 report as
Postfix writes it, a Postfix-style text bounce, an Exim bounce (a permanent reply with a stated SMTP stage) and
Sendmail's returned message (with a stated stage). They must agree with each other and with the expectation.
Refusals aimed at the sending host, its reputation, its set-up or its rate must never read hard.
"""

from __future__ import annotations

import pytest

from maildispatch.core.returned_mail import classify_returned_message
from tests.unit.test_returned_provider_references import (
    RCPT,
    Row,
    as_dsn,
    as_exim_text,
    as_postfix_text,
    as_sendmail_text,
)

NEVER_SUPPRESS = {"blocked", "badreputation", "authfailure", "requireptr", "policyviolation", "spamdetected"}
ANY_SPAM_OR_VIRUS = ("spamdetected", "virusdetected")

# --- GoDaddy / Secureserver (its inbound "IB" servers) ----------------------------------------------------------------
# https://www.godaddy.com/help/fix-rejected-email-with-a-bounce-error-40685 (read): "Example: If your bounceback says,
# "552 Message rejected for spam or virus content," ..."; "550 Recipient not found: The recipient is not a valid email
# address". The IB codes as a hoster's page quotes that help page (read):
# http://topwebhostingoffers.com/various-email-bounce-backs-on-a-cpanel-server/ "550 From: Domain is invalid. Please
# provide a valid From: IB506" ("the domain hasn't any valid mx records"), "550 Invalid SPF record. Please inspect your
# SPF settings, and try again. IB508" ("an SPF record that does not authorize the sending email server"), "421
# Temporarily rejected. Reverse DNS for this IP failed. IB108" ("does not have reverse DNS setup, or the DNS lookup
# failed"). GoDaddy's inbound servers' own recipient refusal, with its link to that help page (recalled):
# "550 5.1.1 <addr> Recipient not found. <http://x.co/irbounce>".
GODADDY = "GoDaddy"
GODADDY_ROWS = [
    Row(
        GODADDY,
        421,
        None,
        "Temporarily rejected. Reverse DNS for this IP failed. IB108",
        ("requireptr", "blocked"),
        False,
    ),
    Row(
        GODADDY,
        421,
        None,
        "p3plibsmtp02-07.prod.phx3.secureserver.net bizsmtp Temporarily rejected. Reverse DNS for this IP failed. IB108",
        ("requireptr", "blocked"),
        False,
        command="CONN",
    ),
    # the sender's domain, not the recipient's: a refusal of the sender, never a bad recipient domain
    Row(
        GODADDY, 550, None, "example.com From: Domain is invalid. Please provide a valid From: IB506", "rejected", False
    ),
    Row(
        GODADDY,
        550,
        None,
        "shop@example.com Invalid SPF record. Please inspect your SPF settings, and try again. IB508",
        ("authfailure", "rejected"),
        False,
    ),
    # a content refusal can only answer the message's data (the stage is structural, not stated by the page)
    Row(GODADDY, 552, None, "Message rejected for spam or virus content", ANY_SPAM_OR_VIRUS, False, command="DATA"),
    Row(
        GODADDY,
        550,
        "5.1.1",
        f"<{RCPT}> Recipient not found. <http://x.co/irbounce>",
        "userunknown",
        True,
        strong=True,
        command="RCPT",
    ),
]

# --- Telstra / BigPond -------------------------------------------------------------------------------------------------
# https://www.suped.com/knowledge/email-deliverability/troubleshooting/why-are-emails-to-bigpond-bouncing-or-being-marked-as-spam
# (read): "558 5.7.1 Message content rejected due to suspected spam. IB704x, indicating that their servers are actively
# blocking your mail" (558 is not an RFC 5321 reply code; its class digit is 5).
# https://crowdsupport.telstra.com.au/t5/broadband-nbn/why-is-my-email-being-blacklisted/ta-p/76234 (read): "nschwcmgw08p
# BigPond Outbound [OB105. Connection refused. (ip:address) is listed on the Exploits Block List (XBL)" (Spamhaus).
TELSTRA = "Telstra / BigPond"
TELSTRA_ROWS = [
    Row(
        TELSTRA,
        558,
        "5.7.1",
        "Message content rejected due to suspected spam. IB704x",
        "spamdetected",
        False,
        command="DATA",
    ),
    Row(
        TELSTRA,
        554,
        None,
        "nschwcmgw08p BigPond Outbound [OB105. Connection refused. 192.0.2.1 is listed on the Exploits Block List "
        "(XBL). Please visit http://www.spamhaus.org/xbl/ for more information.",
        "blocked",
        False,
        command="CONN",
    ),
]

# --- Spectrum / Charter / Time Warner / Roadrunner -----------------------------------------------------------------------
# https://www.spamresource.com/2019/10/charterroadrunner-bounces.html (read): "550 5.1.0 sender rejected AUP#I-1310 /
# AUP#I-1320 / AUP#I-1330 ... correlate to the ISP's Cloudmark servers putting a sender into a rate limited "time-out"
# for anywhere from five minutes up to 24 hours" (round twelve read AUP#In-1310 as `rejected`).
# http://www.myaccount.charter.com/customers/support.aspx?supportarticleid=1953 (read): "Anyone attempting to deliver mail
# to Charter's mail servers that our anti-spam application has flagged as spam should receive an SMTP reply code of "550
# Message Rejected"."
SPECTRUM = "Spectrum / Charter"
SPECTRUM_ROWS = [
    Row(
        SPECTRUM, 550, "5.1.0", "sender rejected AUP#I-1320", ("rejected", "blocked", "speeding"), False, command="MAIL"
    ),
    Row(SPECTRUM, 550, "5.1.0", "sender rejected AUP#I-1330", ("rejected", "blocked", "speeding"), False),
    # the reply alone says only "rejected"; Charter's page says it is the spam filter's: either reading, soft
    Row(SPECTRUM, 550, None, "Message Rejected", ("spamdetected", "rejected"), False, command="DATA"),
]

# --- Outlook.com / Hotmail (Microsoft consumer) -------------------------------------------------------------------------
# Outlook.com's postmaster troubleshooting page, https://sendersupport.olc.protection.outlook.com/pm/troubleshooting.aspx
# (recalled): "SC-002 Mail rejected by Outlook.com for policy reasons. The mail server IP connecting to Outlook.com server
# has exhibited namespace mining behavior."; "SC-003 ... Your IP address appears to be an open proxy/relay."; "SC-004 ...
# A block has been placed against your IP address because we have received complaints concerning mail coming from that
# IP address."; "DY-002 ... The likely cause is a compromised or virus infected server/personal computer."; "OU-001 Mail
# rejected by Outlook.com for policy reasons. To request removal from this list please visit ..."; "OU-002 Mail rejected
# by Outlook.com for policy reasons. Reasons for rejection may be related to content with spam-like characteristics or
# IP/domain reputation problems." (round four covered SC-001, DY-001, RP-001 and S3140).
# https://www.wordtothewise.com/2017/10/troubleshooting-and-codes (read): "550 5.7.1 Unfortunately, messages from
# [10.10.01.01] weren't sent. Please contact your Internet service provider since part of their network is on our block
# list (AS3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors." ("AS means
# "Anti-Spam" and the numeric code is for Microsoft to troubleshoot things on their end").
# https://techcommunity.microsoft.com/blog/microsoftdefenderforoffice365blog/strengthening-email-ecosystem-outlook%E2%80%99s-new-requirements-for-high%E2%80%90volume-senders/4399730
# (recalled): non-compliant high-volume mail to Outlook.com "will be rejected with ... 550; 5.7.515 Access denied, sending
# domain [SendingDomain] does not meet the required authentication level."
OUTLOOK = "Outlook.com"
_OLC = "Please visit http://mail.live.com/mail/troubleshooting.aspx#errors for resolution"
OUTLOOK_ROWS = [
    Row(
        OUTLOOK,
        550,
        None,
        "SC-002 (BAY004-MC5F16) Mail rejected by Outlook.com for policy reasons. The mail server IP connecting to "
        f"Outlook.com server has exhibited namespace mining behavior. {_OLC}",
        "blocked",
        False,
        command="RCPT",
    ),
    Row(
        OUTLOOK,
        550,
        None,
        "SC-003 (COL004-MC2F9) Mail rejected by Outlook.com for policy reasons. Your IP address appears to be an open "
        f"proxy/relay. {_OLC}",
        "blocked",
        False,
        command="MAIL",
    ),
    Row(
        OUTLOOK,
        550,
        None,
        "SC-004 (SNT004-MC3F40) Mail rejected by Outlook.com for policy reasons. A block has been placed against your "
        f"IP address because we have received complaints concerning mail coming from that IP address. {_OLC}",
        "blocked",
        False,
        command="MAIL",
    ),
    Row(
        OUTLOOK,
        550,
        None,
        "DY-002 (BLU004-MC1F22) Mail rejected by Outlook.com for policy reasons. The likely cause is a compromised or "
        f"virus infected server/personal computer. {_OLC}",
        "blocked",
        False,
        command="MAIL",
    ),
    Row(
        OUTLOOK,
        550,
        None,
        "OU-001 (SNT004-MC4F21) Unfortunately, messages from 192.0.2.1 weren't sent. Please contact your Internet "
        "service provider. You can tell them that Outlook.com does not accept mail from this IP address. To request "
        "removal from this list please visit http://mail.live.com/mail/troubleshooting.aspx#errors",
        "blocked",
        False,
        command="MAIL",
    ),
    # "content with spam-like characteristics or IP/domain reputation problems": either, never the recipient's fault
    Row(
        OUTLOOK,
        550,
        None,
        "OU-002 (COL004-MC1F13) Mail rejected by Outlook.com for policy reasons. Reasons for rejection may be related to "
        f"content with spam-like characteristics or IP/domain reputation problems. {_OLC}",
        ("blocked", "spamdetected", "badreputation"),
        False,
        command="DATA",
    ),
    Row(
        OUTLOOK,
        550,
        "5.7.1",
        "Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service provider since "
        "part of their network is on our block list (AS3150). You can also refer your provider to "
        "http://mail.live.com/mail/troubleshooting.aspx#errors. [DM3NAM03FT021.eop-NAM03.prod.protection.outlook.com]",
        "blocked",
        False,
        command="MAIL",
    ),
    Row(
        OUTLOOK,
        550,
        "5.7.515",
        "Access denied, sending domain example.com does not meet the required authentication level.",
        ("authfailure", "rejected", "blocked"),
        False,
        command="DATA",
    ),
]

# --- Yahoo (other than TS01-TS03, TSS04, PH01, 554.30) -------------------------------------------------------------------
# https://senders.yahooinc.com/smtp-error-codes/ (recalled): "553 5.7.2 [TSS09] All messages from [IP] will be permanently
# deferred; Retrying will NOT succeed." (the IP is blocked); "451 Message temporarily deferred due to unresolvable
# RFC.5321 from domain" (the MAIL FROM domain has no DNS); "554 Message not allowed - Headers are not RFC compliant[291]";
# "552 1 Requested mail action aborted, mailbox not found" (the recipient does not exist); "554 delivery error: dd Sorry
# your message to <addr> cannot be delivered. This account has been disabled or discontinued [#102]."
# http://support.blackpearlmail.com/knowledgebase/articles/650530-bounce-messages (read): "421 [GL01] Message from
# (X.X.X.X) temporarily deferred"; "554 delivery error: Sorry your message to [email] cannot be delivered. This account
# has been disabled or discontinued".
YAHOO = "Yahoo"
_YAHOO_SEE = "see https://senders.yahooinc.com/error-codes"
YAHOO_ROWS = [
    Row(
        YAHOO,
        553,
        "5.7.2",
        f"[TSS09] All messages from 192.0.2.1 will be permanently deferred; Retrying will NOT succeed. {_YAHOO_SEE}",
        "blocked",
        False,
        command="CONN",
    ),
    Row(
        YAHOO,
        421,
        "4.7.0",
        f"[GL01] Message from (192.0.2.1) temporarily deferred - 4.16.50; {_YAHOO_SEE}",
        ("blocked", "badreputation"),
        False,
        command="MAIL",
    ),
    Row(
        YAHOO,
        451,
        None,
        f"Message temporarily deferred due to unresolvable RFC.5321 from domain; {_YAHOO_SEE}",
        "rejected",
        False,
        command="MAIL",
    ),
    Row(
        YAHOO,
        554,
        None,
        "Message not allowed - Headers are not RFC compliant[291]",
        # as first written the row listed ("contenterror", "policyviolation", "rejected"): the list of reason names this
        # round worked from lacked the scorer's `notcompliantrfc` (a message not compliant with RFC 5322), which names
        # exactly what Yahoo says; added after the first run (an expectation corrected, not a classifier fix)
        ("notcompliantrfc", "contenterror", "policyviolation", "rejected"),
        False,
        command="DATA",
    ),
    Row(YAHOO, 552, None, "1 Requested mail action aborted, mailbox not found", "userunknown", True, command="RCPT"),
    # "disabled or discontinued": the account exists or existed; unsure whether it comes back, so soft
    Row(
        YAHOO,
        554,
        None,
        f"delivery error: dd Sorry your message to {RCPT} cannot be delivered. This account has been disabled or "
        "discontinued [#102]. - mta1210.mail.ne1.yahoo.com",
        "suspend",
        False,
        command="DATA",
    ),
]

# --- AOL's own codes (before Yahoo's) -----------------------------------------------------------------------------------
# AOL's postmaster error pages, http://postmaster.info.aol.com/errors/ (recalled): "554- (RTR:BB)" and "554- (RLY:B1)":
# the sending IP is blocked for complaints / spam; "554 (DNS:NR)": "reverse DNS lookup failed"; "521 5.2.1 : AOL will
# not accept delivery of this message." (the content was refused); "554 TRANSACTION FAILED - Unrepairable Virus
# Detected"; AOL's recipient refusal "550 5.1.1 <addr>: Recipient address rejected: aol.com" (recalled from AOL's
# "550 5.1.1" help as user unknown).
AOL = "AOL"
AOL_ROWS = [
    Row(
        AOL, 554, None, "(RTR:BB) http://postmaster.info.aol.com/errors/554rtrbb.html", "blocked", False, command="CONN"
    ),
    Row(
        AOL, 554, None, "(RLY:B1) http://postmaster.info.aol.com/errors/554rlyb1.html", "blocked", False, command="MAIL"
    ),
    Row(
        AOL,
        554,
        None,
        "(DNS:NR) http://postmaster.info.aol.com/errors/554dnsnr.html",
        ("requireptr", "blocked"),
        False,
        command="CONN",
    ),
    Row(
        AOL,
        521,
        "5.2.1",
        ": AOL will not accept delivery of this message.",
        ("spamdetected", "contenterror", "rejected", "blocked", "filtered"),
        False,
        command="DATA",
    ),
    Row(AOL, 554, None, "TRANSACTION FAILED - Unrepairable Virus Detected", "virusdetected", False, command="DATA"),
    Row(
        AOL,
        550,
        "5.1.1",
        f"<{RCPT}>: Recipient address rejected: aol.com",
        "userunknown",
        True,
        command="RCPT",
    ),
]

# --- Google: the 2024 bulk-sender codes ----------------------------------------------------------------------------------
# https://support.google.com/a/answer/3726730 ("SMTP errors and codes", recalled): "421-4.7.27 / 550-5.7.27 Your email has
# been rate limited / blocked because SPF authentication didn't pass for this message."; "4.7.29 / 5.7.29 ... because
# this message wasn't sent over a TLS connection."; "4.7.30 / 5.7.30 ... because DKIM authentication didn't pass for
# this message."; "4.7.32 / 5.7.32 ... because the From: header (RFC5322) in this message isn't aligned with either the
# authenticated SPF or DKIM organizational domain."; "421-4.7.0 Try again later, closing connection. (EHLO)".
GOOGLE = "Google"
_BULK = "Gmail requires all bulk email senders to"
GOOGLE_ROWS = [
    Row(
        GOOGLE,
        550,
        "5.7.27",
        "Your email has been blocked because SPF authentication didn't pass for this message. "
        f"{_BULK} authenticate with SPF. For more information, go to "
        "https://support.google.com/mail/answer/81126#authentication a1si123456wrb.12 - gsmtp",
        "authfailure",
        False,
        command="DATA",
    ),
    Row(
        GOOGLE,
        421,
        "4.7.30",
        "Your email has been rate limited because DKIM authentication didn't pass for this message. "
        f"{_BULK} authenticate with DKIM. For more information, go to "
        "https://support.google.com/mail/answer/81126#authentication a1si123456wrb.12 - gsmtp",
        "authfailure",
        False,
        command="DATA",
    ),
    Row(
        GOOGLE,
        550,
        "5.7.32",
        "Your email has been blocked because the From: header (RFC5322) in this message isn't aligned with either the "
        "authenticated SPF or DKIM organizational domain. For more information, go to "
        "https://support.google.com/mail/answer/81126#authentication a1si123456wrb.12 - gsmtp",
        "authfailure",
        False,
        command="DATA",
    ),
    Row(
        GOOGLE,
        421,
        "4.7.29",
        "Your email has been rate limited because this message wasn't sent over a TLS connection. "
        f"{_BULK} use TLS/SSL for SMTP connections. a1si123456wrb.12 - gsmtp",
        ("securityerror", "failedstarttls"),
        False,
        command="DATA",
    ),
    Row(
        GOOGLE,
        421,
        "4.7.0",
        "Try again later, closing connection. (EHLO) a1si123456wrb.12 - gsmtp",
        ("systemerror", "blocked", "onhold", "undefined"),
        False,
        command="CONN",
    ),
]

# --- Proofpoint Essentials (through a reseller's list) -------------------------------------------------------------------
# https://www.spambrella.com/faq/email-delivery-error-codes/ (read; Spambrella resells Proofpoint Essentials): "452 4.3.1
# Insufficient system resources" (the customer's server); "550 5.1.0 sender rejected: The senders IP address is rejected
# due to a Blacklist/ wrong SPF."; "550 5.7.1 Relay Access denied: We are a closed relay system. This means if a user is
# in the Spambrella system we will deny access to any e-mail that is not registered."
PROOFPOINT = "Proofpoint Essentials"
PROOFPOINT_ROWS = [
    Row(
        PROOFPOINT,
        550,
        "5.1.0",
        "sender rejected",
        ("rejected", "blocked", "authfailure"),
        False,
        command="MAIL",
    ),
    # the filtering service relays only for registered domains: a relay refusal, not a missing mailbox (soft)
    Row(PROOFPOINT, 550, "5.7.1", "Relay Access denied", "norelaying", False, command="RCPT"),
]

# --- Apple iCloud (other than CS01 / CS02 / DMARC / DBL) -----------------------------------------------------------------
# https://support.apple.com/en-us/102322 (Postmaster information for iCloud Mail, recalled) and the "[HM08]" reply as
# deliverability guides quote it: "554 5.7.1 [HM08] Message rejected due to local policy. Please visit
# https://support.apple.com/en-us/HT204137" (a filter on the message or the sender's reputation).
ICLOUD = "Apple iCloud"
ICLOUD_ROWS = [
    Row(
        ICLOUD,
        554,
        "5.7.1",
        "[HM08] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137",
        ("blocked", "policyviolation", "spamdetected", "rejected", "filtered"),
        False,
        command="DATA",
    ),
]

# --- Free.fr ------------------------------------------------------------------------------------------------------------
# http://postmaster.free.fr/ (recalled): "421 Too many spams from your IP (x.x.x.x), please visit http://postmaster.free.fr/"
# (the sending IP sent too much mail Free's users flagged as spam); "550 spam detected" (the message itself).
FREE = "Free.fr"
FREE_ROWS = [
    Row(
        FREE,
        421,
        None,
        "Too many spams from your IP (192.0.2.1), please visit http://postmaster.free.fr/",
        ("blocked", "badreputation"),
        False,
        command="CONN",
    ),
    Row(FREE, 550, None, "spam detected", "spamdetected", False, command="DATA"),
]

# --- Mail.ru ------------------------------------------------------------------------------------------------------------
# https://help.mail.ru/mail/error (Mail.ru's "bounce" help, recalled): "550 Message was not accepted -- invalid mailbox.
# Local mailbox <addr> is unavailable: user not found" (no such user); "... is unavailable: account is disabled" (the
# account is blocked); "550 spam message rejected. Please visit https://help.mail.ru/notspam-support/id?c=... or report
# details to abuse@corp.mail.ru."
MAILRU = "Mail.ru"
MAILRU_ROWS = [
    Row(
        MAILRU,
        550,
        None,
        f"Message was not accepted -- invalid mailbox.  Local mailbox {RCPT} is unavailable: user not found",
        "userunknown",
        True,
        strong=True,
        command="RCPT",
    ),
    Row(
        MAILRU,
        550,
        None,
        f"Message was not accepted -- invalid mailbox.  Local mailbox {RCPT} is unavailable: account is disabled",
        "suspend",
        False,
        command="RCPT",
    ),
    Row(
        MAILRU,
        550,
        None,
        "spam message rejected. Please visit https://help.mail.ru/notspam-support/id?c=AbCdEf0123 or report details "
        "to abuse@corp.mail.ru. Error code: 0123456789ABCDEF. ID: 00000001A2B3C4D5.",
        "spamdetected",
        False,
        command="DATA",
    ),
]

# --- Yandex (other than "No such user" and the SPAM refusals) -------------------------------------------------------------
# https://yandex.com/support/mail/web/letter/bounces.html ("Mail delivery error" replies, recalled): "451 4.7.1 Sorry,
# the service is currently unavailable. Please come back later." (a temporary failure on Yandex's side); "552 5.2.2
# Mailbox size limit exceeded" (the recipient's mailbox is full).
YANDEX = "Yandex"
YANDEX_ROWS = [
    Row(
        YANDEX,
        451,
        "4.7.1",
        "Sorry, the service is currently unavailable. Please come back later. 1733400000-AbCdEf0123-ab12cd",
        "systemerror",
        False,
        command="RCPT",
    ),
    Row(YANDEX, 552, "5.2.2", "Mailbox size limit exceeded", "mailboxfull", False, command="RCPT"),
]

# --- Zoho Mail as a receiver --------------------------------------------------------------------------------------------
# https://www.zoho.com/mail/help/adminconsole/email-bounce-errors.html (recalled): "553 Relaying disallowed. Invalid
# Domain - <domain>" (the recipient's domain points its MX at Zoho but is not set up there); "550 5.1.1 User does not
# exist - <addr>".
ZOHO = "Zoho Mail"
ZOHO_ROWS = [
    # the domain may be half set up (its MX moved before the account): a relay refusal, soft
    Row(
        ZOHO,
        553,
        None,
        "Relaying disallowed. Invalid Domain - example.net",
        ("norelaying", "rejected"),
        False,
        command="RCPT",
    ),
    Row(ZOHO, 550, "5.1.1", f"User does not exist - <{RCPT}>", "userunknown", True, strong=True, command="RCPT"),
]

# --- Tencent QQ Mail (codes round twelve left out) ------------------------------------------------------------------------
# https://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022 (QQ's bounce codes, recalled): "550 Domain frequency limited"
# (the sender's domain sent too much), "550 Connection frequency limited" (too many connections from the IP),
# "550 Mailbox unavailable or access denied" (the recipient's mailbox is closed to this mail). Tencent Exmail's reseller
# list https://www.emailhost.com.cn/service.html?article_category=25&brd=1 (read): "[退信] 收件容量满:Quota exceeded",
# "[退信] 发信数超限制:sending quota exceeded".
QQ = "Tencent QQ"
_QQ_HELP = "http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no="
QQ_ROWS = [
    Row(QQ, 550, None, f"Domain frequency limited. {_QQ_HELP}1000723", "speeding", False, command="MAIL"),
    Row(
        QQ,
        550,
        None,
        f"Connection frequency limited. {_QQ_HELP}1000724",
        ("toomanyconn", "speeding"),
        False,
        command="MAIL",
    ),
    # "unavailable or access denied": the words leave a closed mailbox and a refusal open; never hard
    Row(
        QQ,
        550,
        None,
        f"Mailbox unavailable or access denied. {_QQ_HELP}1000729",
        ("suspend", "rejected", "filtered", "blocked"),
        False,
        command="RCPT",
    ),
    Row(QQ, 552, None, "Quota exceeded", "mailboxfull", False, command="RCPT"),
]


# --- Fastmail as a receiver (written after the first run; run on main's code before committing) -------------------------
# https://fastmail.help/hc/en-us/articles/7010500320655-Why-messages-bounce-back (read): "550 5.1.1 Recipient address
# rejected: User unknown in virtual mailbox table ... In some cases, this error may also show as 550 5.1.1 Sorry, user
# address unknown" (no user with this address). http://www.fastimap.com/help/troubleshooting_errors_sending_to_other_accounts.html
# (FastMail.FM's old help, read): "said: 554 5.0.0 Unexpected internal error ... This error message is misleading. It
# actually means the user ... doesn't exist."
FASTMAIL = "Fastmail"
FASTMAIL_ROWS = [
    Row(FASTMAIL, 550, "5.1.1", "Sorry, user address unknown", "userunknown", True, strong=True, command="RCPT"),
    # the words say only an internal error; the provider's page says it meant an unknown user. A reader of the bounce
    # cannot know that, and when unsure: soft (a system error the sender may retry)
    Row(FASTMAIL, 554, "5.0.0", "Unexpected internal error", ("systemerror", "undefined"), False, command="DATA"),
]


# --- SoftBank (i.softbank.jp) (written after the first fixes; run on main's code before committing) -----------------------
# https://note.com/sendmagic/n/n5afbf98aeb25 ("SMTP応答コードについて【SoftBank編】", read): "550 Invalid recipient:
# <xxx@i.softbank.jp>" (mail sent to an address that does not exist); "553 xxx.xx.xx does not exist" (the envelope From
# domain has no DNS record at all: every delivery fails whatever the recipient). The second names OUR domain: never a
# hard verdict on the recipient. The page does not state the SMTP stage; a check of the envelope sender's domain
# answers MAIL FROM, so it is written once without a stage and once at MAIL.
SOFTBANK = "SoftBank"
SOFTBANK_ROWS = [
    Row(SOFTBANK, 550, None, f"Invalid recipient: <{RCPT}>", "userunknown", True, command="RCPT"),
    Row(SOFTBANK, 553, None, "example.com does not exist", "rejected", False),
    Row(SOFTBANK, 553, None, "example.com does not exist", "rejected", False, command="MAIL"),
]


ROWS = (
    GODADDY_ROWS
    + TELSTRA_ROWS
    + SPECTRUM_ROWS
    + OUTLOOK_ROWS
    + YAHOO_ROWS
    + AOL_ROWS
    + GOOGLE_ROWS
    + PROOFPOINT_ROWS
    + ICLOUD_ROWS
    + FREE_ROWS
    + MAILRU_ROWS
    + YANDEX_ROWS
    + ZOHO_ROWS
    + QQ_ROWS
    + FASTMAIL_ROWS
    + SOFTBANK_ROWS
)


def _id(row: Row) -> str:
    text = row.text if len(row.text) <= 36 else f"{row.text[:36]}..{row.text[-12:]}"
    return f"{row.provider}|{row.reply} {row.status or ''} {text}|{row.command or '-'}".replace(" ", "_")


def _forms(row: Row) -> list[tuple[str, bytes]]:
    forms = [("dsn", as_dsn(row)), ("postfix", as_postfix_text(row))]
    if row.command and row.reply >= 500:
        forms.append(("exim", as_exim_text(row)))
    if row.command:
        forms.append(("sendmail", as_sendmail_text(row)))
    return forms


def _check(raw: bytes, row: Row, form: str) -> tuple[str, bool]:
    result = classify_returned_message(raw)
    assert [v.recipient for v in result.recipients] == [RCPT], (form, result.recipients)
    verdict = result.recipients[0]
    why = f"{form}: {verdict.reason} hard={verdict.hard} ({verdict.evidence})"
    assert verdict.reason in row.reasons, why
    assert verdict.hard is row.hard, why
    if not row.hard or verdict.reason in NEVER_SUPPRESS:
        assert not verdict.suppressible, why
    elif row.strong is not None:
        assert verdict.suppressible is row.strong, why
    return verdict.reason, verdict.hard


# Rows that failed on main (deb7840) as first written (17 of 52; one harmful: QQ's "Mailbox unavailable or access
# denied", soft, read as a hard unknown user). Recorded from the first run, before any fix.
FAILED_ON_MAIN: set[str] = {
    "Spectrum_/_Charter|550__Message_Rejected|DATA",
    "Outlook.com|550__SC-002_(BAY004-MC5F16)_Mail_rejected..r_resolution|RCPT",
    "Outlook.com|550__SC-003_(COL004-MC2F9)_Mail_rejected_..r_resolution|MAIL",
    "Outlook.com|550__SC-004_(SNT004-MC3F40)_Mail_rejected..r_resolution|MAIL",
    "Outlook.com|550__DY-002_(BLU004-MC1F22)_Mail_rejected..r_resolution|MAIL",
    "Outlook.com|550_5.7.515_Access_denied,_sending_domain_exampl..ation_level.|DATA",
    "Yahoo|421_4.7.0_[GL01]_Message_from_(192.0.2.1)_temp../error-codes|MAIL",
    "Yahoo|554__Message_not_allowed_-_Headers_are_no..mpliant[291]|DATA",
    "AOL|554__(RTR:BB)_http://postmaster.info.aol...54rtrbb.html|CONN",
    "AOL|554__(RLY:B1)_http://postmaster.info.aol...54rlyb1.html|MAIL",
    "AOL|554__(DNS:NR)_http://postmaster.info.aol...54dnsnr.html|CONN",
    "Google|421_4.7.30_Your_email_has_been_rate_limited_bec..b.12_-_gsmtp|DATA",
    "Google|421_4.7.29_Your_email_has_been_rate_limited_bec..b.12_-_gsmtp|DATA",
    "Free.fr|421__Too_many_spams_from_your_IP_(192.0.2..ter.free.fr/|CONN",
    "Mail.ru|550__Message_was_not_accepted_--_invalid_..er_not_found|RCPT",
    "Yandex|451_4.7.1_Sorry,_the_service_is_currently_unav..f0123-ab12cd|RCPT",
    "Tencent_QQ|550__Mailbox_unavailable_or_access_denied..&&no=1000729|RCPT",
}

# The SoftBank rows, written after the first fixes, on main (295d4b7): 1 of 3 failed, harmful: "553 <our domain> does not
# exist" with no stage read as a hard, unknown recipient domain.
FAILED_ON_MAIN |= {"SoftBank|553__example.com_does_not_exist|-"}

# Still failing on this branch (xfail, strict): the subset of FAILED_ON_MAIN no fix has reached yet.
# Fixed by catalog.py's round-fourteen entries (Outlook.com's SC-002..004 / DY-002 causes and 5.7.515, Google's
# "DKIM authentication didn't pass", Free.fr's "spams from your IP", Yandex's "the service is currently unavailable"):
FIXED = {
    "Outlook.com|550__SC-002_(BAY004-MC5F16)_Mail_rejected..r_resolution|RCPT",
    "Outlook.com|550__SC-003_(COL004-MC2F9)_Mail_rejected_..r_resolution|MAIL",
    "Outlook.com|550__SC-004_(SNT004-MC3F40)_Mail_rejected..r_resolution|MAIL",
    "Outlook.com|550__DY-002_(BLU004-MC1F22)_Mail_rejected..r_resolution|MAIL",
    "Outlook.com|550_5.7.515_Access_denied,_sending_domain_exampl..ation_level.|DATA",
    "Google|421_4.7.30_Your_email_has_been_rate_limited_bec..b.12_-_gsmtp|DATA",
    "Free.fr|421__Too_many_spams_from_your_IP_(192.0.2..ter.free.fr/|CONN",
    "Yandex|451_4.7.1_Sorry,_the_service_is_currently_unav..f0123-ab12cd|RCPT",
}
# Fixed in reason.py: unknown-user words read at their plainest in the same reply (Mail.ru "invalid mailbox ... user
# not found": strong), and loose words offered with an alternative ("Mailbox unavailable or access denied": soft).
FIXED |= {
    "Mail.ru|550__Message_was_not_accepted_--_invalid_..er_not_found|RCPT",
    "Tencent_QQ|550__Mailbox_unavailable_or_access_denied..&&no=1000729|RCPT",
}
# Fixed by catalog.py's AOL code entries ("(RTR:..)" / "(RLY:..)" blocks, "(DNS:NR)" no reverse DNS), registered as
# AOL's own (narrow) as wording.py's "(DYN:T1)":
FIXED |= {
    "AOL|554__(RTR:BB)_http://postmaster.info.aol...54rtrbb.html|CONN",
    "AOL|554__(RLY:B1)_http://postmaster.info.aol...54rlyb1.html|MAIL",
    "AOL|554__(DNS:NR)_http://postmaster.info.aol...54dnsnr.html|CONN",
}
# The expectation corrected after the first run (see the row): counted as failed on main, not as fixed by a rule.
FIXED |= {"Yahoo|554__Message_not_allowed_-_Headers_are_no..mpliant[291]|DATA"}
STILL_FAILING: set[str] = FAILED_ON_MAIN - FIXED


# Why each still fails (all soft either way, none suppressible, but for SoftBank's 553):
WHY = {
    "SoftBank|553__example.com_does_not_exist|-": "HARMFUL, hard and suppressible: 'no-domain' reads '553 <d> does "
    "not exist' as the recipient's domain. A fix (the named domain is not the recipient's: our side) turns the shared "
    "corpus's lhost-exim-37 (the same reply naming the envelope sender's own domain, labelled hostunknown there) from "
    "right to wrong (hard/soft 97.86 -> 97.62 %); left for the lead: the shared label and SoftBank's page disagree",
    "Spectrum_/_Charter|550__Message_Rejected|DATA": "the bare '550 Message Rejected' reads as the generic filter "
    "(`filtered`); only Charter's page says its spam filter answers so",
    "Yahoo|421_4.7.0_[GL01]_Message_from_(192.0.2.1)_temp../error-codes|MAIL": "read `rejected` by its MAIL FROM stage; "
    "a rule for 'Message(s) from <ip> temporarily deferred' turned two shared Yahoo/Postfix verdicts from rejected to "
    "blocked (reason 93.05 -> 92.60 %), as round four found for TSS04",
    "Google|421_4.7.29_Your_email_has_been_rate_limited_bec..b.12_-_gsmtp|DATA": "read `speeding` ('has been rate "
    "limited'); without that phrase the spam rule's 'bulk email' wins, as the TLS rules come after the content rules",
}


def _param(row: Row) -> object:
    why = WHY.get(_id(row), "fails on main")
    marks = [pytest.mark.xfail(strict=True, reason=why)] if _id(row) in STILL_FAILING else []
    return pytest.param(row, id=_id(row), marks=marks)


@pytest.mark.parametrize("row", [_param(r) for r in ROWS])
def test_a_receivers_reply_reads_as_its_provider_explains_it(row):
    verdicts = {form: _check(raw, row, form) for form, raw in _forms(row)}

    assert len(set(verdicts.values())) == 1, verdicts


def test_round_fourteen_spans_the_receivers():
    providers = {r.provider for r in ROWS}
    messages = sum(len(_forms(r)) for r in ROWS)

    assert len(providers) >= 14
    assert messages >= 60
    assert len({_id(r) for r in ROWS}) == len(ROWS)
