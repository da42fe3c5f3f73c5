"""The parts' boundaries hold where it costs: the core and the services load no I/O library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "maildispatch"
IO_LIBRARIES = ("boto3", "botocore", "aiosmtplib", "dns", "aws_lambda_powertools")


def modules_loaded_by(module: str) -> list[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(LAYER)}
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize(
    "module",
    ["maildispatch.services.dispatch", "maildispatch.services.reporting", "maildispatch.services.returned_mail"],
)
def test_importing_a_service_loads_no_aws_smtp_or_dns_library(module):
    loaded = modules_loaded_by(module)
    assert [m for m in loaded if m.split(".")[0] in IO_LIBRARIES] == []


def test_the_layer_package_ships_no_test_fakes_or_command_line():
    shipped = {p.relative_to(LAYER).as_posix() for p in LAYER.rglob("*.py")}
    assert not [p for p in shipped if "fake" in p or "InMemory" in (LAYER / p).read_text()]
    assert not [p for p in shipped if p.endswith("__main__.py")]
