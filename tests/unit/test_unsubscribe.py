"""One-click unsubscribe (RFC 8058): the token, the headers campaign mail carries, the service, the routes,
and the very next campaign send to the address, which is skipped.

The routes run in a Powertools APIGatewayHttpResolver on API Gateway HTTP API (payload 2.0) events built
here, as the HTTP API hands them to the function.
"""

from __future__ import annotations

import asyncio
import base64
import email
import json
from email import policy
from urllib.parse import unquote

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from maildispatch.core.ledger import RecipientState
from maildispatch.core.unsubscribe import (
    Subscription,
    list_unsubscribe_headers,
    make_token,
    read_token,
    unsubscribe_url,
)
from maildispatch.runtime.api_unsubscribe import unsubscribe_router
from maildispatch.services.dispatch import DispatchPolicy, DispatchService, UnsubscribePolicy
from maildispatch.services.unsubscribe import UnsubscribeService
from tests.fakes.ledger import InMemoryLedger
from tests.fakes.services import (
    CollectingDeadLetters,
    CollectingPublisher,
    FakeContentStore,
    ManualClock,
    ScriptedTransport,
    sqs_record,
)
from tests.fakes.stores import InMemorySuppressionList
from tests.stack.unsubscribe_events import http_event

KEY = b"test unsubscribe key"
BASE_URL = "https://mail.example.com"
AN = Subscription("an.nguyen@example.net", "newsletter", "spring-2026")


# --- the token ---------------------------------------------------------------------------------


def test_a_token_names_the_address_the_list_and_the_campaign() -> None:
    token = make_token(KEY, AN)

    assert read_token(KEY, token) == AN
    assert token.isascii() and set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_a_utf8_address_makes_an_ascii_token() -> None:
    who = Subscription("nguyễn@ví-dụ.vn", "tin-tức", "c1")

    token = make_token(KEY, who)

    assert token.isascii() and read_token(KEY, token) == who


def flip(token: str, index: int) -> str:
    return token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]


@pytest.mark.parametrize("index", [0, 5, 20, -3, -1])
def test_an_altered_token_is_not_ours(index: int) -> None:
    token = make_token(KEY, AN)

    assert read_token(KEY, flip(token, index)) is None


def test_a_token_made_with_another_key_or_for_another_address_does_not_pass() -> None:
    mine = make_token(KEY, AN)
    other_key = make_token(b"someone else's key", AN)
    raw = base64.urlsafe_b64decode(mine + "=" * (-len(mine) % 4))
    swapped = raw.replace(b"an.nguyen", b"an.nguyex")  # another address, the same tag
    forged = base64.urlsafe_b64encode(swapped).decode().rstrip("=")

    assert read_token(KEY, other_key) is None
    assert read_token(KEY, forged) is None


@pytest.mark.parametrize("token", ["", "x", "!!!!", "é" * 10, "A" * 2000, make_token(KEY, AN)[:-4]])
def test_garbage_is_not_a_token(token: str) -> None:
    assert read_token(KEY, token) is None


def test_without_a_key_no_token_is_read() -> None:
    assert read_token(None, make_token(KEY, AN)) is None


def test_the_headers_carry_https_then_mailto_and_the_one_click_post() -> None:
    token = make_token(KEY, AN)

    headers = dict(list_unsubscribe_headers(BASE_URL, "unsubscribe@mail.example.com", token))

    assert headers["List-Unsubscribe"] == (
        f"<{BASE_URL}/u/{token}>, <mailto:unsubscribe@mail.example.com?subject=unsubscribe%20{token}>"
    )
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_without_an_https_uri_there_is_no_one_click_post() -> None:
    headers = dict(list_unsubscribe_headers(None, "unsubscribe@mail.example.com", "t"))

    assert "List-Unsubscribe-Post" not in headers and headers["List-Unsubscribe"].startswith("<mailto:")


# --- the service -------------------------------------------------------------------------------


def service(suppressions=None, publisher=None) -> UnsubscribeService:
    return UnsubscribeService(
        suppressions if suppressions is not None else InMemorySuppressionList(),
        KEY,
        publisher=publisher if publisher is not None else CollectingPublisher(),
        event_bus_name="mail-events",
        clock=lambda: 1_800_000_000.0,
    )


def test_unsubscribing_adds_an_entry_scoped_to_the_list_and_publishes_the_event_once() -> None:
    suppressions, publisher = InMemorySuppressionList(), CollectingPublisher()
    unsubscriber = service(suppressions, publisher)
    token = make_token(KEY, AN)

    first = asyncio.run(unsubscriber.unsubscribe(token, how="one-click"))
    again = asyncio.run(unsubscriber.unsubscribe(token, how="one-click"))

    assert first is not None and not first.already and again is not None and again.already
    [entry] = suppressions.entries.values()
    assert (entry.address, entry.reason, entry.scope) == ("an.nguyen@example.net", "unsubscribed", "list:newsletter")
    [[event]] = publisher.calls
    assert (event["Source"], event["DetailType"], event["EventBusName"]) == (
        "maildispatch",
        "Email Unsubscribed",
        "mail-events",
    )
    assert json.loads(event["Detail"]) == {
        "version": 1,
        "address": "an.nguyen@example.net",
        "list": "newsletter",
        "campaign": "spring-2026",
        "scope": "list:newsletter",
        "unsubscribed_at": "2027-01-15T08:00:00+00:00",
        "how": "one-click",
    }


