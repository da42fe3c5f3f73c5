"""Running the `maildispatch` command line in tests: its entry point in process, with only the AWS
settings a test gives, its exit code and output captured as a CompletedProcess."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from unittest import mock

import pytest

from maildispatch_cli.app import main
from tests.stack.moto import MotoServer, local_aws_environment


def maildispatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`maildispatch ARGS` with only `env`'s AWS settings (none from this machine)."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, {**clean, "AWS_EC2_METADATA_DISABLED": "true", **env}, clear=True),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = main(list(args))
    return subprocess.CompletedProcess(["maildispatch", *args], code, out.getvalue(), err.getvalue())


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed run (and proof that there is nothing else, no traceback)."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("maildispatch: error: "), result.stderr
    return lines[0].removeprefix("maildispatch: error: ")


@pytest.fixture
def moto_env(moto_server: MotoServer) -> dict[str, str]:
    """Fake credentials, a region and AWS_ENDPOINT_URL: what an operator's shell would set for moto."""
    return local_aws_environment(moto_server.endpoint_url)
