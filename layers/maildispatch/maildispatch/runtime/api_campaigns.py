"""The campaign routes of the HTTP API, as a Powertools Router (included under /v1 by the API function):

    POST /v1/campaigns                      a campaign document -> 201 {id, state, status_url}
    GET  /v1/campaigns/{id}                 its status: recipients by state, rate, ETA
    GET  /v1/campaigns/{id}/bad-rows        the rows that could not be used, and why (?limit=)
    POST /v1/campaigns/{id}/pause|resume|cancel

Refusals are RFC 9457 problem details naming the field (`list.format`, `send_by`). A router is made
per function object (`campaigns_router(control)`); `campaign_control(settings)` wires the service to
DynamoDB, the fan-out queue, EventBridge Scheduler and EventBridge.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from maildispatch.adapters.aws import EventBridgePublisher, aws_client, io_executor
from maildispatch.adapters.campaign_aws import SchedulerCampaignSchedules, SqsFanoutTrigger
from maildispatch.adapters.dynamodb_campaigns import DynamoDbCampaignStore, DynamoDbLedgerCounts
from maildispatch.core.campaign import CampaignRecord, InvalidCampaign, TransitionRefused
from maildispatch.runtime.api_problems import field_error, problem
from maildispatch.runtime.settings_api import CampaignApiSettings
from maildispatch.services.campaigns import CampaignControl, CampaignExists, NoSuchCampaign

JSON = "application/json"
MAX_CAMPAIGN_BYTES = 256 * 1024
_T = TypeVar("_T")


def campaign_control(settings: CampaignApiSettings) -> CampaignControl:
    ddb = aws_client("dynamodb")
    schedules = None
    if settings.fanout_queue_arn and settings.schedule_group and settings.scheduler_role_arn:
        schedules = SchedulerCampaignSchedules(
            settings.schedule_group, settings.fanout_queue_arn, settings.scheduler_role_arn
        )
    return CampaignControl(
        DynamoDbCampaignStore(ddb, settings.campaign_table, io_executor()),
        SqsFanoutTrigger(settings.fanout_queue_url),
        DynamoDbLedgerCounts(ddb, settings.ledger_table, io_executor()),
        schedules=schedules,
        events=EventBridgePublisher(),
        event_bus_name=settings.event_bus_name,
    )


def status_path(campaign_id: str) -> str:
    return "/v1/campaigns/" + quote(campaign_id, safe="")


def campaigns_router(
    control: CampaignControl, *, run: Callable[[Coroutine[Any, Any, Any]], Any] = asyncio.run
) -> Router:
    router = Router()  # type: ignore[no-untyped-call]

    def call(step: Callable[[], Coroutine[Any, Any, _T]]) -> _T | Response[str]:
        try:
            return run(step())  # type: ignore[no-any-return]
        except InvalidCampaign as error:
            return problem(400, "invalid-campaign", str(error), errors=[field_error(error.field, error.message)])
        except NoSuchCampaign as error:
            return problem(404, "unknown-campaign", str(error))
        except CampaignExists as error:
            return problem(409, "campaign-exists", str(error))
        except TransitionRefused as error:
            return problem(409, "campaign-state", str(error), state=error.state.value)

    @router.post("/campaigns")
    def post_campaign() -> Response[str]:
        body = _body(router.current_event.raw_event)
        try:
            doc = json.loads(body) if body.strip() else None
        except ValueError as error:
            return problem(
                400, "invalid-campaign", f"$: not valid JSON: {error}", errors=[field_error("$", str(error))]
            )
        if len(body.encode("utf-8")) > MAX_CAMPAIGN_BYTES:
            return problem(413, "body-too-large", f"a campaign document is at most {MAX_CAMPAIGN_BYTES} bytes")
        if not isinstance(doc, dict):
            return problem(400, "invalid-campaign", "$: a JSON object", errors=[field_error("$", "a JSON object")])
        answer = call(lambda: control.create(doc))
        if isinstance(answer, Response):
            return answer
        return _created(answer)

    @router.get("/campaigns/<campaign_id>")
    def get_campaign(campaign_id: str) -> Response[str]:
        answer = call(lambda: control.status(unquote(campaign_id)))
        if isinstance(answer, Response):
            return answer
        return Response(200, JSON, json.dumps(answer.to_document(), ensure_ascii=False))

    @router.get("/campaigns/<campaign_id>/bad-rows")
    def get_bad_rows(campaign_id: str) -> Response[str]:
        limit = _limit(router.current_event.query_string_parameters or {})

        async def rows() -> list[dict[str, Any]]:
            await control.get(unquote(campaign_id))
            return [r.to_document() for r in await control.bad_rows(unquote(campaign_id), limit=limit)]

        answer = call(rows)
        if isinstance(answer, Response):
            return answer
        return Response(200, JSON, json.dumps({"bad_rows": answer}, ensure_ascii=False))

    @router.post("/campaigns/<campaign_id>/<action>")
    def act(campaign_id: str, action: str) -> Response[str]:
        actions = {"pause": control.pause, "resume": control.resume, "cancel": control.cancel}
        if action not in actions:
            return problem(404, "not-found", f"no action {action!r}; there are pause, resume and cancel")
        answer = call(lambda: actions[action](unquote(campaign_id)))
        if isinstance(answer, Response):
            return answer
        return Response(200, JSON, json.dumps(_summary(answer), ensure_ascii=False))

    return router


def _created(record: CampaignRecord) -> Response[str]:
    doc = {**_summary(record), "status_url": status_path(record.campaign_id)}
    return Response(201, JSON, json.dumps(doc, ensure_ascii=False), {"Location": doc["status_url"]})


def _summary(record: CampaignRecord) -> dict[str, Any]:
    return {"id": record.campaign_id, "state": record.state.value, "reason": record.reason}


def _limit(query: dict[str, str]) -> int:
    try:
        return max(1, min(1000, int(query.get("limit", "100"))))
    except ValueError:
        return 100


def _body(event: dict[str, Any]) -> str:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body).decode("utf-8", errors="replace")
    return str(body)