def test_the_event_detail_follows_the_published_schema() -> None:
    from importlib import resources

    from jsonschema import Draft202012Validator

    schema = json.loads(
        resources.files("maildispatch").joinpath("schema/email-unsubscribed.v1.json").read_text("utf-8")
    )
    publisher = CollectingPublisher()
    asyncio.run(service(publisher=publisher).unsubscribe(make_token(KEY, AN), how="page"))

    Draft202012Validator.check_schema(schema)
    assert list(Draft202012Validator(schema).iter_errors(json.loads(publisher.calls[0][0]["Detail"]))) == []


def test_a_forged_token_changes_nothing() -> None:
    suppressions, publisher = InMemorySuppressionList(), CollectingPublisher()

    assert asyncio.run(service(suppressions, publisher).unsubscribe(flip(make_token(KEY, AN), 9), how="page")) is None
    assert suppressions.entries == {} and publisher.calls == []


def test_the_unsubscribe_holds_when_the_event_cannot_be_published() -> None:
    suppressions = InMemorySuppressionList()

    done = asyncio.run(
        service(suppressions, CollectingPublisher(fail=True)).unsubscribe(make_token(KEY, AN), how="page")
    )

    assert done is not None and len(suppressions.entries) == 1


# --- the routes --------------------------------------------------------------------------------


class Api:
    def __init__(self) -> None:
        self.suppressions, self.publisher = InMemorySuppressionList(), CollectingPublisher()
        self.app = APIGatewayHttpResolver()
        self.app.include_router(unsubscribe_router(service(self.suppressions, self.publisher)))

    def call(self, method: str, token: str, body: str | None = None, **options) -> dict:
        return self.app.resolve(http_event(method, f"/u/{token}", body, **options), {})


def test_get_shows_a_page_with_a_button_that_posts_and_changes_nothing() -> None:
    api = Api()

    answer = api.call("GET", make_token(KEY, AN))

    assert answer["statusCode"] == 200 and answer["headers"]["Content-Type"].startswith("text/html")
    page = answer["body"]
    assert "an.nguyen@example.net" in page and "newsletter" in page
    assert '<form method="post" action="">' in page and "<button" in page
    assert api.suppressions.entries == {} and api.publisher.calls == []


def test_a_one_click_post_unsubscribes_with_no_session_and_no_redirect() -> None:
    api = Api()

    answer = api.call("POST", make_token(KEY, AN), "List-Unsubscribe=One-Click")

    assert answer["statusCode"] == 200 and "Location" not in answer["headers"]
    assert [e.scope for e in api.suppressions.entries.values()] == ["list:newsletter"]
    assert json.loads(api.publisher.calls[0][0]["Detail"])["how"] == "one-click"


def test_the_pages_button_unsubscribes_too_and_says_so() -> None:
    api = Api()

    answer = api.call("POST", make_token(KEY, AN), "List-Unsubscribe=One-Click&source=page", base64_body=True)

    assert answer["statusCode"] == 200 and "newsletter" in answer["body"]
    assert json.loads(api.publisher.calls[0][0]["Detail"])["how"] == "page"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forged_or_altered_token_gets_a_400_page_and_changes_nothing(method: str) -> None:
    api = Api()

    for token in (flip(make_token(KEY, AN), 12), make_token(b"other key", AN), "A" * 2000):
        answer = api.call(method, token, "List-Unsubscribe=One-Click" if method == "POST" else None)
        assert answer["statusCode"] == 400 and "not valid" in answer["body"]
    assert api.suppressions.entries == {} and api.publisher.calls == []


# --- campaign mail carries it, and the next send honours it -------------------------------------


class Dispatch:
    def __init__(self, suppressions: InMemorySuppressionList) -> None:
        self.clock = ManualClock()
        self.transport = ScriptedTransport()
        self.ledger = InMemoryLedger(clock=self.clock)
        self.dead_letters = CollectingDeadLetters()
        unsubscribe = UnsubscribePolicy(KEY, BASE_URL, "unsubscribe@mail.example.com")
        self.policy = DispatchPolicy(reporting_mta="dispatch.test", unsubscribe=unsubscribe)
        self.suppressions = suppressions

    def send(self, body: dict, message_id: str) -> None:
        service = DispatchService(
            self.transport,
            self.ledger,
            FakeContentStore(),
            self.dead_letters,
            self.policy,
            suppressions=self.suppressions,
            clock=self.clock,
        )
        asyncio.run(service.process(sqs_record(body, message_id=message_id)))


