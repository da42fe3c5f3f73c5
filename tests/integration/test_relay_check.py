"""The relay checker ("send a test email") against the test relay: which step fails, and the hint."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from maildispatch.adapters.smtp_relay import RelaySettings
from maildispatch_cli.app import main
from maildispatch_cli.relay_check import (
    CheckRequest,
    StepResult,
    auth_hint,
    check_relay,
    failed_step,
    format_results,
)
from tests.stack.relay_fixtures import RELAY_PASSWORD, RELAY_USER, RelayProcess

SHOP, AN = "shop@example.com", "an.nguyen@example.net"


def check(settings: RelaySettings, *, send: bool = True) -> list[StepResult]:
    return asyncio.run(check_relay(CheckRequest(settings=settings, sender=SHOP, recipient=AN, send=send)))


def steps(results: list[StepResult]) -> list[tuple[str, str]]:
    return [(result.step, result.status) for result in results]


def cli_args(relay: RelayProcess, *extra: str) -> list[str]:
    return [
        "--host",
        relay.host,
        "--port",
        str(relay.port),
        "--security",
        "starttls",
        "--username",
        RELAY_USER,
        "--password-env",
        "TEST_SMTP_PASSWORD",
        "--from",
        SHOP,
        "--to",
        AN,
        "--ca-file",
        str(relay.ca_file),
        "--timeout",
        "5",
        *extra,
    ]


def test_a_working_relay_passes_every_step_and_gets_the_test_message(
    relay: RelayProcess, relay_settings: RelaySettings
) -> None:
    results = check(relay_settings)
    assert steps(results) == [("dns", "ok"), ("connect", "ok"), ("tls", "ok"), ("auth", "ok"), ("send", "ok")]
    tls = results[2].detail
    assert "STARTTLS: TLSv1." in tls and "certificate CN=localhost" in tls and "valid until" in tls
    assert "220 relay.test" in results[1].detail
    (message,) = relay.messages()
    assert message["Subject"] == "maildispatch relay check"
    assert message.get_all("X-Envelope-To") == [AN]


def test_a_wrong_password_fails_at_auth_with_a_hint(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    results = check(dataclasses.replace(relay_settings, password="wrong"))
    failure = failed_step(results)
    assert failure is not None and failure.step == "auth"
    assert failure.detail.startswith("535 5.7.8")
    assert failure.hint and "password" in failure.hint
    assert relay.log_events("mail") == [], "nothing is sent after a failed step"


def test_gmail_auth_failures_point_to_app_passwords() -> None:
    hint = auth_hint(
        "smtp.gmail.com",
        535,
        "5.7.8 Username and Password not accepted. For more information, "
        "go to https://support.google.com/mail/?p=BadCredentials",
    )
    assert "App Password" in hint and "2-Step Verification" in hint
    assert "encryption" in auth_hint("mail.example.com", 538, "5.7.11 Encryption required")


def test_nothing_listening_fails_at_connect_with_a_port_hint() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results = check(RelaySettings(host="127.0.0.1", port=port, timeout=2))
    assert steps(results) == [("dns", "ok"), ("connect", "failed")]
    assert results[1].detail == f"cannot connect to 127.0.0.1:{port}: Connection refused"
    assert results[1].hint and "port 25" in results[1].hint and "465 is implicit TLS" in results[1].hint


def test_an_unknown_host_fails_at_dns() -> None:
    results = check(RelaySettings(host="relay.invalid", timeout=2))
    assert steps(results) == [("dns", "failed")]
    assert "relay.invalid" in results[0].detail


def test_an_untrusted_certificate_fails_at_tls_with_a_ca_file_hint(
    relay: RelayProcess, relay_settings: RelaySettings
) -> None:
    results = check(dataclasses.replace(relay_settings, ca_file=None))
    assert steps(results)[-1] == ("tls", "failed")
    assert "certificate" in results[-1].detail
    assert results[-1].hint and "--ca-file" in results[-1].hint
    assert relay.log_events("auth") == [], "no credentials over an unverified connection"


def test_implicit_tls_against_a_starttls_port_fails_at_tls_naming_the_ports(
    relay: RelayProcess, relay_settings: RelaySettings
) -> None:
    results = check(dataclasses.replace(relay_settings, security="tls"))
    assert steps(results)[-1] == ("tls", "failed")
    assert results[-1].hint and "587 is STARTTLS" in results[-1].hint


def test_starttls_against_an_implicit_tls_port_fails_at_connect(tmp_path: Path) -> None:
    with RelayProcess().start(tmp_path, security="tls", auth=(RELAY_USER, RELAY_PASSWORD)) as relay:
        settings = RelaySettings(
            host=relay.host,
            port=relay.port,
            security="starttls",
            ca_file=relay.ca_file,
            username=RELAY_USER,
            password=RELAY_PASSWORD,
            timeout=0.5,
        )
        results = check(settings)
    assert steps(results)[-1] == ("connect", "failed")
    assert "no SMTP greeting" in results[-1].detail
    assert results[-1].hint and "465 is implicit TLS" in results[-1].hint


def test_no_send_stops_before_sending(relay: RelayProcess, relay_settings: RelaySettings) -> None:
    results = check(relay_settings, send=False)
    assert steps(results)[-1] == ("send", "skipped")
    assert failed_step(results) is None
    assert relay.messages() == []


def test_the_printed_report_has_a_line_per_step_and_names_the_failed_step() -> None:
    report = format_results(
        [
            StepResult("dns", "ok", "smtp.example.com -> 192.0.2.1"),
            StepResult("connect", "failed", "no answer", "is the port open?"),
        ]
    )
    assert report.splitlines() == [
        "dns      ok      smtp.example.com -> 192.0.2.1",
        "connect  FAILED  no answer",
        "                 hint: is the port open?",
        "relay check FAILED at step connect",
    ]


def test_the_cli_exits_non_zero_naming_the_failed_step_and_never_prints_the_password(
    relay: RelayProcess, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "not-the-password")
    assert main(["relay-check", *cli_args(relay)]) == 1
    output = capsys.readouterr().out
    assert output.splitlines()[-1] == "relay check FAILED at step auth"
    assert "not-the-password" not in output

    monkeypatch.setenv("TEST_SMTP_PASSWORD", RELAY_PASSWORD)
    assert main(["relay-check", *cli_args(relay, "--no-send")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "relay check ok"


def test_the_cli_wants_the_password_from_the_environment(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["relay-check", "--host", "127.0.0.1", "--username", "me", "--no-send"]) == 2
    assert capsys.readouterr().err == (
        "maildispatch: error: --username needs --password-env VAR (the password is never a command-line argument)"
        " (see: maildispatch relay-check --help)\n"
    )


def test_it_runs_as_a_module(relay: RelayProcess) -> None:
    repo = Path(__file__).resolve().parents[2]  # this checkout's layer and command line, not an installed copy
    python_path = os.pathsep.join(
        filter(None, [str(repo / "layers" / "maildispatch"), str(repo / "cli"), os.environ.get("PYTHONPATH")])
    )
    result = subprocess.run(
        [sys.executable, "-m", "maildispatch_cli", "relay-check", *cli_args(relay)],
        env={**os.environ, "PYTHONPATH": python_path, "TEST_SMTP_PASSWORD": RELAY_PASSWORD},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == [
        "dns",
        "connect",
        "tls",
        "auth",
        "send",
        "relay",
    ]
    assert len(relay.messages()) == 1
