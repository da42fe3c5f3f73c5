"""Cold start: a fresh process importing and initialising a function's handler module.

The bundle is what `sam build` makes (function directory + layer), measured as it is: the layer's
Makefile (BuildMethod makefile) ships .pyc files compiled by Python 3.13, so the interpreter that
imports it is Python 3.13, the runtime's. boto3 comes with the Lambda runtime: it is taken from this
venv's site-packages into a directory of its own and compiled with that same 3.13, as the runtime
ships it. `ms_without_pyc` is the same bundle with every __pycache__ removed (what BuildMethod
python3.13 used to ship). The yardstick is `import boto3; boto3.client("sqs")` in the same
interpreter, in the same run.
"""

from __future__ import annotations

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
        return Bundle(
            target, "sam build (layer: BuildMethod makefile, .pyc by Python 3.13; arm64), reused: same inputs"
        )
    shutil.rmtree(target, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    sam = sam_cli()
    reason = "no SAM CLI (make lint sets up .venv-sam; SAM_CLI=path names another)"
    if sam is not None:
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
            return Bundle(target, "sam build (layer: BuildMethod makefile, .pyc by Python 3.13; arm64)")
        reason = "sam build failed: " + (result.stderr or result.stdout).strip().splitlines()[-1][:300]
    return _copied_bundle(target, reason)


def sam_cli() -> Path | None:
    """SAM CLI: $SAM_CLI, else this checkout's .venv-sam, else `sam` on the PATH."""
    for candidate in (os.environ.get("SAM_CLI"), REPO / ".venv-sam" / "bin" / "sam", shutil.which("sam")):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    return None


def runtime_python() -> tuple[list[str], dict[str, str]]:
    """The command and environment of a Python 3.13 (the runtime's), else this interpreter."""
    env = _python313_env()
    probe = subprocess.run(
        ["python3.13", "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, env=env
    )
    if probe.returncode == 0:
        return [probe.stdout.strip()], env
    return [sys.executable], env


# boto3 and what it imports, as the Lambda runtime has them (outside the bundle)
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")


def runtime_site(work: Path, python: list[str]) -> Path:
    """boto3 and its dependencies from this venv, compiled by `python`: the runtime's copy of them."""
    import importlib.util

    target = work.resolve() / "runtime-site"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for package in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            continue
        if spec.submodule_search_locations:
            source = Path(next(iter(spec.submodule_search_locations)))
            shutil.copytree(source, target / package, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(spec.origin, target / Path(spec.origin).name)
    _compile(python, target)
    return target


def _compile(python: list[str], root: Path) -> None:
    subprocess.run(
        [*python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(root)],
        check=True,
        capture_output=True,
        env=_python313_env(),
    )


def has_pyc(bundle: Bundle) -> bool:
    return any(bundle.layer_dir.rglob("*.pyc"))


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


def without_pyc(bundle: Bundle, work: Path) -> Bundle:
    """A copy of the bundle with no .pyc files: what a build that ships none (BuildMethod python3.13) gives."""
    target = work.resolve() / "sam-build-no-pyc"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(bundle.root, target, ignore=shutil.ignore_patterns("__pycache__"))
    return Bundle(target, bundle.built_with + ", __pycache__ removed")


def lambda_environment(logical_id: str, bundle: Bundle | None, runtime: Path | None = None) -> dict[str, str]:
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
    # The runtime's boto3 comes last: `runtime` (compiled for the measuring interpreter), else this venv's.
    paths = [str(runtime) if runtime is not None else sysconfig.get_paths()["purelib"]]
    if bundle is not None:
        paths[:0] = [str(bundle.function_dir(logical_id)), str(bundle.layer_dir)]
        env["LAMBDA_TASK_ROOT"] = str(bundle.function_dir(logical_id))
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def time_statement(statement: str, env: dict[str, str], cwd: Path, python: list[str] | None = None) -> float:
    """Milliseconds that `statement` takes in a fresh interpreter (after the interpreter itself started)."""
    result = subprocess.run(
        [*(python or [sys.executable]), "-S", "-c", _TIMER, statement],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{statement!r} failed in a fresh interpreter:\n{result.stderr[-2000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def module_origins(
    bundle: Bundle, logical_id: str, python: list[str] | None = None, runtime: Path | None = None
) -> dict[str, str | None]:
    """Where the handler's packages were imported from: the bundle must win over the venv."""
    import ast

    result = subprocess.run(
        [*(python or [sys.executable]), "-S", "-c", _ORIGINS],
        env=lambda_environment(logical_id, bundle, runtime),
        cwd=bundle.function_dir(logical_id),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


def top_imports(
    bundle: Bundle, logical_id: str, count: int = 8, python: list[str] | None = None, runtime: Path | None = None
) -> list[dict[str, float | str]]:
    """The packages that cost most in `import app` (python -X importtime, one run, own time per package)."""
    result = subprocess.run(
        [*(python or [sys.executable]), "-S", "-X", "importtime", "-c", HANDLER],
        env=lambda_environment(logical_id, bundle, runtime),
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
    """Median ms of each function's `import app` (the `sam build` bundle as built) and of the
    yardstick, in the runtime's Python; `runs_without_pyc` (default `runs`) of the bundle without .pyc."""
    runs_without_pyc = runs if runs_without_pyc is None else runs_without_pyc
    python, python_env = runtime_python()
    bundle = build_bundle(work)
    if not has_pyc(bundle):  # the fallback copy: compile it as the Makefile would
        _compile(python, bundle.root)
        bundle = Bundle(bundle.root, bundle.built_with + " + compileall (as the layer Makefile does)")
    plain = without_pyc(bundle, work)
    runtime = runtime_site(work, python)
    version = subprocess.run(
        [*python, "-c", "import sys; print(sys.implementation.name, sys.version.split()[0])"],
        capture_output=True,
        text=True,
        env=python_env,
    ).stdout.strip()

    def env(logical_id: str, measured: Bundle | None) -> dict[str, str]:
        return {**lambda_environment(logical_id, measured, runtime), **_pyenv_only(python_env)}

    samples: dict[str, list[float]] = {"boto3": []}
    for name in FUNCTIONS:
        samples[name] = []
        samples[f"{name}_without_pyc"] = []
    for run in range(runs):  # taking turns, so a burst of load hits every statement alike
        samples["boto3"].append(time_statement(YARDSTICK, env("DispatchFunction", None), REPO, python))
        for name, logical_id in FUNCTIONS.items():
            samples[name].append(
                time_statement(HANDLER, env(logical_id, bundle), bundle.function_dir(logical_id), python)
            )
            if run < runs_without_pyc:
                samples[f"{name}_without_pyc"].append(
                    time_statement(HANDLER, env(logical_id, plain), plain.function_dir(logical_id), python)
                )
    boto3_ms = statistics.median(samples["boto3"])
    result: dict = {
        "runs": runs,
        "runs_without_pyc": runs_without_pyc,
        "statistic": "median",
        "interpreter": f"{version} ({python[0]})",
        "bundle_built_with": bundle.built_with,
        "bundle_ships_pyc": True,
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
            "imported_from": module_origins(bundle, logical_id, python, runtime),
            "top_imports": top_imports(bundle, logical_id, python=python, runtime=runtime),
        }
    return result


def _pyenv_only(env: dict[str, str]) -> dict[str, str]:
    """What of `env` picks the interpreter (pyenv's shims); nothing else of this shell reaches the child."""
    return {k: v for k, v in env.items() if k == "PYENV_VERSION"}