def campaign_request(key: str, list_id: str = "newsletter", **extra) -> dict:
    return {
        "message_key": key,
        "from": "News <news@example.com>",
        "to": ["An.Nguyen@example.net"],
        "template": {
            "subject": "Spring",
            "text": "Hi. Leave: {{ unsubscribe_url }}",
            "html": "<a href='{{ unsubscribe_url }}'>x</a>",
        },
        "headers": {"List-Unsubscribe": "<https://producer.example/u/1>"},
        "campaign": {"id": "spring-2026", "list": list_id},
        **extra,
    }


def test_campaign_mail_carries_one_click_headers_and_the_visible_link() -> None:
    dispatch = Dispatch(InMemorySuppressionList())

    dispatch.send(campaign_request("spring-2026-an"), "m-1")

    [(_, data)] = dispatch.transport.deliveries
    message = email.message_from_bytes(data, policy=policy.default)
    [header] = message.get_all("List-Unsubscribe")  # the producer's own was replaced
    https = header.split(",")[0].strip().strip("<>")
    token = https.rsplit("/", 1)[1]
    assert https == unsubscribe_url(BASE_URL, token)
    assert read_token(KEY, token) == Subscription("an.nguyen@example.net", "newsletter", "spring-2026")
    assert (
        unquote(header.split(",")[1].strip().strip("<>"))
        == f"mailto:unsubscribe@mail.example.com?subject=unsubscribe {token}"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert https in message.get_body(("plain",)).get_content()
    assert https in message.get_body(("html",)).get_content()


def test_an_unsubscribe_stops_the_lists_next_send_but_not_other_lists_or_other_mail() -> None:
    suppressions = InMemorySuppressionList()
    dispatch = Dispatch(suppressions)
    dispatch.send(campaign_request("spring-2026-an"), "m-1")
    [(_, data)] = dispatch.transport.deliveries
    token = email.message_from_bytes(data, policy=policy.default)["List-Unsubscribe"].split("/u/")[1].split(">")[0]

    assert asyncio.run(service(suppressions).unsubscribe(token, how="one-click")) is not None
    dispatch.send(campaign_request("summer-2026-an"), "m-2")  # the same list: skipped
    dispatch.send(campaign_request("summer-2026-an-offers", list_id="offers"), "m-3")  # another list: sent
    dispatch.send(campaign_request("summer-2026-an-forced", ignore_suppression=True), "m-4")  # holds even so
    transactional = {
        "message_key": "order-1",
        "from": "shop@example.com",
        "to": ["an.nguyen@example.net"],
        "subject": "Order",
        "text": "Shipped",
    }
    dispatch.send(transactional, "m-5")  # not campaign mail: sent

    assert dispatch.ledger.state_of("summer-2026-an", "an.nguyen@example.net") is RecipientState.SUPPRESSED
    assert dispatch.ledger.state_of("summer-2026-an-forced", "an.nguyen@example.net") is RecipientState.SUPPRESSED
    assert dispatch.ledger.state_of("summer-2026-an-offers", "an.nguyen@example.net") is RecipientState.DELIVERED
    assert dispatch.ledger.state_of("order-1", "an.nguyen@example.net") is RecipientState.DELIVERED
    assert len(dispatch.transport.deliveries) == 3


def test_campaign_mail_without_an_unsubscribe_configuration_is_sent_and_counted() -> None:
    dispatch = Dispatch(InMemorySuppressionList())
    dispatch.policy = DispatchPolicy(reporting_mta="dispatch.test")
    request = campaign_request("spring-2026-an")
    request["template"] = {"subject": "Spring", "text": "Hi"}

    dispatch.send(request, "m-1")

    [(_, data)] = dispatch.transport.deliveries
    assert email.message_from_bytes(data, policy=policy.default)["List-Unsubscribe-Post"] is None


def test_an_unsubscribe_counts_toward_its_campaigns_status_once() -> None:
    from tests.fakes.campaigns import InMemoryCampaignStore

    campaigns = InMemoryCampaignStore()
    counted: list[tuple[str, int]] = []

    async def count_outcomes(campaign_id: str, **counts: int) -> None:
        counted.append((campaign_id, counts.get("unsubscribed", 0)))

    campaigns.count_outcomes = count_outcomes  # type: ignore[method-assign]
    unsubscriber = UnsubscribeService(
        InMemorySuppressionList(), KEY, campaigns=campaigns, clock=lambda: 1_800_000_000.0
    )
    token = make_token(KEY, AN)
    asyncio.run(unsubscriber.unsubscribe(token, how="one-click"))
    asyncio.run(unsubscriber.unsubscribe(token, how="one-click"))  # again: already unsubscribed, not counted
    assert counted == [(AN.campaign_id, 1)]
