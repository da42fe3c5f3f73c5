"""AWS for the command line: one boto3 session, clients on --endpoint-url, the stack's outputs by name.

`Aws(profile, region, endpoint_url)` makes a boto3 Session from --profile and --region (else
boto3's own chain: AWS_PROFILE, AWS_DEFAULT_REGION, ~/.aws/config) and clients on --endpoint-url
(else AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>, which boto3 reads itself).
`stack_output(stack, key)` reads one of the stack's outputs (template.yaml's Outputs) through
CloudFormation DescribeStacks. `explain(exc)` turns the errors an operator can meet (no or bad
credentials, no region, an endpoint out of reach) into one line, or None for anything else.
boto3 is imported on first use: commands that never touch AWS do not pay for it.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any

from maildispatch_cli.errors import CliError, UsageError

# Error codes AWS answers with when it does not accept the credentials themselves.
REFUSED_CREDENTIALS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "IncompleteSignature",
        "AuthFailure",
        "MissingAuthenticationToken",
    }
)
EXPIRED_CREDENTIALS = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"})
ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
CREDENTIALS_HINT = (
    "pass --profile, set AWS_PROFILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (see `aws configure`)"
)


def options() -> argparse.ArgumentParser:
    """The AWS options, as a parent parser: accepted before the command and after it.

    Defaults are SUPPRESS, so a subcommand's copy never overwrites a value given before it.
    """
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("AWS options")
    group.add_argument(
        "--region", default=argparse.SUPPRESS, help="AWS region (default: AWS_DEFAULT_REGION or the profile's)"
    )
    group.add_argument("--profile", default=argparse.SUPPRESS, help="profile from ~/.aws/config (default: AWS_PROFILE)")
    group.add_argument(
        "--endpoint-url",
        default=argparse.SUPPRESS,
        metavar="URL",
        help="send every AWS call here, e.g. a moto server (default: AWS_ENDPOINT_URL)",
    )
    group.add_argument(
        "--stack",
        default=argparse.SUPPRESS,
        metavar="NAME",
        help="the deployed stack: its outputs name the tables, queues and buckets",
    )
    return parser


@dataclass
class Aws:
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    _session: Any = field(default=None, init=False, repr=False)
    _stacks: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Aws:
        return cls(getattr(args, "profile", None), getattr(args, "region", None), getattr(args, "endpoint_url", None))

    @property
    def session(self) -> Any:
        if self._session is None:
            import boto3

            self._session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
        return self._session

    @property
    def region_name(self) -> str:
        return str(self.session.region_name or "no region")

    def client(self, service: str) -> Any:
        from botocore.config import Config

        config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=10, read_timeout=60)
        try:
            return self.session.client(service, endpoint_url=self.endpoint_url, config=config)
        except ValueError as exc:
            if self.endpoint_url and "endpoint" in str(exc).lower():
                raise UsageError(f"--endpoint-url {self.endpoint_url!r} is not a URL: {exc}") from None
            raise

    def stack_outputs(self, stack_name: str) -> dict[str, str]:
        """The stack's outputs, OutputKey -> OutputValue (one DescribeStacks per stack and run)."""
        return self._stack(stack_name)[1]

    def stack_parameters(self, stack_name: str) -> dict[str, str]:
        """The stack's parameters as deployed, ParameterKey -> ParameterValue (NoEcho ones show as ****)."""
        stack = self._describe_stack(stack_name)
        return {p["ParameterKey"]: str(p.get("ParameterValue", "")) for p in stack.get("Parameters", [])}

    def stack_output(self, stack_name: str, key: str) -> str:
        status, outputs = self._stack(stack_name)
        if key not in outputs:
            has = ", ".join(sorted(outputs)) or "none"
            raise CliError(
                f"stack {stack_name!r} ({status}) has no output {key} (its outputs: {has}); "
                "is it a maildispatch stack, deployed from this version's template.yaml?"
            )
        return outputs[key]

    def _stack(self, stack_name: str) -> tuple[str, dict[str, str]]:
        if stack_name not in self._stacks:
            stack = self._describe_stack(stack_name)
            outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
            self._stacks[stack_name] = (str(stack.get("StackStatus", "status unknown")), outputs)
        return self._stacks[stack_name]

    def _describe_stack(self, stack_name: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            response = self.client("cloudformation").describe_stacks(StackName=stack_name)
        except ClientError as exc:
            if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
                raise CliError(
                    f"no stack named {stack_name!r} in {self.region_name} (check --stack, --region and --profile)"
                ) from None
            raise
        stack: dict[str, Any] = response["Stacks"][0]
        return stack


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def explain(exc: BaseException) -> str | None:
    """One line for the AWS failures an operator meets, or None if `exc` is not one of them."""
    if "botocore" not in sys.modules:
        return None  # nothing from AWS ran, so nothing from AWS failed
    from botocore import exceptions as bce

    if isinstance(exc, bce.NoCredentialsError):
        return f"no AWS credentials found: {CREDENTIALS_HINT}"
    if isinstance(exc, bce.PartialCredentialsError):
        return f"incomplete AWS credentials ({exc}): {CREDENTIALS_HINT}"
    if isinstance(exc, bce.ProfileNotFound):
        return f"{exc}: check --profile or AWS_PROFILE against ~/.aws/config (`aws configure list-profiles`)"
    if isinstance(exc, (bce.SSOError, bce.TokenRetrievalError)):
        return f"the AWS SSO login is missing or expired ({exc}): run `aws sso login` for this profile"
    if isinstance(exc, bce.CredentialRetrievalError):
        return f"AWS credentials could not be read: {exc}"
    if isinstance(exc, bce.NoRegionError):
        return "no AWS region: pass --region or set AWS_DEFAULT_REGION (or a region in the profile)"
    if isinstance(exc, bce.EndpointConnectionError):
        return f"cannot reach the AWS endpoint {exc.kwargs.get('endpoint_url', '')}: check the network, --region and --endpoint-url (or AWS_ENDPOINT_URL)"
    if isinstance(exc, (bce.ConnectTimeoutError, bce.ReadTimeoutError)):
        return f"the AWS endpoint did not answer in time ({exc}): check the network and --endpoint-url"
    if isinstance(exc, bce.ClientError):
        code, operation = error_code(exc), getattr(exc, "operation_name", "the request")
        message = str(exc.response.get("Error", {}).get("Message", "")).strip()
        if code in REFUSED_CREDENTIALS:
            return f"AWS does not accept these credentials ({code} on {operation}): {CREDENTIALS_HINT}"
        if code in EXPIRED_CREDENTIALS:
            return f"the AWS credentials have expired ({code}): refresh them (`aws sso login`, or new session keys)"
        if code in ACCESS_DENIED:
            return f"access denied on {operation}: {message or code} (the profile's IAM policy does not allow it)"
        return f"AWS refused {operation}: {code}: {message}"
    if isinstance(exc, bce.BotoCoreError):
        return f"AWS: {exc}"
    return None
