"""The scripted test relay as a process tests can drive, and the pytest fixtures built on it.

    def test_something(relay, relay_settings):
        relay.set_script({"rcpt": {"ghost@example.net": ["550 5.1.1 User unknown"]}})
        ...deliver with RelayTransport(relay_settings)...
        assert relay.messages()[0]["X-Envelope-To"] == "an.nguyen@example.net"

With random faults: `RelayProcess().start(dir, faults={"rcpt": {"451": 0.1}, ...}, seed=7)` (the profile
format is in tests/stack/relay.py); `injected_faults()` and `stored_copies()` read the outcome back.
"""

from __future__ import annotations

import dataclasses
import email.policy
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from maildispatch.adapters.smtp_relay import RelaySettings
from tests.stack.certs import CertificateFiles, make_certificates
from tests.stack.relay import FaultProfile

REPO_ROOT = Path(__file__).resolve().parents[2]
RELAY_USER = "relay-user"
RELAY_PASSWORD = "relay-pass"


class RelayProcess:
    """One `python -m tests.stack.relay` process on 127.0.0.1, stopped by its PID."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.directory = Path()
        self.certificates: CertificateFiles | None = None
        self.security = "starttls"

    def start(
        self,
        tmp_dir: Path,
        script: dict[str, Any] | None = None,
        *,
        security: str = "starttls",
        auth: tuple[str, str] | None = None,
        smtputf8: bool = True,
        faults: Mapping[str, Any] | None = None,
        seed: int | None = None,
        idle_timeout: float | None = None,
        startup_timeout: float = 10.0,
        host: str = "127.0.0.1",
        port: int = 0,
        greeting: str | None = None,
        tls_optional: bool = False,
        cert_names: Sequence[str] = (),
        pipelining: bool = False,
    ) -> RelayProcess:
        """Start the relay; `host`, `port`, `greeting`, `tls_optional` and `cert_names` make it an MX host."""
        self.directory = tmp_dir
        self.host = host
        self.security = security
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self.set_script(script or {})
        command = [
            sys.executable,
            "-m",
            "tests.stack.relay",
            "--ready-file",
            str(self._path("ready")),
            "--maildir",
            str(self._path("maildir")),
            "--script",
            str(self._path("script.json")),
            "--log",
            str(self._path("log.jsonl")),
            "--security",
            security,
        ]
        if security != "none":
            self.certificates = make_certificates(tmp_dir / "certs", names=cert_names)
            command += ["--cert", str(self.certificates.cert_file), "--key", str(self.certificates.key_file)]
        if auth is not None:
            command += ["--auth", f"{auth[0]}:{auth[1]}"]
        if not smtputf8:
            command.append("--no-smtputf8")
        if faults is not None:
            FaultProfile.from_json(faults, seed=seed)  # a bad profile fails here, not at the first RCPT
            self._path("faults.json").write_text(json.dumps(faults), encoding="utf-8")
            command += ["--faults", str(self._path("faults.json"))]
            if seed is not None:
                command += ["--seed", str(seed)]
        if idle_timeout is not None:
            command += ["--idle-timeout", str(idle_timeout)]
        command += ["--host", host, "--port", str(port)]
        if greeting is not None:
            command += ["--greeting", greeting]
        if tls_optional:
            command.append("--tls-optional")
        if pipelining:
            command.append("--pipelining")
        with self._path("stderr").open("wb") as stderr:
            self._process = subprocess.Popen(
                command, cwd=REPO_ROOT, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr
            )
        self.port = self._wait_until_ready(startup_timeout)
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None, "relay not started"
        return self._process.pid

    @property
    def ca_file(self) -> str | None:
        return str(self.certificates.ca_file) if self.certificates else None

    def set_script(self, script: dict[str, Any]) -> None:
        """Replace the reply script; the relay picks it up at its next command.

        A "faults" object in it (a fault profile) replaces the --faults profile while it is there.
        """
        if "faults" in script:
            FaultProfile.from_json(script["faults"])
        temporary = self._path("script.json.tmp")
        temporary.write_text(json.dumps(script), encoding="utf-8")
        os.replace(temporary, self._path("script.json"))

    def messages(self) -> list[EmailMessage]:
        """Stored messages in arrival order, with X-Envelope-From and X-Envelope-To headers."""
        parser = BytesParser(policy=email.policy.default)
        new = self._path("maildir") / "new"
        paths = sorted(new.glob("*.eml")) if new.exists() else []
        return [parser.parsebytes(path.read_bytes()) for path in paths]

    def log_events(self, event: str | None = None, **fields: Any) -> list[dict[str, Any]]:
        """Logged events, optionally only those with this event name and these field values."""
        path = self._path("log.jsonl")
        if not path.exists():
            return []
        events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        return [
            item
            for item in events
            if (event is None or item.get("event") == event)
            and all(item.get(key) == value for key, value in fields.items())
        ]

    def injected_faults(self) -> Counter[str]:
        """How many times each random fault was injected (a DATA fault counts once per transaction).

        A drop_mid_data that read the whole message before dropping (it fitted in the buffers)
        counts as "drop_mid_data_whole_message_read".
        """
        counts: Counter[str] = Counter()
        for item in self.log_events("fault"):
            whole = item["fault"] == "drop_mid_data" and item.get("dot_seen")
            counts["drop_mid_data_whole_message_read" if whole else item["fault"]] += 1
        return counts

    def stored_copies(self, *, null_sender: bool = False) -> Counter[tuple[str, str]]:
        """(Message-ID, recipient) -> copies the relay stored; DSNs (from <>) only if `null_sender`."""
        copies: Counter[tuple[str, str]] = Counter()
        for item in self.log_events("data"):
            if item.get("stored") and (item.get("sender") == "<>") == null_sender:
                key = (item["message_id"], item["recipient"].lower())
                copies[key] = max(copies[key], item["copy"])
        return copies

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()  # SIGTERM to this process's PID only
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        self._process = None

    def __enter__(self) -> RelayProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def log_path(self) -> Path:
        """The relay's event log (JSON lines: connect, commands, each stored copy)."""
        return self._path("log.jsonl")

    def _path(self, name: str) -> Path:
        return self.directory / name

    def _wait_until_ready(self, timeout: float) -> int:
        assert self._process is not None
        ready = self._path("ready")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready.exists():
                return int(ready.read_text(encoding="ascii"))
            if self._process.poll() is not None:
                break
            time.sleep(0.01)
        self.stop()
        output = self._path("stderr").read_text(errors="replace")
        raise RuntimeError(f"the test relay did not start within {timeout} s:\n{output}")


@pytest.fixture
def relay(tmp_path: Path) -> Iterator[RelayProcess]:
    """A fresh relay: STARTTLS with the test CA, AUTH as relay-user/relay-pass, empty script."""
    with RelayProcess().start(tmp_path / "relay", security="starttls", auth=(RELAY_USER, RELAY_PASSWORD)) as process:
        yield process


def relay_settings_for(relay: RelayProcess, **changes: Any) -> RelaySettings:
    """RelaySettings for a test relay (STARTTLS, AUTH), trusting its CA; a short timeout keeps tests quick."""
    settings = RelaySettings(
        host=relay.host,
        port=relay.port,
        security="starttls",
        username=RELAY_USER,
        password=RELAY_PASSWORD,
        ca_file=relay.ca_file,
        timeout=5.0,
        local_hostname="client.test",
    )
    return dataclasses.replace(settings, **changes)


@pytest.fixture
def relay_settings(relay: RelayProcess) -> RelaySettings:
    """RelaySettings for the `relay` fixture."""
    return relay_settings_for(relay)
