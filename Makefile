# maildispatch: every target does its own set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv test unit fuzz demo lint format validate build bench chaos campaign-chaos clean bounce-score classify-bounces

$(STAMP): pyproject.toml layers/maildispatch/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	# the build backend's notice about editable installs is not for our users
	PYTHONWARNINGS=ignore $(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# SAM CLI pins its own boto3 and click, so it lives in a venv of its own.
$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q -U pip
	$(SAM_VENV)/bin/pip install -q aws-sam-cli==1.170.0
	touch $(SAM_STAMP)

venv: $(STAMP)

# Three workers on two cores: the integration tests spend much of their time waiting on servers.
# A module's tests stay on one worker (--dist loadfile), so each module's stack is provisioned once.
test: $(STAMP) $(SAM_STAMP)
	$(BIN)/python -m pytest -n 3 --dist loadfile

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

# Hostile-input suites at length: every @pytest.mark.fuzz test with 10,000 cases, each within 2 s
# (hypothesis deadline), each target in its own process under 256 MB peak RSS.
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz.run

demo: $(STAMP)
	$(BIN)/python -m tests.stack.demo

# Every check that reads the code without running it: the template, the boundaries between
# the parts (import-linter contracts in pyproject.toml), style and types.
LINT_PATHS := layers cli functions tests bench

lint: $(STAMP) $(SAM_STAMP)
	$(BIN)/cfn-lint template.yaml
	$(SAM_VENV)/bin/sam validate --lint
	$(BIN)/lint-imports
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

# ruff's fixes and formatting, applied
format: $(STAMP)
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	PYTHONWARNINGS=ignore $(BIN)/pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# The benchmark suite (bench/): latest.{json,md} and throughput.png in .local/bench/ (untracked);
# with PUBLISH=1 in bench/results/ (tracked, shown in docs/benchmarks.md). QUICK=1: a shorter run.
# Needs smtp-sink and smtp-source from the Debian package postfix (.ci/run installs it).
bench: $(BENCH_STAMP) $(SAM_STAMP)
	$(BIN)/python -m bench $(if $(QUICK),--quick) $(if $(PUBLISH),--publish)

# The fault test at full size: 2,000 requests against a fault-injecting relay, every record twice,
# invocations killed mid-batch. Writes .local/chaos-summary.json; exits non-zero on loss or duplicates.
chaos: $(STAMP)
	$(BIN)/python -m tests.stack.chaos $(if $(REQUESTS),--requests $(REQUESTS)) $(if $(SEED),--seed $(SEED)) $(if $(PIPELINING),--pipelining)

# A campaign through every fault: 5,000 recipients (duplicated rows, invalid rows, suppressed and dead
# addresses), the fan-out killed twice, dispatch invocations killed, quota replies, one pause/resume.
# Writes .local/campaign-summary.json; exits non-zero unless nothing was skipped or duplicated and it finished.
campaign-chaos: $(STAMP)
	$(BIN)/python -m tests.stack.campaign_chaos $(if $(RECIPIENTS),--recipients $(RECIPIENTS)) $(if $(SEED),--seed $(SEED))

# Returned-mail classifier, measured on the shared corpus of real bounces (../shared/bounces).
BOUNCES ?= ../shared/bounces

bounce-score: $(STAMP)
	$(BIN)/maildispatch classify-bounces $(BOUNCES)/corpus --out .local/bounce-predictions.json --score $(BOUNCES)/truth.json

classify-bounces: $(STAMP)
	@test -n "$(DIR)" || { echo "usage: make classify-bounces DIR=<folder of .eml files>" >&2; exit 2; }
	$(BIN)/maildispatch classify-bounces "$(DIR)" --out .local/bounce-predictions.json

clean:
	rm -rf $(VENV) $(SAM_VENV) .local .aws-sam
