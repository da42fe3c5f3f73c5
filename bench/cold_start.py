"""Cold start: a fresh process importing and initialising a function's handler module.

The bundle is what `sam build` makes (function directory + layer; boto3 comes with the Lambda
runtime, so it is taken from this interpreter's site-packages, as is the yardstick's). Lambda
ships what the build makes, and `sam build` makes no .pyc files, so every cold start in Lambda
compiles the layer from source; we measure both: the bundle with .pyc files (compileall, as a
build that ships them would) and as `sam build` leaves it. The yardstick is
`import boto3; boto3.client("sqs")` in the same interpreter, in the same run.
"""

from __future__ import annotations

import compileall
import hashlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import template_facts

REPO = Path(__file__).resolve().parents[1]
FUNCTIONS = {"dispatch": "DispatchFunction", "bounce": "BounceFunction"}
LAYER = "CoreLayer"
YARDSTICK = 'import boto3; boto3.client("sqs")'
HANDLER = "import app"

_TIMER = """\
import sys, time
started = time.perf_counter()
exec(compile(sys.argv[1], "<cold start>", "exec"), {"__name__": "__cold_start__"})
print((time.perf_counter() - started) * 1000)
"""
_ORIGINS = """\
import sys, importlib
import app
import maildispatch.services.dispatch
names = ("maildispatch.services.dispatch", "aws_lambda_powertools", "aiosmtplib", "jinja2", "boto3")
print({n: getattr(sys.modules.get(n), "__file__", None) for n in names})
"""


@dataclass(frozen=True)
class Bundle:
    root: Path  # holds <Function>/ and CoreLayer/python/
    built_with: str

    def function_dir(self, logical_id: str) -> Path:
        return self.root / logical_id

    @property
    def layer_dir(self) -> Path:
        return self.root / LAYER / "python"


def _python313_env() -> dict[str, str]:
    """An environment in which `python3.13` resolves, which `sam build` needs for the template's runtime."""
    env = dict(os.environ, SAM_CLI_TELEMETRY="0")
    if shutil.which("python3.13"):
        probe = subprocess.run(["python3.13", "-c", "pass"], capture_output=True, env=env)
        if probe.returncode == 0:
            return env
    pyenv = shutil.which("pyenv")
    if pyenv:
        versions = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True).stdout.split()
        wanted = [v for v in versions if v.startswith("3.13")]
        current = subprocess.run([pyenv, "version-name"], capture_output=True, text=True).stdout.strip()
        if wanted:
            env["PYENV_VERSION"] = ":".join(v for v in (current, wanted[-1]) if v)
    return env


