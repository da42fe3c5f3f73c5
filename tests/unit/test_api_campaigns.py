"""POST /v1/campaigns and the control routes, through the Powertools HTTP API resolver with API Gateway v2 events."""

from __future__ import annotations

import asyncio
import json

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from maildispatch.core.campaign import CampaignState, Checkpoint
from maildispatch.runtime.api_campaigns import campaigns_router
from maildispatch.services.campaigns import CampaignControl
from tests.fakes.campaigns import CollectingTrigger, InMemoryCampaignStore, LedgerCountsFromRows
from tests.fakes.services import CollectingPublisher
from tests.stack.lambda_context import FakeLambdaContext

CAMPAIGN = {
    "id": "spring-sale",
    "list": {"bucket": "content", "key": "lists/spring.csv"},
    "from": "news@shop.example.com",
    "template": {"key": "newsletter/spring"},
    "subject": "Spring is here",
}


def http_event(method: str, path: str, body: object = None, query: str = "") -> dict:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "queryStringParameters": dict(p.split("=", 1) for p in query.split("&")) if query else None,
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "t"},
            "requestId": "r1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "05/Dec/2026:09:00:00 +0000",
            "timeEpoch": 1796461200000,
        },
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


class Api:
    def __init__(self):
        self.now = 1_796_461_200.0
        self.store = InMemoryCampaignStore()
        self.trigger = CollectingTrigger()
        self.ledger = LedgerCountsFromRows()
        self.events = CollectingPublisher()
        control = CampaignControl(self.store, self.trigger, self.ledger, events=self.events, clock=lambda: self.now)
        self.app = APIGatewayHttpResolver()
        self.app.include_router(campaigns_router(control), prefix="/v1")

    def __call__(self, method, path, body=None, query=""):
        response = self.app.resolve(http_event(method, path, body, query), FakeLambdaContext("api", 30, 256))
        return response["statusCode"], json.loads(response["body"]), response.get("headers") or {}


@pytest.fixture
def api():
    return Api()


def test_a_campaign_is_created_and_its_fan_out_asked_for(api):
    status, body, headers = api("POST", "/v1/campaigns", CAMPAIGN)
    assert status == 201
    assert body == {
        "id": "spring-sale",
        "state": "scheduled",
        "reason": None,
        "status_url": "/v1/campaigns/spring-sale",
    }
    assert headers["Location"] == "/v1/campaigns/spring-sale"
    assert api.trigger.runs == [("spring-sale", 0)]
    assert api.store.records["spring-sale"].spec.template == {"key": "newsletter/spring"}


def test_a_campaign_without_an_id_gets_one(api):
    status, body, _ = api("POST", "/v1/campaigns", {k: v for k, v in CAMPAIGN.items() if k != "id"})
    assert status == 201 and body["id"].startswith("c") and len(body["id"]) == 16


def test_a_start_soon_is_a_queue_delay(api):
    start = api.now + 600
    status, _, _ = api("POST", "/v1/campaigns", {**CAMPAIGN, "start_at": start})
    assert status == 201 and api.trigger.runs == [("spring-sale", 600)]


def test_a_bad_campaign_is_refused_naming_the_field(api):
    status, body, _ = api("POST", "/v1/campaigns", {**CAMPAIGN, "list": {"bucket": "b", "key": "k", "format": "xls"}})
    assert status == 400
    assert body["errors"] == [{"field": "list.format", "detail": "csv (with a header row) or jsonl"}]
    status, body, _ = api("POST", "/v1/campaigns", "{not json")
    assert status == 400 and body["type"].endswith("invalid-campaign")
    assert not api.trigger.runs


def test_the_same_id_twice_is_a_conflict(api):
    api("POST", "/v1/campaigns", CAMPAIGN)
    status, body, _ = api("POST", "/v1/campaigns", CAMPAIGN)
    assert status == 409 and body["type"].endswith("campaign-exists")


def test_pause_resume_cancel_and_what_a_state_does_not_allow(api):
    api("POST", "/v1/campaigns", CAMPAIGN)
    assert api("POST", "/v1/campaigns/spring-sale/pause")[1]["state"] == "paused"
    status, body, _ = api("POST", "/v1/campaigns/spring-sale/resume")
    assert (status, body["state"]) == (200, "running")
    assert api.trigger.runs[-1] == ("spring-sale", 0)  # resume asks the fan-out to go on
    assert api("POST", "/v1/campaigns/spring-sale/cancel")[1]["state"] == "cancelled"
    status, body, _ = api("POST", "/v1/campaigns/spring-sale/resume")
    assert status == 409 and body["state"] == "cancelled"
    assert api("POST", "/v1/campaigns/spring-sale/restart")[0] == 404
    types = [e["DetailType"] for call in api.events.calls for e in call]
    assert types == ["Campaign Paused", "Campaign Resumed", "Campaign Cancelled"]


def test_status_counts_recipients_by_state_and_unknown_campaigns_are_404(api):
    api("POST", "/v1/campaigns", CAMPAIGN)
    record = api.store.records["spring-sale"]
    api.store.records["spring-sale"] = record.__class__(
        record.spec,
        CampaignState.RUNNING,
        Checkpoint(offset=10, row=12, enqueued=10, invalid=1, suppressed=1, done=True),
        started_at=api.now - 10,
    )
    api.ledger.counts["spring-sale"] = {"delivered": 6, "bounced": 1, "deferred": 2}
    status, body, _ = api("GET", "/v1/campaigns/spring-sale")
    assert status == 200
    assert (body["state"], body["sent"], body["bounced"], body["deferred"], body["pending"]) == ("running", 6, 1, 2, 3)
    assert (body["invalid_rows"], body["suppressed"], body["rate_per_s"], body["eta_s"]) == (1, 1, 0.7, 4)
    assert api("GET", "/v1/campaigns/nope")[0] == 404


def test_bad_rows_are_listed(api):
    from maildispatch.core.campaign import BadRow

    api("POST", "/v1/campaigns", CAMPAIGN)
    asyncio.run(api.store.report_bad_rows("spring-sale", [BadRow(3, 120, "email", "not an address")]))
    status, body, _ = api("GET", "/v1/campaigns/spring-sale/bad-rows", query="limit=10")
    assert status == 200 and body == {
        "bad_rows": [{"row": 3, "offset": 120, "field": "email", "problem": "not an address"}]
    }
