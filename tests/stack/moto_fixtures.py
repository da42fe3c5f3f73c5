"""pytest fixtures for the moto server. Register with `pytest_plugins = ["tests.stack.moto_fixtures"]`.

- `moto_server` (session): one moto_server subprocess for the whole run, stopped by PID at the end.
- `fresh_moto` (function): the same server with all state wiped before the test.
- `aws_env` (function): a fresh server plus os.environ pointing plain boto3 clients at it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stack.moto import MotoServer, local_aws_environment


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    with MotoServer() as server:
        yield server


@pytest.fixture
def fresh_moto(moto_server: MotoServer) -> MotoServer:
    moto_server.reset()
    return moto_server


@pytest.fixture
def aws_env(fresh_moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Sets AWS_ENDPOINT_URL, region and fake credentials for this test; returns what it set."""
    environment = local_aws_environment(fresh_moto.endpoint_url)
    for unwanted in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(unwanted, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment
