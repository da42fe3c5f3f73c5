"""`maildispatch` against AWS (a moto server): the stack found by name, and one line for each way it can fail.

Each test runs the real command line (`maildispatch_cli.app.main`, the console script's entry) in an
environment with no AWS settings but those the test gives, and reads its exit code and its stderr: one
line, never a traceback. In process, not a subprocess per test: a fresh interpreter importing boto3
cost about a second a test (`test_relay_check.py` runs the module as a subprocess once).
Uses the session `moto_server` fixture (tests/stack/moto_fixtures.py); names are unique per test, so the
tests share the server without resetting it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.stack.cli import maildispatch, one_error_line
from tests.stack.http_server import BackgroundHttpServer
from tests.stack.moto import DEFAULT_REGION, MotoServer, aws_client, free_port, refusing_port


@pytest.fixture
def no_aws_config(tmp_path: Path) -> dict[str, str]:
    """Empty credentials and config files: nothing from ~/.aws can be found."""
    (tmp_path / "credentials").write_text("")
    (tmp_path / "config").write_text("")
    return {
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
    }


@pytest.fixture
def table(moto_server: MotoServer) -> str:
    name = f"suppression-{uuid.uuid4().hex[:8]}"
    aws_client("dynamodb", moto_server.endpoint_url).create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "address", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "address", "AttributeType": "S"}],
    )
    return name


def create_stack(endpoint_url: str, resources: dict[str, object], outputs: dict[str, object]) -> str:
    name = f"maildispatch-{uuid.uuid4().hex[:8]}"
    template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources, "Outputs": outputs}
    aws_client("cloudformation", endpoint_url).create_stack(StackName=name, TemplateBody=json.dumps(template))
    return name


@pytest.fixture
def stack(moto_server: MotoServer) -> str:
    """A stack like the deployed one, as far as the command line looks: a table and its output."""
    table = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "TableName": f"suppression-{uuid.uuid4().hex[:8]}",
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "address", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "address", "AttributeType": "S"}],
        },
    }
    return create_stack(
        moto_server.endpoint_url,
        {"SuppressionTable": table},
        {"SuppressionTableName": {"Value": {"Ref": "SuppressionTable"}}},
    )


# --- The stack found by name ----------------------------------------------------------------------


def test_the_stack_name_finds_the_suppression_table_through_the_stack_outputs(stack, moto_env):
    added = maildispatch("--stack", stack, "suppression", "add", "Typo@Example.com", env=moto_env)
    assert (added.returncode, added.stdout, added.stderr) == (0, "typo@example.com suppressed\n", "")
    listed = maildispatch("suppression", "--stack", stack, "list", env=moto_env)  # the option after the command
    assert listed.returncode == 0 and listed.stdout.startswith("typo@example.com\tsuppressed since ")
    shown = maildispatch("suppression", "show", "typo@example.com", "--stack", stack, env=moto_env)
    assert shown.returncode == 0 and "(manual)" in shown.stdout


def test_the_endpoint_region_and_credentials_can_be_given_as_options(stack, moto_server, no_aws_config):
    only_keys = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", **no_aws_config}
    args = ("--endpoint-url", moto_server.endpoint_url, "--region", DEFAULT_REGION, "--stack", stack)
    result = maildispatch(*args, "suppression", "list", env=only_keys)
    assert (result.returncode, result.stderr) == (0, "")


def test_a_named_profile_supplies_credentials_and_region(stack, moto_server, tmp_path):
    (tmp_path / "credentials").write_text("[ops]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    (tmp_path / "config").write_text(f"[profile ops]\nregion = {DEFAULT_REGION}\n")
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"), "AWS_CONFIG_FILE": str(tmp_path / "config")}
    result = maildispatch(
        "--profile", "ops", "--endpoint-url", moto_server.endpoint_url, "--stack", stack, "suppression", "list", env=env
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_table_wins_over_the_stack(table, moto_env):
    result = maildispatch("--stack", "no-such-stack", "suppression", "--table", table, "list", env=moto_env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# --- One line for each failure --------------------------------------------------------------------


def test_a_stack_that_does_not_exist_is_named(moto_env):
    result = maildispatch("--stack", "no-such-stack", "suppression", "list", env=moto_env)
    assert result.returncode == 1
    assert one_error_line(result) == (
        "no stack named 'no-such-stack' in us-east-1 (check --stack, --region and --profile)"
    )


def test_a_stack_without_the_output_says_which_outputs_it_has(moto_server, moto_env):
    other = create_stack(
        moto_server.endpoint_url,
        {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"q-{uuid.uuid4().hex[:8]}"}}},
        {"QueueUrl": {"Value": {"Ref": "Queue"}}},
    )
    result = maildispatch("--stack", other, "suppression", "list", env=moto_env)
    assert result.returncode == 1
    line = one_error_line(result)
    assert line.startswith(
        f"stack '{other}' (CREATE_COMPLETE) has no output SuppressionTableName (its outputs: QueueUrl)"
    )


@pytest.mark.parametrize("action", [["list"], ["show", "an@example.net"], ["add", "an@example.net"]])
def test_a_wrong_table_is_named(action, moto_env):
    result = maildispatch("suppression", "--table", "no-such-table", *action, env=moto_env)
    assert result.returncode == 1
    assert one_error_line(result) == "no DynamoDB table 'no-such-table' in us-east-1 (check --table and --region)"


def test_a_table_missing_behind_the_stack_output_says_where_the_name_came_from(moto_server, moto_env):
    stale = create_stack(
        moto_server.endpoint_url,
        {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"q-{uuid.uuid4().hex[:8]}"}}},
        {"SuppressionTableName": {"Value": "deleted-table"}},
    )
    result = maildispatch("--stack", stale, "suppression", "list", env=moto_env)
    assert result.returncode == 1
    assert one_error_line(result) == (
        f"no DynamoDB table 'deleted-table' in us-east-1 (the SuppressionTableName output of stack '{stale}')"
    )


def test_an_invalid_address_is_refused_before_any_aws_call(no_aws_config):
    unreachable = {**no_aws_config, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    for action in ("add", "remove", "show"):
        result = maildispatch("suppression", "--table", "t", action, "an.example.net", env=unreachable)
        assert result.returncode == 2
        assert one_error_line(result) == "'an.example.net' is not an address: no @ in it"


def test_no_credentials(no_aws_config):
    not_moto = {**no_aws_config, "AWS_DEFAULT_REGION": DEFAULT_REGION}
    result = maildispatch(
        "--endpoint-url", f"http://127.0.0.1:{free_port()}", "suppression", "--table", "t", "list", env=not_moto
    )
    assert result.returncode == 1
    assert one_error_line(result).startswith("no AWS credentials found: pass --profile, set AWS_PROFILE")


def test_no_credentials_for_the_stack_lookup_either(no_aws_config):
    not_moto = {**no_aws_config, "AWS_DEFAULT_REGION": DEFAULT_REGION}
    result = maildispatch(
        "--endpoint-url",
        f"http://127.0.0.1:{free_port()}",
        "--stack",
        "maildispatch",
        "suppression",
        "list",
        env=not_moto,
    )
    assert result.returncode == 1
    assert one_error_line(result).startswith("no AWS credentials found")


def test_a_profile_that_does_not_exist(no_aws_config):
    result = maildispatch("--profile", "nobody", "suppression", "--table", "t", "list", env=no_aws_config)
    assert result.returncode == 1
    assert one_error_line(result).startswith("The config profile (nobody) could not be found: check --profile")


def test_no_region(no_aws_config, moto_server):
    keys = {**no_aws_config, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    result = maildispatch("suppression", "--table", "t", "list", env=keys)
    assert result.returncode == 1
    assert one_error_line(result).startswith("no AWS region: pass --region")


def test_an_endpoint_out_of_reach(moto_env):
    with refusing_port() as port:
        url = f"http://127.0.0.1:{port}"
        result = maildispatch("--endpoint-url", url, "suppression", "--table", "t", "list", env=moto_env)
    assert result.returncode == 1
    assert one_error_line(result).startswith(f"cannot reach the AWS endpoint {url}/: check the network")


def test_an_endpoint_that_is_not_a_url(moto_env):
    result = maildispatch("--endpoint-url", "moto", "suppression", "--table", "t", "list", env=moto_env)
    assert result.returncode == 2
    assert one_error_line(result).startswith("--endpoint-url 'moto' is not a URL")


# --- Credentials AWS refuses: an endpoint that answers as DynamoDB does ----------------------------


class _Refusing(BaseHTTPRequestHandler):
    code = "UnrecognizedClientException"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"__type": f"com.amazon.coral.service#{self.code}", "message": "The token is invalid."})
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    handler = type("Refusing", (_Refusing,), {"code": request.param})
    server = BackgroundHttpServer(handler)
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


@pytest.mark.parametrize(
    ("refusing_endpoint", "expected"),
    [
        ("UnrecognizedClientException", "AWS does not accept these credentials (UnrecognizedClientException on Scan)"),
        ("ExpiredTokenException", "the AWS credentials have expired (ExpiredTokenException): refresh them"),
        ("AccessDeniedException", "access denied on Scan: The token is invalid."),
    ],
    indirect=["refusing_endpoint"],
)
def test_credentials_aws_refuses(refusing_endpoint, expected, moto_env):
    result = maildispatch("--endpoint-url", refusing_endpoint, "suppression", "--table", "t", "list", env=moto_env)
    assert result.returncode == 1
    assert one_error_line(result).startswith(expected)
