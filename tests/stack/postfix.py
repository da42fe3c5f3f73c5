"""A real Postfix MTA on loopback, for interop tests: a private configuration, started and stopped by the test.

    with PostfixMta(
        recipient_access={"ghost@example.net": "550 5.1.1 User unknown"},  # refused at RCPT
        relayhost=("127.0.0.1", downstream.port),  # where accepted mail goes
        transports={"example.com": ("127.0.0.1", senders.port)},  # bounces to our senders
    ).start() as mta:
        ...submit to 127.0.0.1:mta.port with STARTTLS (mta.ca_file), or use mta.submission_env()...
        mta.wait_until_idle()
        mta.rcpt_rejections(), mta.deliveries(), mta.maillog()

What it is: Debian's own Postfix binaries with a config directory, queue and data directory of
its own in a fresh folder under the system temp dir; nothing under /etc/postfix is changed
(`postfix check` only reads the package's file lists there). The SMTP server
listens on 127.0.0.1:<free port> only, with STARTTLS (a throwaway certificate from
tests/stack/certs.py) and relaying allowed from 127.0.0.0/8 without AUTH, as a submission relay
inside a private network would be. Chroot is off everywhere; the log goes to a file (`maillog`).

What it does with a recipient:
- `recipient_access`: an access(5) table applied at RCPT TO. A value "550 5.1.1 text" refuses
  the recipient permanently, "450 4.2.0 text" temporarily; Postfix answers
  "<code> <status> <address>: Recipient address rejected: text". `set_recipient_access()`
  replaces the table and reloads Postfix, so a deferred recipient can be let through later.
- Everything accepted is relayed to `relayhost`, except domains in `transports`, which go to
  their own next hop. When the next hop refuses a recipient, Postfix itself sends the
  envelope sender an RFC 3464 bounce ("Undelivered Mail Returned to Sender") from <>, which
  reaches the sender's capture through `transports`.

Started with `postfix -c DIR start`, stopped with `postfix -c DIR stop` and, should the master
still run after that, by its PID (SIGTERM, then SIGKILL). Needs root (the master runs as root
and drops to the `postfix` user) and the Debian package `postfix`.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tests.stack.certs import CertificateFiles, make_certificates
from tests.stack.moto import free_port

HOSTNAME = "mta.test"  # Postfix's myhostname: Reporting-MTA of its bounces, MAILER-DAEMON@mta.test
_POSTFIX_USER = "postfix"
_START_ATTEMPTS = 3  # a fresh port per attempt: another process may take the one we picked
_STOP_GRACE_S = 5.0

# Every service Postfix needs to receive, queue, relay and bounce; chroot ("n", 5th column) off for all.
# No pickup: nothing is submitted through the maildrop directory.
_MASTER_SERVICES = """\
cleanup    unix  n  -  n  -     0  cleanup
qmgr       unix  n  -  n  300   1  qmgr
tlsmgr     unix  -  -  n  1000? 1  tlsmgr
rewrite    unix  -  -  n  -     -  trivial-rewrite
bounce     unix  -  -  n  -     0  bounce
defer      unix  -  -  n  -     0  bounce
trace      unix  -  -  n  -     0  bounce
verify     unix  -  -  n  -     1  verify
flush      unix  n  -  n  1000? 0  flush
proxymap   unix  -  -  n  -     -  proxymap
proxywrite unix  -  -  n  -     1  proxymap
smtp       unix  -  -  n  -     -  smtp
relay      unix  -  -  n  -     -  smtp
showq      unix  n  -  n  -     -  showq
error      unix  -  -  n  -     -  error
retry      unix  -  -  n  -     -  error
discard    unix  -  -  n  -     -  discard
local      unix  -  n  n  -     -  local
anvil      unix  -  -  n  -     1  anvil
scache     unix  -  -  n  -     1  scache
postlog    unix-dgram n - n -   1  postlogd
"""

# "NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 550 5.1.1 <a@b>: Recipient address rejected: ...; from=<...> to=<a@b> ..."
# Once a recipient of the transaction was accepted, the message has a queue ID and it replaces "NOQUEUE".
_RCPT_REJECT = re.compile(
    r"(?:NOQUEUE|[0-9A-F]+): reject: RCPT from \S+: (?P<reply>\d{3} .*?); from=<(?P<sender>[^>]*)> to=<(?P<recipient>[^>]*)>"
)
# "3F2A1C0D: to=<a@b>, relay=127.0.0.1[127.0.0.1]:2525, delay=..., dsn=5.1.1, status=bounced (host ... said: ...)"
_DELIVERY = re.compile(
    r"postfix/\w+\[\d+\]: (?P<queue_id>[0-9A-F]+): to=<(?P<recipient>[^>]*)>, (?:orig_to=<[^>]*>, )?"
    r"relay=(?P<relay>[^,]+), .*?dsn=(?P<dsn>[0-9.]+), status=(?P<status>\w+) \((?P<detail>.*)\)$"
)


# "postfix/smtpd[123]: disconnect from localhost[127.0.0.1] ehlo=2 starttls=1 mail=1 rcpt=2/5 data=1 quit=1 commands=8/11"
_DISCONNECT = re.compile(r"postfix/smtpd\[\d+\]: disconnect from \S+ (?P<commands>(?:\w+=[\d/]+ ?)+)$")


class PostfixError(RuntimeError):
    """Postfix could not be configured, started or stopped; the message carries what Postfix logged."""


@dataclass(frozen=True)
class RcptRejection:
    """Postfix refused a recipient at RCPT TO (a line of its log)."""

    sender: str
    recipient: str
    reply: str  # the whole reply, as the client saw it: "550 5.1.1 <a@b>: Recipient address rejected: ..."


@dataclass(frozen=True)
class DeliveryAttempt:
    """Postfix's own attempt to pass an accepted recipient on (a line of its log)."""

    queue_id: str
    recipient: str
    relay: str  # "127.0.0.1[127.0.0.1]:2525", or "none"
    dsn: str  # enhanced status: "2.0.0", "5.1.1", "4.4.1"
    status: str  # "sent", "bounced", "deferred", "expired"
    detail: str  # "250 2.0.0 OK", or "host ... said: 550 5.1.1 ... (in reply to RCPT TO command)"


