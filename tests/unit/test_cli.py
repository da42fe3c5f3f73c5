"""`maildispatch` without AWS: the commands and their help, usage errors in one line, unexpected errors and --debug."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from maildispatch_cli import app, suppression
from maildispatch_cli.app import build_parser, main
from maildispatch_cli.aws import explain


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("maildispatch: error: "), captured.err
    return lines[0].removeprefix("maildispatch: error: ")


# --- Help -----------------------------------------------------------------------------------------


def test_help_lists_every_command_with_its_one_line_description(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: maildispatch [-h] [--region REGION] [--profile PROFILE]")
    for command in app.COMMANDS:
        assert command.NAME in out
    assert "check an SMTP relay step by step and send a test email" in out
    assert "list and edit the suppression list" in out
    for option in ("--region", "--profile", "--endpoint-url", "--stack", "--debug"):
        assert option in out


@pytest.mark.parametrize(
    "command",
    [["relay-check"], ["suppression"], ["suppression", "list"], ["suppression", "add"], ["classify-bounces"]],
)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: maildispatch {' '.join(command)} [-h]")


# --- The command line -----------------------------------------------------------------------------


def test_the_aws_options_mean_the_same_before_and_after_the_command():
    before = build_parser().parse_args(["--region", "eu-west-1", "--stack", "md", "suppression", "list"])
    after = build_parser().parse_args(["suppression", "--region", "eu-west-1", "list", "--stack", "md"])
    for args in (before, after):
        assert (args.region, args.stack, getattr(args, "profile", None), args.action) == (
            "eu-west-1",
            "md",
            None,
            "list",
        )


def test_an_option_after_the_command_does_not_erase_the_one_before_it():
    args = build_parser().parse_args(["--profile", "ops", "suppression", "--table", "t", "list"])
    assert (args.profile, args.table) == ("ops", "t")


# --- Usage errors: one line, exit 2 ---------------------------------------------------------------


def test_no_command(capsys):
    assert main([]) == 2
    assert error_line(capsys) == "the following arguments are required: COMMAND (see: maildispatch --help)"


def test_an_unknown_command(capsys):
    assert main(["suppress"]) == 2
    assert error_line(capsys).startswith("argument COMMAND: invalid choice: 'suppress'")


def test_a_missing_address(capsys):
    assert main(["suppression", "--table", "t", "add"]) == 2
    assert error_line(capsys) == (
        "the following arguments are required: address (see: maildispatch suppression add --help)"
    )


def test_suppression_needs_a_table_or_a_stack(capsys):
    assert main(["suppression", "list"]) == 2
    assert error_line(capsys) == (
        "which table? pass --stack NAME (its SuppressionTableName output) or --table NAME"
        " (see: maildispatch suppression --help)"
    )


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("an.example.net", "'an.example.net' is not an address: no @ in it"),
        ("an@localhost", "'an@localhost' is not an address: the domain 'localhost' has no dot"),
        ("an@exa mple.net", "'an@exa mple.net' is not an address: expected name@domain or Name <name@domain>"),
    ],
)
def test_an_invalid_address_is_refused_with_the_reason(address, why, capsys):
    for action in ("add", "remove", "show"):
        assert main(["suppression", "--table", "t", action, address]) == 2
        assert error_line(capsys).startswith(why)


def test_addresses_are_kept_as_the_list_keys_them():
    assert suppression._address("An.Nguyen@Example.NET") == "an.nguyen@example.net"
    assert suppression._address("An Nguyen <An@Example.net>") == "an@example.net"


def test_classify_bounces_wants_a_folder(tmp_path: Path, capsys):
    assert main(["classify-bounces", str(tmp_path / "missing")]) == 2
    assert error_line(capsys) == f"{tmp_path / 'missing'}: not a folder (see: maildispatch classify-bounces --help)"


def test_classify_bounces_checks_the_scorer_before_the_work(tmp_path: Path, capsys):
    (tmp_path / "corpus").mkdir()
    assert main(["classify-bounces", str(tmp_path / "corpus"), "--out", str(tmp_path / "out.json"), "--score"]) == 2
    assert error_line(capsys).startswith(f"cannot score: {tmp_path / 'truth.json'} is missing")
    assert not (tmp_path / "out.json").exists()


# --- Unexpected errors: one line with the type; --debug shows the traceback -----------------------


@pytest.fixture
def broken_command(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(args: argparse.Namespace) -> int:
        raise KeyError("surprise")

    monkeypatch.setattr(suppression, "run", run)


def test_an_unexpected_error_is_one_line_with_its_type_and_a_hint(broken_command, capsys):
    assert main(["suppression", "--table", "t", "list"]) == 1
    assert error_line(capsys) == "unexpected KeyError: 'surprise' (rerun with --debug to see the traceback)"


def test_debug_shows_the_traceback(broken_command, capsys):
    assert main(["--debug", "suppression", "--table", "t", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "KeyError: 'surprise'" in err
    assert err.splitlines()[-1] == "maildispatch: error: unexpected KeyError: 'surprise'"


# --- AWS errors in one line ------------------------------------------------------------------------


def client_error(code: str, message: str = "", operation: str = "Scan") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize(
    ("code", "starts"),
    [
        ("UnrecognizedClientException", "AWS does not accept these credentials (UnrecognizedClientException on Scan)"),
        ("InvalidClientTokenId", "AWS does not accept these credentials (InvalidClientTokenId on Scan)"),
        ("ExpiredToken", "the AWS credentials have expired (ExpiredToken)"),
        ("AccessDeniedException", "access denied on Scan: not allowed"),
        ("ThrottlingException", "AWS refused Scan: ThrottlingException: not allowed"),
    ],
)
def test_aws_refusals_are_explained(code, starts):
    explained = explain(client_error(code, "not allowed"))
    assert explained is not None and explained.startswith(starts)


def test_other_exceptions_are_not_explained_as_aws_errors():
    assert explain(KeyError("x")) is None
