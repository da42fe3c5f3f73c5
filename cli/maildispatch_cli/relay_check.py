"""Check an SMTP relay step by step and send a test email: "is my relay configured right?"

    maildispatch relay-check --host smtp.gmail.com --port 587 --security starttls \\
        --username me@gmail.com --password-env SMTP_PASSWORD --from me@gmail.com --to you@example.org

Steps: dns, connect (TCP; for STARTTLS and plain also the SMTP greeting), tls (certificate
always verified), auth, send (through RelayTransport, exactly as maildispatch sends). Each step
says ok, FAILED or skipped, with what was found and, on failure, a hint a person can act on.

`check_relay()` returns the results as data; `format_results()` and `run()` print them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, make_msgid
from typing import Any

import aiosmtplib

from maildispatch.adapters.smtp_relay import RelayConfigError, RelaySettings, RelayTransport, client_tls_context
from maildispatch.core.outcome import Bounced, Delivered, Envelope, Uncertain
from maildispatch_cli.errors import UsageError

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
PORT_HINT = "465 is implicit TLS (--security tls), 587 is STARTTLS (--security starttls)"
NETWORK_HINT = (
    "is the outbound port open (firewall, security group; a Lambda in a VPC needs a NAT gateway)? "
    "AWS Lambda blocks outbound port 25: use 587 or 465"
)


@dataclass(frozen=True)
class StepResult:
    step: str  # dns, connect, tls, auth, send
    status: str  # "ok", "failed" or "skipped"
    detail: str
    hint: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == "failed"


@dataclass(frozen=True)
class CheckRequest:
    settings: RelaySettings
    sender: str
    recipient: str
    send: bool = True


async def check_relay(request: CheckRequest) -> list[StepResult]:
    """Run the steps in order, stopping at the first failure."""
    checker = _Checker(request)
    results: list[StepResult] = []
    try:
        for step in (checker.dns, checker.connect, checker.tls, checker.auth, checker.send):
            result = await step()
            results.append(result)
            if result.failed:
                break
    finally:
        await checker.close()
    return results


def failed_step(results: Sequence[StepResult]) -> StepResult | None:
    return next((result for result in results if result.failed), None)


def format_results(results: Sequence[StepResult]) -> str:
    lines = []
    for result in results:
        status = "FAILED" if result.failed else result.status
        lines.append(f"{result.step:<8} {status:<7} {result.detail}")
        if result.hint:
            lines.append(f"{'':<8} {'':<7} hint: {result.hint}")
    failure = failed_step(results)
    lines.append(f"relay check FAILED at step {failure.step}" if failure else "relay check ok")
    return "\n".join(lines)


class _Checker:
    def __init__(self, request: CheckRequest) -> None:
        self.request = request
        self.settings = request.settings
        self.where = request.settings.endpoint
        self.smtp: aiosmtplib.SMTP | None = None

    async def close(self) -> None:
        if self.smtp is not None and self.smtp.is_connected:
            try:
                await self.smtp.quit(timeout=5)
            except (aiosmtplib.SMTPException, OSError):
                pass
        if self.smtp is not None:
            self.smtp.close()

    async def dns(self) -> StepResult:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(self.settings.host, self.settings.port, type=socket.SOCK_STREAM),
                self.settings.timeout,
            )
        except (socket.gaierror, TimeoutError) as exc:
            why = "timed out" if isinstance(exc, TimeoutError) else exc.strerror
            return StepResult(
                "dns",
                "failed",
                f"cannot resolve {self.settings.host}: {why}",
                "check the host name for typos; from a Lambda in a VPC, check the VPC's DNS settings",
            )
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        return StepResult("dns", "ok", f"{self.settings.host} -> {', '.join(addresses)}")

    async def connect(self) -> StepResult:
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self.settings.host, self.settings.port), self.settings.timeout
            )
        except TimeoutError:
            return StepResult(
                "connect", "failed", f"no answer from {self.where} within {self.settings.timeout:g} s", NETWORK_HINT
            )
        except OSError as exc:
            why = os.strerror(exc.errno) if exc.errno else str(exc)
            return StepResult(
                "connect",
                "failed",
                f"cannot connect to {self.where}: {why}",
                f"is this the right port? {PORT_HINT}; {NETWORK_HINT}",
            )
        peer = writer.get_extra_info("peername")
        writer.close()
        detail = f"TCP connection to {peer[0]}:{peer[1]}"
        if self.settings.security == "tls":
            return StepResult("connect", "ok", detail)
        self.smtp = self._client(use_tls=False)
        try:
            greeting = await self.smtp.connect()
            await self.smtp.ehlo()
        except aiosmtplib.SMTPTimeoutError:
            return StepResult(
                "connect",
                "failed",
                f"{detail} ok, but no SMTP greeting within {self.settings.timeout:g} s",
                f"the port may expect TLS first: {PORT_HINT}",
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            return StepResult(
                "connect",
                "failed",
                f"{detail} ok, but the SMTP session failed: {exc}",
                f"is this an SMTP port? {PORT_HINT}",
            )
        return StepResult("connect", "ok", f"{detail}; greeting: {greeting.code} {greeting.message}")

    async def tls(self) -> StepResult:
        if self.settings.security == "none":
            return StepResult("tls", "skipped", "security none: this connection is NOT encrypted (local relays only)")
        try:
            if self.settings.security == "tls":
                self.smtp = self._client(use_tls=True)
                await self.smtp.connect()
            else:
                assert self.smtp is not None
                if not self.smtp.supports_extension("starttls"):
                    return StepResult(
                        "tls",
                        "failed",
                        f"{self.where} does not offer STARTTLS",
                        f"we never send or authenticate in the clear; {PORT_HINT}",
                    )
                await self.smtp.starttls()
            await self.smtp.ehlo()
        except (aiosmtplib.SMTPException, OSError) as exc:
            return self._tls_failure(exc)
        mode = "implicit TLS" if self.settings.security == "tls" else "STARTTLS"
        return StepResult("tls", "ok", f"{mode}: {_describe_tls(self.smtp.get_transport_info('ssl_object'))}")

    def _tls_failure(self, exc: BaseException) -> StepResult:
        error = _ssl_error_in(exc)
        if isinstance(error, ssl.SSLCertVerificationError):
            return StepResult(
                "tls",
                "failed",
                f"the certificate of {self.where} is not accepted: {error.verify_message}",
                _certificate_hint(error, self.settings),
            )
        if isinstance(error, ssl.SSLError):
            return StepResult(
                "tls",
                "failed",
                f"TLS handshake with {self.where} failed: {error.reason or error}",
                f"the server did not speak TLS here: {PORT_HINT}",
            )
        if isinstance(exc, aiosmtplib.SMTPTimeoutError):
            return StepResult(
                "tls",
                "failed",
                f"no TLS handshake or greeting from {self.where} within {self.settings.timeout:g} s",
                f"is the security mode right for this port? {PORT_HINT}",
            )
        return StepResult("tls", "failed", f"TLS with {self.where} failed: {exc}", PORT_HINT)

    async def auth(self) -> StepResult:
        if self.settings.username is None or self.settings.password is None:
            return StepResult("auth", "skipped", "no --username: the relay must accept mail from here without AUTH")
        assert self.smtp is not None
        if not self.smtp.supports_extension("auth"):
            return StepResult(
                "auth",
                "failed",
                f"{self.where} offers no AUTH on this connection",
                "the relay may not need AUTH from this address (drop --username), or wants another port",
            )
        try:
            await self.smtp.login(self.settings.username, self.settings.password)
        except aiosmtplib.SMTPResponseException as exc:
            hint = auth_hint(self.settings.host, exc.code, exc.message)
            return StepResult("auth", "failed", f"{exc.code} {exc.message}", hint)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return StepResult(
                "auth", "failed", f"AUTH failed: {exc}", "check that the relay supports AUTH PLAIN or LOGIN"
            )
        methods = " ".join(self.smtp.server_auth_methods).upper()
        return StepResult("auth", "ok", f"authenticated as {self.settings.username} (server offers {methods})")

    async def send(self) -> StepResult:
        if not self.request.send:
            return StepResult("send", "skipped", "--no-send: no test message sent")
        await self.close()
        envelope = Envelope(self.request.sender, (self.request.recipient,))
        async with RelayTransport(self.settings) as transport:
            (outcome,) = await transport.deliver(envelope, check_message(self.request.sender, self.request.recipient))
        reply = outcome.reply.diagnostic
        if isinstance(outcome, Delivered):
            return StepResult("send", "ok", f"test message accepted for {self.request.recipient}: {reply}")
        if isinstance(outcome, Uncertain):
            return StepResult(
                "send",
                "failed",
                f"no reply after the message was sent: {reply}",
                "the relay may still have taken it: check the recipient's mailbox",
            )
        if isinstance(outcome, Bounced):
            return StepResult(
                "send",
                "failed",
                f"refused: {reply}",
                "relays often only accept the authenticated account (or a verified identity) as "
                "--from, and may refuse some recipients",
            )
        return StepResult("send", "failed", f"not accepted for now: {reply}", "a temporary failure: try again later")

    def _client(self, *, use_tls: bool) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.settings.host,
            port=self.settings.port,
            timeout=self.settings.timeout,
            local_hostname=self.settings.local_hostname,
            use_tls=use_tls,
            start_tls=False,
            tls_context=client_tls_context(self.settings.ca_file),
        )


def auth_hint(host: str, code: int, text: str) -> str:
    """What a person can do about an AUTH refusal, for the common providers."""
    host, lowered = host.lower(), text.lower()
    if "gmail" in host or "google" in host or "badcredentials" in lowered:
        return (
            "Gmail refuses the account password here: use an App Password "
            "(Google Account > Security > App passwords); it needs 2-Step Verification"
        )
    if "office365" in host or "outlook" in host or "smtpclientauthentication" in lowered:
        return "Microsoft 365: enable Authenticated SMTP for this mailbox; security defaults can block it"
    if "amazonaws.com" in host:
        return "Amazon SES: use SES SMTP credentials for this region (not IAM access keys)"
    if code in (530, 538):
        return "the server wants encryption before AUTH: use --security starttls or tls"
    if code == 454:
        return "a temporary failure at the server: try again later"
    return "check the username and password; some providers need an app password or SMTP enabled for the account"


def _certificate_hint(error: ssl.SSLCertVerificationError, settings: RelaySettings) -> str:
    if error.verify_code == 62:  # X509_V_ERR_HOSTNAME_MISMATCH
        return f"the certificate is not valid for {settings.host!r}: connect using a name the certificate lists"
    if error.verify_code == 10:  # X509_V_ERR_CERT_HAS_EXPIRED
        return "the certificate has expired: the relay's operator must renew it"
    return (
        "the certificate is not issued by a CA this machine trusts: for a private relay, pass its CA "
        "with --ca-file (verification is never turned off)"
    )


def _ssl_error_in(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None and not isinstance(seen, ssl.SSLError):
        seen = seen.__cause__ or seen.__context__
    return seen


def _describe_tls(ssl_object: ssl.SSLObject | None) -> str:
    if ssl_object is None:
        return "no TLS details"
    cert: dict[str, Any] = dict(ssl_object.getpeercert() or {})
    subject, issuer = _name(cert.get("subject", ())), _name(cert.get("issuer", ()))
    expires = datetime.datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), datetime.UTC)
    days = (expires - datetime.datetime.now(datetime.UTC)).days
    return (
        f"{ssl_object.version()}, certificate {subject} issued by {issuer}, "
        f"valid until {expires:%Y-%m-%d} ({days} days)"
    )


def _name(rdns: tuple[tuple[tuple[str, str], ...], ...]) -> str:
    short = {"commonName": "CN", "organizationName": "O", "countryName": "C"}
    return ", ".join(f"{short.get(key, key)}={value}" for rdn in rdns for key, value in rdn) or "(empty)"


def check_message(sender: str, recipient: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender or "postmaster@localhost"
    message["To"] = recipient
    message["Subject"] = "maildispatch relay check"
    message["Date"] = format_datetime(datetime.datetime.now(datetime.UTC))
    message["Message-ID"] = make_msgid("relay-check", domain=(sender.rpartition("@")[2] or "localhost"))
    message.set_content(
        "This test message was sent by `maildispatch relay-check`.\nIf you can read it, the relay settings work.\n"
    )
    return message.as_bytes(policy=SMTP_POLICY)


NAME = "relay-check"
HELP = "check an SMTP relay step by step and send a test email"


DESCRIPTION = "\n\n".join((__doc__ or HELP).split("\n\n")[:3])  # --help shows the first paragraphs


def add_arguments(parser: argparse.ArgumentParser, parents: list[argparse.ArgumentParser]) -> None:
    parser.add_argument("--host", required=True, help="the relay's host name")
    parser.add_argument("--port", type=int, help="default: 587 for starttls, 465 for tls, 25 for none")
    parser.add_argument("--security", choices=tuple(DEFAULT_PORTS), default="starttls", help="default: starttls")
    parser.add_argument("--username", help="authenticate as this user (AUTH PLAIN or LOGIN)")
    parser.add_argument("--password-env", metavar="VAR", help="the environment variable holding the password")
    parser.add_argument("--from", dest="sender", default="", metavar="ADDRESS", help="the test message's sender")
    parser.add_argument("--to", dest="recipient", default="", metavar="ADDRESS", help="the test message's recipient")
    parser.add_argument("--ca-file", help="an extra CA certificate (PEM) to trust, for private relays")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per step (default: 15)")
    parser.add_argument("--allow-insecure", action="store_true", help="allow --security none (local relays only)")
    parser.add_argument("--local-hostname", help="the name to give in EHLO")
    parser.add_argument("--no-send", dest="send", action="store_false", help="stop after auth: send no message")


def request_from(args: argparse.Namespace, environ: Mapping[str, str]) -> CheckRequest:
    """The check the command line asks for; UsageError if it cannot work as given."""
    prog = f"maildispatch {NAME}"
    password = None
    if args.username is not None:
        if not args.password_env:
            raise UsageError(
                "--username needs --password-env VAR (the password is never a command-line argument)", prog
            )
        password = environ.get(args.password_env)
        if password is None:
            raise UsageError(f"environment variable {args.password_env} is not set", prog)
    if args.send and not (args.sender and args.recipient):
        raise UsageError("sending the test message needs --from and --to (or use --no-send)", prog)
    settings = RelaySettings(
        host=args.host,
        port=args.port or DEFAULT_PORTS[args.security],
        security=args.security,
        username=args.username,
        password=password,
        allow_insecure=args.allow_insecure,
        ca_file=args.ca_file,
        timeout=args.timeout,
        max_connections=1,
        local_hostname=args.local_hostname,
    )
    try:
        settings.validate()
        client_tls_context(settings.ca_file)
    except RelayConfigError as exc:
        raise UsageError(str(exc), prog) from None
    return CheckRequest(settings=settings, sender=args.sender, recipient=args.recipient, send=args.send)


def run(args: argparse.Namespace) -> int:
    results = asyncio.run(check_relay(request_from(args, os.environ)))
    print(format_results(results))
    return 1 if failed_step(results) else 0