class PostfixMta:
    """One Postfix instance on 127.0.0.1, configured by the constructor's arguments."""

    host = "127.0.0.1"
    hostname = HOSTNAME

    def __init__(
        self,
        *,
        recipient_access: Mapping[str, str] | None = None,
        relayhost: tuple[str, int] | None = None,
        transports: Mapping[str, tuple[str, int]] | None = None,
        starttls: bool = True,
        keep_logs_in: Path | None = None,
        start_timeout_s: float = 20.0,
    ) -> None:
        """
        recipient_access: address or domain -> access(5) action ("550 5.1.1 text", "450 4.2.0 text", "OK").
        relayhost: (host, port) that gets every accepted message not routed by `transports`.
        transports: domain -> (host, port), e.g. the senders' domain to a capture for bounces.
        starttls: offer STARTTLS with a throwaway certificate (`ca_file` trusts it).
        keep_logs_in: a directory that receives a copy of the maillog when Postfix stops.
        """
        self.recipient_access = dict(recipient_access or {})
        self.relayhost = relayhost
        self.transports = dict(transports or {})
        self.starttls = starttls
        self.keep_logs_in = keep_logs_in
        self.start_timeout_s = start_timeout_s
        self.port = 0
        self.root = Path()
        self.certificates: CertificateFiles | None = None
        self._postfix = shutil.which("postfix") or "/usr/sbin/postfix"
        self._master_pid: int | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> PostfixMta:
        if self._master_pid is not None:
            raise PostfixError("this Postfix is already running")
        if os.geteuid() != 0:
            raise PostfixError("a real Postfix needs root: its master process starts as root and drops to `postfix`")
        # Our own folder under the system temp dir, not pytest's tmp_path: Postfix's daemons run as
        # `postfix` and must reach their data directory, and pytest's base folder is mode 0700.
        self.root = Path(tempfile.mkdtemp(prefix="maildispatch-postfix-"))
        self.root.chmod(0o755)
        try:
            self._prepare_directories()
            last_error: PostfixError | None = None
            for _ in range(_START_ATTEMPTS):
                try:
                    self._start_on(free_port())
                    return self
                except PostfixError as error:
                    last_error = error
                    self._stop_master()
            assert last_error is not None
            raise last_error
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """`postfix stop`, then the master's PID if it still runs; copy the log if asked; remove the folder."""
        try:
            self._stop_master()
        finally:
            if self.root != Path() and self.root.exists():
                if self.keep_logs_in is not None and self.maillog_path.exists():
                    self.keep_logs_in.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(self.maillog_path, self.keep_logs_in / "postfix-maillog")
                shutil.rmtree(self.root, ignore_errors=True)
            self.root = Path()

    def __enter__(self) -> PostfixMta:
        return self if self._master_pid is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        """The master process's PID while it runs."""
        return self._master_pid

    @property
    def config_dir(self) -> Path:
        return self.root / "etc"

    @property
    def maillog_path(self) -> Path:
        return self.root / "maillog"

    @property
    def ca_file(self) -> str | None:
        """The CA that signed the STARTTLS certificate, for clients' trust store."""
        return str(self.certificates.ca_file) if self.certificates else None

    def submission_env(self) -> dict[str, str]:
        """SMTP_* variables that point our functions at this Postfix (no AUTH: we are in mynetworks)."""
        env = {"SMTP_HOST": self.host, "SMTP_PORT": str(self.port)}
        if self.starttls:
            assert self.ca_file is not None
            env.update({"SMTP_SECURITY": "starttls", "SMTP_CA_FILE": self.ca_file})
        else:
            env.update({"SMTP_SECURITY": "none", "SMTP_ALLOW_INSECURE": "true"})
        return env

    # -- changing what it does while it runs -----------------------------------------------------

    def set_recipient_access(self, table: Mapping[str, str]) -> None:
        """Replace the RCPT TO access table and reload; new SMTP sessions see the new table."""
        self.recipient_access = dict(table)
        self._write_tables()
        self.reload()

    def reload(self) -> None:
        """`postfix reload`: running daemons finish their session and exit; new ones read the new config."""
        self._postfix_command("reload")

    # -- what happened ---------------------------------------------------------------------------

    def maillog(self) -> str:
        return self.maillog_path.read_text(encoding="utf-8", errors="replace") if self.maillog_path.exists() else ""

    def rcpt_rejections(self, recipient: str | None = None) -> list[RcptRejection]:
        """Recipients Postfix refused at RCPT TO, in log order (optionally only this one)."""
        found = [
            RcptRejection(m["sender"], m["recipient"], m["reply"])
            for m in map(_RCPT_REJECT.search, self.maillog().splitlines())
            if m is not None
        ]
        return [r for r in found if recipient is None or r.recipient.lower() == recipient.lower()]

    def deliveries(self, recipient: str | None = None) -> list[DeliveryAttempt]:
        """Postfix's attempts to pass accepted recipients on, in log order (optionally only this one)."""
        found = [
            DeliveryAttempt(m["queue_id"], m["recipient"], m["relay"], m["dsn"], m["status"], m["detail"])
            for m in map(_DELIVERY.search, self.maillog().splitlines())
            if m is not None
        ]
        return [d for d in found if recipient is None or d.recipient.lower() == recipient.lower()]

    def smtpd_sessions(self) -> list[dict[str, str]]:
        """What each finished SMTP session did, from smtpd's "disconnect" lines: command -> count,
        e.g. {"ehlo": "2", "starttls": "1", "mail": "1", "rcpt": "2/5", "data": "1", "quit": "1", ...}
        ("2/5": two of five accepted). A session that sent AUTH has an "auth" entry."""
        return [
            dict(item.split("=", 1) for item in m["commands"].split())
            for m in map(_DISCONNECT.search, self.maillog().splitlines())
            if m is not None
        ]

    def wait_until_sessions_logged(self, timeout_s: float = 5.0) -> None:
        """Wait until every smtpd session that connected has logged its "disconnect" summary."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            lines = self.maillog().splitlines()
            connects = sum(": connect from " in line for line in lines)
            if connects <= sum(_DISCONNECT.search(line) is not None for line in lines):
                return
            time.sleep(0.05)

    def queued(self) -> list[dict]:
        """The messages still in Postfix's queue (`postqueue -j`): one dict per message."""
        output = self._postqueue("-j")
        return [json.loads(line) for line in output.splitlines() if line.strip()]

    def wait_until_idle(self, timeout_s: float = 15.0) -> None:
        """Wait until Postfix's queue is empty: everything accepted was passed on or bounced."""
        deadline = time.monotonic() + timeout_s
        while True:
            queued = self.queued()
            if not queued:
                return
            if time.monotonic() >= deadline:
                raise PostfixError(
                    f"Postfix still holds {len(queued)} message(s) after {timeout_s} s: {queued}\n{self._log_tail()}"
                )
            time.sleep(0.1)

    # -- set-up steps ----------------------------------------------------------------------------

    def _prepare_directories(self) -> None:
        try:
            postfix_user = pwd.getpwnam(_POSTFIX_USER)
        except KeyError:
            raise PostfixError("there is no `postfix` user: is the Debian package postfix installed?") from None
        self.config_dir.mkdir()
        (self.root / "spool").mkdir()  # `postfix start` creates the queue's subdirectories, with their owners
        data = self.root / "data"
        data.mkdir(mode=0o700)
        os.chown(data, postfix_user.pw_uid, postfix_user.pw_gid)  # else: master.lock: Permission denied
        if self.starttls:
            # Read by smtpd while it still runs as root (before dropping privileges).
            self.certificates = make_certificates(self.root / "certs")

    def _start_on(self, port: int) -> None:
        self.port = port
        self._write_config()
        (self.root / "spool" / "pid" / "master.pid").unlink(missing_ok=True)  # a failed attempt's
        # `postfix start` runs `postfix check`, then `master -w`, which returns once the master is
        # ready or has failed (a port taken meanwhile: "fatal: bind 127.0.0.1 port ...").
        self._postfix_command("start")
        self._master_pid = self._pid_from_file()
        deadline = time.monotonic() + self.start_timeout_s
        while self._master_pid is not None and _running(self._master_pid) and time.monotonic() < deadline:
            if self._greets():
                return
            time.sleep(0.05)
        raise PostfixError(
            f"Postfix did not answer on 127.0.0.1:{port} within {self.start_timeout_s} s:\n{self._log_tail()}"
        )

    def _write_config(self) -> None:
        root = self.root
        lines = {
            "compatibility_level": "3.6",
            "queue_directory": root / "spool",
            "data_directory": root / "data",
            "myhostname": HOSTNAME,
            "mydomain": HOSTNAME,
            "myorigin": HOSTNAME,
            "mydestination": "",  # nothing is delivered locally
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_recipient_restrictions": f"check_recipient_access texthash:{self.config_dir / 'recipient_access'}",
            "transport_maps": f"texthash:{self.config_dir / 'transport'}",
            "relayhost": _nexthop(self.relayhost) if self.relayhost else "",
            "smtp_dns_support_level": "disabled",  # next hops are literal addresses
            "maillog_file": self.maillog_path,
            "maillog_file_prefixes": root,  # else: fatal: maillog_file ... does not match any prefix
            "in_flow_delay": "0",  # do not pause our client when deliveries lag behind arrivals
            # Should a next hop fail for a moment, try again within seconds rather than minutes.
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "smtpd_banner": "$myhostname ESMTP",
            "biff": "no",
        }
        if self.starttls:
            assert self.certificates is not None
            lines.update(
                {
                    "smtpd_tls_security_level": "may",
                    "smtpd_tls_cert_file": self.certificates.cert_file,
                    "smtpd_tls_key_file": self.certificates.key_file,
                }
            )
        main_cf = "".join(f"{name} = {value}\n" for name, value in lines.items())
        (self.config_dir / "main.cf").write_text(main_cf, encoding="ascii")
        smtpd = f"{self.host}:{self.port} inet n - n - - smtpd\n"
        (self.config_dir / "master.cf").write_text(smtpd + _MASTER_SERVICES, encoding="ascii")
        self._write_tables()

    def _write_tables(self) -> None:
        """texthash tables: read when a daemon starts, no postmap needed; a reload makes daemons re-read them."""
        _write_table(self.config_dir / "recipient_access", self.recipient_access)
        _write_table(self.config_dir / "transport", {d: f"smtp:{_nexthop(hop)}" for d, hop in self.transports.items()})

    # -- talking to Postfix ----------------------------------------------------------------------

    def _postfix_command(self, *args: str) -> str:
        """Run `postfix -c DIR ARGS`; it reports errors to the maillog (and a TTY), so quote the log on failure."""
        done = subprocess.run(
            [self._postfix, "-c", str(self.config_dir), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            said = (done.stdout + done.stderr).strip()
            raise PostfixError(f"`postfix {' '.join(args)}` failed (exit {done.returncode}) {said}\n{self._log_tail()}")
        return done.stdout

    def _postqueue(self, *args: str) -> str:
        postqueue = shutil.which("postqueue") or "/usr/sbin/postqueue"
        done = subprocess.run(
            [postqueue, "-c", str(self.config_dir), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise PostfixError(f"`postqueue {' '.join(args)}` failed: {done.stderr.strip()}\n{self._log_tail()}")
        return done.stdout

    def _greets(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                return sock.recv(512).startswith(b"220")
        except OSError:
            return False

    def _pid_from_file(self) -> int | None:
        try:
            return int((self.root / "spool" / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _stop_master(self) -> None:
        pid = self._master_pid or (self._pid_from_file() if self.root != Path() else None)
        self._master_pid = None
        if pid is None or not _running(pid):
            return
        try:
            self._postfix_command("stop")
        except (PostfixError, subprocess.TimeoutExpired):
            pass  # the PID below
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if _wait_for_exit(pid, _STOP_GRACE_S):
                return
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
        if not _wait_for_exit(pid, _STOP_GRACE_S):
            raise PostfixError(f"the Postfix master (PID {pid}) did not exit")

    def _log_tail(self, lines: int = 40) -> str:
        text = self.maillog()
        return "maillog:\n" + "\n".join(text.splitlines()[-lines:]) if text else "(the maillog is empty)"


def _write_table(path: Path, table: Mapping[str, str]) -> None:
    for key, value in table.items():
        if not key or any(ch.isspace() for ch in key) or "\n" in value:
            raise PostfixError(f"table {path.name}: cannot write {key!r} -> {value!r}")
    temporary = path.with_suffix(".tmp")
    temporary.write_text("".join(f"{key} {value}\n" for key, value in table.items()), encoding="utf-8")
    os.replace(temporary, path)


def _nexthop(hop: tuple[str, int]) -> str:
    host, port = hop
    return f"[{host}]:{port}"  # brackets: no MX lookup, connect to exactly this address


def _running(pid: int) -> bool:
    """True while `pid` runs. The master is not our child: once it exits it may stay a zombie,
    since PID 1 here does not necessarily reap orphans, so a zombie counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for_exit(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _running(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True
