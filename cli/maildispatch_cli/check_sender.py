"""Check a sending domain's DNS before the first send: "will receivers trust mail from this domain?"

    maildispatch check-sender example.com --relay-host smtp.gmail.com \\
        --selector md2026 --key-file md2026.pem --bulk-stream campaign --one-click-url https://example.com/u
    maildispatch check-sender example.com --mode mx --egress-ip 203.0.113.7 --helo-name mail.example.com \\
        --selector md2026 --key-secret maildispatch/dkim/example.com

With --stack NAME (and no --selector), the DKIM keys are the deployed stack's: its DkimKeys parameter
names each domain's selectors and secrets, whose keys are read from Secrets Manager; --relay-host
defaults to its RelayHost.

Checks: spf (the envelope domain's record includes the relay's SPF include, or in MX mode authorises
the egress IP), dkim (each key is published at <selector>._domainkey.<domain> and is the configured
one), dmarc (a policy exists), alignment (the From domain aligns with the DKIM d= or the SPF domain,
per adkim/aspf), ptr (MX mode: the egress IP's reverse name resolves back to it), unsubscribe (bulk
streams have RFC 8058 one-click unsubscribe). Each says ok, FAILED or skipped with why; the exit code
is 1 when any failed.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path

from maildispatch.adapters.dns_resolver import DnsResolver, ResolverSettings
from maildispatch.core.sender_check import CheckLine
from maildispatch.services.sender_check import DkimKeyToCheck, SenderCheck, SenderSetup
from maildispatch_cli.aws import Aws
from maildispatch_cli.errors import UsageError

NAME = "check-sender"
HELP = "check a sending domain's SPF, DKIM, DMARC, PTR and one-click unsubscribe before the first send"


DESCRIPTION = "\n\n".join((__doc__ or HELP).split("\n\n")[:3])  # --help shows the first paragraphs


def add_arguments(parser: argparse.ArgumentParser, parents: list[argparse.ArgumentParser]) -> None:
    parser.add_argument("domain", help="the From domain")
    parser.add_argument("--mode", choices=("relay", "mx"), default="relay", help="how mail leaves (default: relay)")
    parser.add_argument("--relay-host", help="the SMTP relay (Gmail/Workspace and SES are known: their SPF include)")
    parser.add_argument("--spf-include", metavar="DOMAIN", help="the SPF include the relay needs, if not a known one")
    parser.add_argument("--envelope-domain", metavar="DOMAIN", help="the MAIL FROM domain SPF checks (default: DOMAIN)")
    parser.add_argument("--egress-ip", metavar="IP", help="MX mode: the NAT gateway's Elastic IP")
    parser.add_argument("--helo-name", metavar="HOST", help="MX mode: the EHLO name, which the PTR should name")
    dkim = parser.add_argument_group("DKIM")
    dkim.add_argument("--dkim-domain", metavar="DOMAIN", help="the d= domain (default: DOMAIN)")
    dkim.add_argument("--selector", help="the RSA key's selector")
    dkim.add_argument("--key-file", type=Path, help="the RSA key, PEM (private or public)")
    dkim.add_argument("--key-secret", metavar="NAME", help="...or the Secrets Manager secret holding it")
    dkim.add_argument("--ed25519-selector", help="the Ed25519 key's selector, if it signs too")
    dkim.add_argument("--ed25519-key-file", type=Path, help="the Ed25519 key, PEM")
    dkim.add_argument("--ed25519-key-secret", metavar="NAME", help="...or its Secrets Manager secret")
    bulk = parser.add_argument_group("bulk mail")
    bulk.add_argument(
        "--bulk-stream", action="append", default=[], metavar="NAME", help="a stream that sends bulk mail"
    )
    bulk.add_argument("--one-click-url", metavar="URL", help="the RFC 8058 endpoint bulk mail's List-Unsubscribe names")
    bulk.add_argument(
        "--sample-message", type=Path, metavar="FILE", help="a bulk message as sent, to check its headers"
    )
    network = parser.add_argument_group("DNS")
    network.add_argument(
        "--nameserver", action="append", default=[], metavar="IP", help="ask this server (default: the system's)"
    )
    network.add_argument("--dns-port", type=int, default=53, help="its port (default: 53)")
    network.add_argument("--timeout", type=float, default=5.0, help="seconds per lookup (default: 5)")


def setup_from(args: argparse.Namespace) -> SenderSetup:
    """The setup the command line describes; UsageError when it cannot work as given."""
    prog = f"maildispatch {NAME}"
    domain = args.domain.lower().rstrip(".")
    if args.mode == "mx" and not args.egress_ip:
        raise UsageError("--mode mx needs --egress-ip", prog)
    stack = getattr(args, "stack", None)
    relay_host, dkim_domain = args.relay_host, args.dkim_domain
    keys: list[DkimKeyToCheck] = []
    if stack and args.selector is None and args.ed25519_selector is None:
        parameters = Aws.from_args(args).stack_parameters(stack)
        relay_host = relay_host or parameters.get("RelayHost") or None
        dkim_domain, keys = _stack_keys(args, domain, parameters.get("DkimKeys", ""), prog)
        dkim_domain = args.dkim_domain or dkim_domain
    for label, selector, file, secret in (
        ("", args.selector, args.key_file, args.key_secret),
        ("ed25519-", args.ed25519_selector, args.ed25519_key_file, args.ed25519_key_secret),
    ):
        if selector is None and file is None and secret is None:
            continue
        if selector is None or (file is None) == (secret is None):
            raise UsageError(f"--{label}selector needs one of --{label}key-file or --{label}key-secret", prog)
        pem = _read_file(file, prog) if file is not None else _read_secret(args, secret)
        keys.append(_key(selector, pem, prog))
    sample = None
    if args.sample_message is not None:
        head = _read_file(args.sample_message, prog).replace(b"\r\n", b"\n").partition(b"\n\n")[0] + b"\n\n"
        parsed = BytesHeaderParser(policy=compat32).parsebytes(head)
        sample = {name.lower(): " ".join(str(value).split()) for name, value in parsed.items()}
    return SenderSetup(
        domain=domain,
        mode=args.mode,
        envelope_domain=args.envelope_domain,
        relay_host=relay_host,
        spf_include=args.spf_include,
        egress_ip=args.egress_ip,
        helo_name=args.helo_name,
        dkim_domain=dkim_domain,
        dkim_keys=tuple(keys),
        bulk_streams=tuple(args.bulk_stream),
        one_click_url=args.one_click_url,
        sample_headers=sample,
    )


def _stack_keys(
    args: argparse.Namespace, domain: str, setting: str, prog: str
) -> tuple[str | None, list[DkimKeyToCheck]]:
    """The signing domain and keys the deployed DkimKeys gives mail from `domain` (none: no keys)."""
    from maildispatch.core.dkim import signing_domain
    from maildispatch.runtime.settings import SettingsError, parse_dkim_keys

    try:
        configured = {entry.domain: entry for entry in parse_dkim_keys(setting)}
    except SettingsError as exc:
        raise UsageError(f"the stack's DkimKeys: {exc}", prog) from None
    found = signing_domain(domain, configured)
    if found is None:
        return None, []
    return found, [
        _key(identity.selector, _read_secret(args, secret), prog) for identity, secret in configured[found].identities
    ]


def _read_file(path: Path, prog: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}", prog) from None


def _read_secret(args: argparse.Namespace, name: str) -> bytes:
    response = Aws.from_args(args).client("secretsmanager").get_secret_value(SecretId=name)
    return str(response["SecretString"]).encode()


def _key(selector: str, pem: bytes, prog: str) -> DkimKeyToCheck:
    from maildispatch.adapters.dkim_signer import DkimKeyError, published_key  # cryptography: only when asked

    try:
        algorithm, public = published_key(pem)
    except DkimKeyError as exc:
        raise UsageError(f"the key for selector {selector}: {exc}", prog) from None
    return DkimKeyToCheck(selector, algorithm, public)


def format_lines(lines: Sequence[CheckLine]) -> str:
    out = []
    for line in lines:
        status = "FAILED" if line.failed else line.status
        out.append(f"{line.check:<12} {status:<7} {line.detail}")
        if line.hint:
            out.append(f"{'':<12} {'':<7} hint: {line.hint}")
    failures = [line.check for line in lines if line.failed]
    out.append(f"sender check FAILED: {', '.join(dict.fromkeys(failures))}" if failures else "sender check ok")
    return "\n".join(out)


async def check(setup: SenderSetup, settings: ResolverSettings) -> list[CheckLine]:
    return await SenderCheck(DnsResolver(settings)).run(setup)


def run(args: argparse.Namespace) -> int:
    setup = setup_from(args)
    settings = ResolverSettings(
        nameservers=tuple(args.nameserver),
        port=args.dns_port,
        timeout=min(2.0, args.timeout),
        lifetime=args.timeout,
        cache=False,
    )
    lines = asyncio.run(check(setup, settings))
    print(format_lines(lines))
    return 1 if any(line.failed for line in lines) else 0
