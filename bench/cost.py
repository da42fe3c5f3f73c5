"""What a million emails cost in AWS at the measured latency-bound rate: pure arithmetic.

Lambda bills each invocation's duration (rounded up to the millisecond) times its memory, plus a
charge per request. The SQS event source receives and deletes in calls of up to 10 messages;
ChangeMessageVisibility is only made for records retried with backoff (none when all goes
well). The delivery ledger writes two DynamoDB items per recipient (claim, then outcome).
Amazon SES's own price per email is the reference: what sending through SES's API would cost.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

MILLION = 1_000_000


@dataclass(frozen=True)
class Prices:
    region: str = "us-east-1"
    lambda_arm64_usd_per_gb_second: float = 0.0000133334  # first 7.5 billion GB-s a month
    lambda_usd_per_million_requests: float = 0.20
    sqs_standard_usd_per_million_requests: float = 0.40  # each 64 KB of a request's payload is one request
    dynamodb_on_demand_usd_per_million_writes: float = 0.625  # write request units, items up to 1 KB
    ses_usd_per_thousand_emails: float = 0.10
    as_of: str = "2026-11"
    sources: tuple[str, ...] = (
        "https://aws.amazon.com/lambda/pricing/",
        "https://aws.amazon.com/sqs/pricing/",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
        "https://aws.amazon.com/ses/pricing/",
    )
    note: str = (
        "list prices in us-east-1 as published on the AWS pricing pages (not fetched by the benchmark; "
        "the rates were unchanged in summaries of those pages from March and June 2026); free tiers "
        "and volume tiers left out"
    )


PRICES = Prices()
SQS_MESSAGES_PER_CALL = 10  # ReceiveMessage and DeleteMessageBatch take at most 10


@dataclass(frozen=True)
class CostPerMillion:
    batch_size: int
    msgs_per_s_per_invocation: float
    memory_mb: int
    invocation_seconds: float
    lambda_compute_usd: float
    lambda_requests_usd: float
    sqs_usd: float
    sqs_requests_per_message: float
    ledger_usd: float  # DynamoDB, not in `usd` (asked for: Lambda and SQS); shown beside it

    @property
    def usd(self) -> float:
        return self.lambda_compute_usd + self.lambda_requests_usd + self.sqs_usd

    def as_dict(self) -> dict:
        return {**asdict(self), "usd": self.usd, "usd_with_ledger": self.usd + self.ledger_usd}


def sqs_requests_per_message(retried_fraction: float = 0.0) -> float:
    """Receive and delete, a tenth of a call each per message, plus a visibility change per retry."""
    return 2 / SQS_MESSAGES_PER_CALL + retried_fraction / SQS_MESSAGES_PER_CALL


def cost_per_million(
    msgs_per_s: float,
    batch_size: int,
    memory_mb: int,
    *,
    recipients_per_message: int = 1,
    retried_fraction: float = 0.0,
    prices: Prices = PRICES,
) -> CostPerMillion:
    if msgs_per_s <= 0 or batch_size <= 0:
        raise ValueError("a rate and a batch size above zero are needed")
    invocations = MILLION / batch_size
    seconds = math.ceil(batch_size / msgs_per_s * 1000) / 1000  # billed in whole milliseconds
    gb_seconds = invocations * seconds * memory_mb / 1024
    sqs_requests = sqs_requests_per_message(retried_fraction)
    return CostPerMillion(
        batch_size=batch_size,
        msgs_per_s_per_invocation=msgs_per_s,
        memory_mb=memory_mb,
        invocation_seconds=seconds,
        lambda_compute_usd=gb_seconds * prices.lambda_arm64_usd_per_gb_second,
        lambda_requests_usd=invocations / MILLION * prices.lambda_usd_per_million_requests,
        sqs_usd=sqs_requests * prices.sqs_standard_usd_per_million_requests,
        sqs_requests_per_message=sqs_requests,
        ledger_usd=2 * recipients_per_message * prices.dynamodb_on_demand_usd_per_million_writes,
    )


def ses_usd_per_million(prices: Prices = PRICES) -> float:
    return prices.ses_usd_per_thousand_emails * MILLION / 1000


def prices_as_dict(prices: Prices = PRICES) -> dict:
    return {**asdict(prices), "sources": list(prices.sources)}
