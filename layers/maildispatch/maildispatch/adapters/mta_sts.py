"""MTA-STS policies (RFC 8461) fetched over HTTPS and cached for their max_age.

`MtaStsPolicies.policy(domain)` answers with the domain's policy or None:
1. The `_mta-sts.<domain>` TXT record is looked up on every call (dnspython caches it for its TTL).
2. A cached policy still within its max_age and fetched under the same record `id` is used as is.
3. Otherwise `https://mta-sts.<domain>/.well-known/mta-sts.txt` is fetched (certificate verified
   for that name, no redirects followed, 200 and text/plain only, at most 64 KiB) and cached.
4. A fetch that fails keeps a cached policy that has not expired (a policy outlives a broken web
   server: that is its point); without one the domain is treated as having no policy.
   The TXT record gone while a policy is cached: the cached policy holds until it expires.

The cache lives with the container; Lambda containers are short-lived, so a domain's policy is
fetched about once per container, not per message. `policy_host_override` ("127.0.0.1:8443")
connects there instead of mta-sts.<domain>:443 while still checking the certificate for
mta-sts.<domain>: tests and labs only.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

from maildispatch.adapters.dns_resolver import DnsResolver
from maildispatch.adapters.smtp_relay import client_tls_context
from maildispatch.core.mta_sts import MAX_POLICY_BYTES, PolicyError, StsPolicy, parse_policy, parse_sts_record
from maildispatch.core.mx import Found

logger = logging.getLogger(__name__)
POLICY_PATH = "/.well-known/mta-sts.txt"


@dataclass(frozen=True)
class MtaStsSettings:
    ca_file: str | None = None  # an extra trust anchor (tests' CA); the system's CAs are always trusted
    policy_host_override: str | None = None  # "host:port" to connect to instead of mta-sts.<domain>:443
    timeout: float = 10.0


@dataclass(frozen=True)
class _Cached:
    policy: StsPolicy
    record_id: str
    expires: float


class PolicyFetchError(Exception):
    """The policy could not be fetched or read; the message says why."""


class MtaStsPolicies:
    def __init__(
        self,
        resolver: DnsResolver,
        settings: MtaStsSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolver = resolver
        self._settings = settings or MtaStsSettings()
        self._clock = clock
        self._cache: dict[str, _Cached] = {}
        self.fetches = 0  # HTTPS fetches made (tests check the cache with it)
        self.failures: list[tuple[str, str]] = []  # (domain, why) for fetches that failed

    async def policy(self, domain: str) -> StsPolicy | None:
        now = self._clock()
        cached = self._cache.get(domain)
        if cached is not None and cached.expires <= now:
            del self._cache[domain]
            cached = None
        txt = await self._resolver.txt(f"_mta-sts.{domain}")
        record = parse_sts_record(txt.records) if isinstance(txt, Found) else None
        if record is None or (cached is not None and cached.record_id == record.id):
            return cached.policy if cached is not None else None
        try:
            policy = parse_policy(await self._fetch(domain))
        except (PolicyFetchError, PolicyError) as exc:
            self.failures.append((domain, str(exc)))
            logger.warning("MTA-STS policy of %s not usable: %s", domain, exc)
            return cached.policy if cached is not None else None
        self._cache[domain] = _Cached(policy, record.id, now + policy.max_age)
        return policy

    async def _fetch(self, domain: str) -> str:
        policy_host = f"mta-sts.{domain}"
        host, port = policy_host, 443
        if self._settings.policy_host_override:
            override_host, _, override_port = self._settings.policy_host_override.rpartition(":")
            host, port = override_host, int(override_port)
        self.fetches += 1
        try:
            async with asyncio.timeout(self._settings.timeout):
                return await _https_get(host, port, policy_host, client_tls_context(self._settings.ca_file))
        except TimeoutError as exc:
            raise PolicyFetchError(
                f"https://{policy_host}{POLICY_PATH}: no answer within {self._settings.timeout:g} s"
            ) from exc
        except (OSError, ssl.SSLError) as exc:
            raise PolicyFetchError(f"https://{policy_host}{POLICY_PATH}: {exc}") from exc


async def _https_get(host: str, port: int, server_name: str, context: ssl.SSLContext) -> str:
    """GET the policy path: one HTTP/1.1 request, the body of a 200 text/plain answer."""
    reader, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=server_name)
    try:
        request = f"GET {POLICY_PATH} HTTP/1.1\r\nHost: {server_name}\r\nUser-Agent: maildispatch\r\nConnection: close\r\n\r\n"
        writer.write(request.encode("ascii"))
        await writer.drain()
        raw = await reader.read(MAX_POLICY_BYTES + 16 * 1024)
        while len(raw) <= MAX_POLICY_BYTES + 16 * 1024:
            more = await reader.read(16 * 1024)
            if not more:
                break
            raw += more
    finally:
        writer.close()
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise PolicyFetchError(f"https://{server_name}{POLICY_PATH}: no complete HTTP answer")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or parts[1] != "200":
        raise PolicyFetchError(
            f"https://{server_name}{POLICY_PATH} answered {status_line!r} (redirects are not followed)"
        )
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "text/plain":
        raise PolicyFetchError(f"https://{server_name}{POLICY_PATH} is {media_type or 'untyped'}, not text/plain")
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _unchunk(body)
    elif "content-length" in headers and headers["content-length"].isdigit():
        body = body[: int(headers["content-length"])]
    if len(body) > MAX_POLICY_BYTES:
        raise PolicyFetchError(f"https://{server_name}{POLICY_PATH} is larger than {MAX_POLICY_BYTES} bytes")
    return body.decode("utf-8", "replace")


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            break
        out, data = out + rest[:size], rest[size + 2 :]
    return out