def _inputs_digest() -> str:
    """A digest of everything `sam build` reads: the template, the layer and the functions."""
    digest = hashlib.sha256()
    for root in (REPO / "template.yaml", REPO / "layers" / "maildispatch", REPO / "functions"):
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            if "__pycache__" in path.parts or ".egg-info" in str(path):
                continue
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build_bundle(work: Path) -> Bundle:
    """`sam build` into `work` (kept, and reused while its inputs are unchanged); when SAM is not
    there or fails, the same layout copied from this venv."""
    target = work.resolve() / "sam-build"
    stamp = work.resolve() / "sam-build.inputs"
    digest = _inputs_digest()
    if target.exists() and stamp.exists() and stamp.read_text() == digest:
        return Bundle(target, "sam build (python3.13, arm64), reused: same inputs")
    shutil.rmtree(target, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    sam = REPO / ".venv-sam" / "bin" / "sam"
    reason = "no .venv-sam (make lint sets it up)"
    if sam.exists():
        result = subprocess.run(
            [
                str(sam),
                "build",
                "--template-file",
                str(REPO / "template.yaml"),
                "--build-dir",
                str(target),
                "--base-dir",
                str(REPO),
            ],
            cwd=REPO,
            env=_python313_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode == 0:
            stamp.write_text(digest)
            return Bundle(target, "sam build (python3.13, arm64)")
        reason = "sam build failed: " + (result.stderr or result.stdout).strip().splitlines()[-1][:300]
    return _copied_bundle(target, reason)


def _copied_bundle(target: Path, reason: str) -> Bundle:
    import importlib.util

    layer = target / LAYER / "python"
    layer.mkdir(parents=True)
    shutil.copytree(
        REPO / "layers" / "maildispatch" / "maildispatch",
        layer / "maildispatch",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for package in ("aws_lambda_powertools", "aiosmtplib", "dns", "jinja2", "markupsafe", "jmespath"):
        spec = importlib.util.find_spec(package)
        if spec and spec.submodule_search_locations:
            shutil.copytree(
                next(iter(spec.submodule_search_locations)),
                layer / package,
                ignore=shutil.ignore_patterns("__pycache__"),
            )
    for name, logical_id in FUNCTIONS.items():
        shutil.copytree(REPO / "functions" / name, target / logical_id, ignore=shutil.ignore_patterns("__pycache__"))
    return Bundle(target, f"copied from the venv ({reason})")


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _zipped_bytes(*roots: tuple[Path, str]) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, prefix in roots:
            for path in sorted(root.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    archive.write(path, f"{prefix}{path.relative_to(root)}")
    return buffer.tell()


def bundle_sizes(bundle: Bundle, logical_id: str) -> dict[str, int]:
    function, layer = bundle.function_dir(logical_id), bundle.root / LAYER
    return {
        "function_bytes": _tree_bytes(function),
        "layer_bytes": _tree_bytes(layer),
        "total_bytes": _tree_bytes(function) + _tree_bytes(layer),
        "function_zip_bytes": _zipped_bytes((function, "")),
        "layer_zip_bytes": _zipped_bytes((layer, "")),
    }


def compiled_copy(bundle: Bundle, work: Path) -> Bundle:
    """A copy of the bundle with .pyc files for this interpreter, as a build that ships them would have."""
    target = work.resolve() / "sam-build-pyc"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(bundle.root, target)
    if not compileall.compile_dir(str(target), quiet=1, workers=0):
        raise RuntimeError(f"compileall failed in {target}")
    return Bundle(target, bundle.built_with + " + compileall")


def lambda_environment(logical_id: str, bundle: Bundle | None) -> dict[str, str]:
    """What Lambda gives the process (dummy credentials; nothing calls AWS at import) plus the template's variables."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",  # measure what the bundle ships, never a cache written by an earlier run
        "AWS_REGION": template_facts.REGION,
        "AWS_DEFAULT_REGION": template_facts.REGION,
        "AWS_ACCESS_KEY_ID": "AKIABENCHMARKONLY000",
        "AWS_SECRET_ACCESS_KEY": "benchmark-only",
        "AWS_LAMBDA_FUNCTION_NAME": f"maildispatch-{logical_id}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(template_facts.memory_size(logical_id)),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "_HANDLER": "app.handler",
        **template_facts.function_environment(logical_id),
    }
    # The interpreter runs with -S (no site): no .pth files, so not this checkout's editable install.
    # This venv's site-packages come last, standing in for the runtime's boto3.
    paths = [sysconfig.get_paths()["purelib"]]
    if bundle is not None:
        paths[:0] = [str(bundle.function_dir(logical_id)), str(bundle.layer_dir)]
        env["LAMBDA_TASK_ROOT"] = str(bundle.function_dir(logical_id))
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def time_statement(statement: str, env: dict[str, str], cwd: Path) -> float:
    """Milliseconds that `statement` takes in a fresh interpreter (after the interpreter itself started)."""
    result = subprocess.run(
        [sys.executable, "-S", "-c", _TIMER, statement], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(f"{statement!r} failed in a fresh interpreter:\n{result.stderr[-2000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def module_origins(bundle: Bundle, logical_id: str) -> dict[str, str | None]:
    """Where the handler's packages were imported from: the bundle must win over the venv."""
    import ast

    result = subprocess.run(
        [sys.executable, "-S", "-c", _ORIGINS],
        env=lambda_environment(logical_id, bundle),
        cwd=bundle.function_dir(logical_id),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


def top_imports(bundle: Bundle, logical_id: str, count: int = 8) -> list[dict[str, float | str]]:
    """The packages that cost most in `import app` (python -X importtime, one run, own time per package)."""
    result = subprocess.run(
        [sys.executable, "-S", "-X", "importtime", "-c", HANDLER],
        env=lambda_environment(logical_id, bundle),
        cwd=bundle.function_dir(logical_id),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return parse_importtime(result.stderr, count)


def parse_importtime(stderr: str, count: int = 8) -> list[dict[str, float | str]]:
    """Import time by top-level package from `-X importtime` output: each module's own ("self") time,
    summed per package, so the figures add up to the whole import."""
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, _, name = line.split(":", 1)[1].split("|")
        if not own.strip().isdigit():
            continue  # the header line
        package = name.strip().split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(own) / 1000
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)[:count]
    return [{"package": package, "ms": round(ms, 1)} for package, ms in ranked]


def measure(work: Path, runs: int, *, runs_without_pyc: int | None = None) -> dict:
    """Median ms of each function's `import app` and of the yardstick; `runs_without_pyc` (default
    `runs`) of the bundle as `sam build` leaves it."""
    runs_without_pyc = runs if runs_without_pyc is None else runs_without_pyc
    bundle = build_bundle(work)
    compiled = compiled_copy(bundle, work)
    yardstick_env = lambda_environment("DispatchFunction", None)
    samples: dict[str, list[float]] = {"boto3": []}
    for name in FUNCTIONS:
        samples[name] = []
        samples[f"{name}_without_pyc"] = []
    for run in range(runs):  # taking turns, so a burst of load hits every statement alike
        samples["boto3"].append(time_statement(YARDSTICK, yardstick_env, REPO))
        for name, logical_id in FUNCTIONS.items():
            samples[name].append(
                time_statement(HANDLER, lambda_environment(logical_id, compiled), compiled.function_dir(logical_id))
            )
            if run < runs_without_pyc:
                samples[f"{name}_without_pyc"].append(
                    time_statement(HANDLER, lambda_environment(logical_id, bundle), bundle.function_dir(logical_id))
                )
    boto3_ms = statistics.median(samples["boto3"])
    result: dict = {
        "runs": runs,
        "runs_without_pyc": runs_without_pyc,
        "statistic": "median",
        "interpreter": f"{sys.implementation.name} {sys.version.split()[0]} ({sys.executable})",
        "bundle_built_with": bundle.built_with,
        "yardstick": YARDSTICK,
        "boto3_sqs_ms": round(boto3_ms, 1),
        "samples_ms": {key: [round(v, 1) for v in values] for key, values in samples.items()},
    }
    for name, logical_id in FUNCTIONS.items():
        ms = statistics.median(samples[name])
        raw_ms = statistics.median(samples[f"{name}_without_pyc"])
        result[name] = {
            "ms": round(ms, 1),
            "ratio_to_boto3": round(ms / boto3_ms, 3),
            "ms_without_pyc": round(raw_ms, 1),
            "ratio_to_boto3_without_pyc": round(raw_ms / boto3_ms, 3),
            "bundle": bundle_sizes(bundle, logical_id),
            "imported_from": module_origins(compiled, logical_id),
            "top_imports": top_imports(compiled, logical_id),
        }
    return result
