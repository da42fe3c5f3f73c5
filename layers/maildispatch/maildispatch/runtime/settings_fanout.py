"""The fan-out function's settings: a campaign's list to send requests (runtime/fanout_function.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from maildispatch.runtime.settings import (
    DELIVERY_MODES,
    DnsServers,
    EnvReader,
    dkim_keys_from_environ,
    dns_servers_from_environ,
    unsubscribe_base_url,
)

if TYPE_CHECKING:
    from maildispatch.core.dkim import SigningDomain


@dataclass(frozen=True)
class FanoutSettings:
    """The fan-out function: a campaign's list to send requests (runtime/fanout_function.py)."""

    campaign_table: str
    send_queue_url: str
    fanout_queue_url: str
    ledger_table: str
    suppression_table: str | None = None
    event_bus_name: str = "default"
    group_batches: int = 10  # SendMessageBatch calls between two checkpoints (10 recipients each)
    finish_poll_seconds: int = 60  # how often a fully read campaign counts what is still pending
    read_bytes: int = 1024 * 1024
    reserve_seconds: float = 20.0  # FANOUT_RESERVE: a run stops (and continues) with this much time left
    # the pre-flight sender check before a campaign's first send (PREFLIGHT=off: never, whatever the campaign)
    preflight: bool = True
    delivery_mode: str = (
        "relay"  # DELIVERY_MODE: relay (SPF must include the relay's) or mx (SPF, PTR of the egress IP)
    )
    relay_host: str | None = None  # RELAY_HOST: which relay (its SPF include)
    egress_ip: str | None = None  # MX_EGRESS_IP: mx mode, the NAT gateway's Elastic IP
    helo_name: str | None = None  # MX_HELO_NAME: mx mode, the EHLO name the PTR should give
    unsubscribe_base_url: str | None = None  # UNSUBSCRIBE_BASE_URL: campaign mail's one-click unsubscribe
    dkim_keys: tuple[SigningDomain, ...] = ()  # DKIM_KEYS: the keys whose publication is checked
    dns: DnsServers = DnsServers()  # DNS_NAMESERVERS, DNS_PORT, DNS_TIMEOUT, DNS_LIFETIME
    preflight_retry_seconds: int = 60  # PREFLIGHT_RETRY: a check DNS did not answer runs again after this

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> FanoutSettings:
        reader = EnvReader(env)
        return cls(
            campaign_table=reader.required("CAMPAIGN_TABLE"),
            send_queue_url=reader.required("SEND_QUEUE_URL"),
            fanout_queue_url=reader.required("FANOUT_QUEUE_URL"),
            ledger_table=reader.required("LEDGER_TABLE"),
            suppression_table=reader.text("SUPPRESSION_TABLE", None),
            event_bus_name=reader.text("EVENT_BUS_NAME", "default"),
            group_batches=reader.integer("FANOUT_GROUP_BATCHES", 10, minimum=1),
            finish_poll_seconds=int(reader.duration("FANOUT_FINISH_POLL", 60.0) or 60),
            read_bytes=reader.integer("FANOUT_READ_BYTES", 1024 * 1024, minimum=4096),
            reserve_seconds=reader.duration("FANOUT_RESERVE", 20.0) or 20.0,
            preflight=reader.text("PREFLIGHT", "on").lower() not in ("off", "false", "0", "no"),
            delivery_mode=reader.choice("DELIVERY_MODE", "relay", DELIVERY_MODES),
            relay_host=reader.text("RELAY_HOST", None),
            egress_ip=reader.text("MX_EGRESS_IP", None),
            helo_name=reader.text("MX_HELO_NAME", None),
            unsubscribe_base_url=unsubscribe_base_url(reader.text("UNSUBSCRIBE_BASE_URL", None)),
            dkim_keys=dkim_keys_from_environ(reader),
            dns=dns_servers_from_environ(reader),
            preflight_retry_seconds=int(reader.duration("PREFLIGHT_RETRY", 60.0) or 60),
        )
