"""template.yaml passes both linters CI runs: cfn-lint and `sam validate --lint`, without warnings."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CFN_LINT = REPO / ".venv" / "bin" / "cfn-lint"
SAM = REPO / ".venv-sam" / "bin" / "sam"


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_cfn_lint_finds_nothing():
    if not CFN_LINT.exists():
        pytest.fail(f"{CFN_LINT} is missing: run `make test`, which installs the project venv")
    # Informational findings count too (exit code 8): the template sets what they ask for.
    result = run([str(CFN_LINT), "--non-zero-exit-code", "informational", "--", "template.yaml"])
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_sam_validate_lint_accepts_the_template():
    if not SAM.exists():
        pytest.fail(f"SAM CLI is missing ({SAM}): run `make test`, which installs it in its own venv")
    result = run([str(SAM), "validate", "--lint", "--template-file", "template.yaml"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout
