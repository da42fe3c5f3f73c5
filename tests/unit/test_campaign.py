"""The campaign model: the spec, the state machine, rows and their offsets, keys, requests, health, status."""

from __future__ import annotations

import json

import pytest

from maildispatch.core.campaign import (
    BadRow,
    CampaignState,
    CampaignStatus,
    Checkpoint,
    HealthLimits,
    InvalidCampaign,
    Recipient,
    RowSplitter,
    TransitionRefused,
    fields_of_row,
    health_breach,
    next_state,
    parse_campaign,
    parse_header,
    recipient_from_fields,
    send_request_for,
)
from maildispatch.core.campaign_keys import campaign_of_key, recipient_key
from maildispatch.core.request import parse_send_request

SPEC = {
    "id": "spring-sale",
    "list": {"bucket": "lists-bucket", "key": "lists/spring.csv"},
    "from": "Shop <news@shop.example.com>",
    "template": {"subject": "Hello {{ name }}", "text": "Hi {{ name }}, your code is {{ code }}."},
    "stream": "campaign",
    "required_variables": ["code"],
}


def test_a_campaign_document_becomes_a_spec():
    spec = parse_campaign(SPEC)
    assert spec.campaign_id == "spring-sale"
    assert spec.recipients.format == "csv"
    assert spec.required_variables == ("code",)
    assert spec.health == HealthLimits(0.05, 0.001)
    assert parse_campaign(spec.to_document()) == spec  # stored and read back unchanged


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "Spring Sale"}, "id"),
        ({"from": None}, "from"),
        ({"template": {"text": "no subject anywhere"}}, "subject"),
        ({"start_at": "2026-12-05T10:00:00Z", "send_by": "2026-12-05T09:00:00Z"}, "send_by"),
        ({"start_at": "tomorrow"}, "start_at"),
        ({"rate": 0}, "rate"),
        ({"list": {"bucket": "b", "key": "k", "format": "xlsx"}}, "list.format"),
        ({"health": {"bounce_rate": 5}}, "health.bounce_rate"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_campaign_the_dispatch_function_would_refuse_is_refused_naming_the_field(change, field):
    with pytest.raises(InvalidCampaign) as refused:
        parse_campaign({**SPEC, **change})
    assert refused.value.field == field


def test_the_state_machine_allows_what_makes_sense_and_nothing_else():
    assert next_state("c", CampaignState.SCHEDULED, "start") is CampaignState.RUNNING
    assert next_state("c", CampaignState.RUNNING, "pause") is CampaignState.PAUSED
    assert next_state("c", CampaignState.PAUSED, "resume") is CampaignState.RUNNING
    assert next_state("c", CampaignState.PAUSED, "cancel") is CampaignState.CANCELLED
    for final in (CampaignState.CANCELLED, CampaignState.FINISHED, CampaignState.EXPIRED):
        for action in ("start", "pause", "resume", "cancel", "finish"):
            with pytest.raises(TransitionRefused):
                next_state("c", final, action)
    with pytest.raises(TransitionRefused):
        next_state("c", CampaignState.PAUSED, "finish")  # a paused campaign is never "finished"


CSV = (
    b"\xef\xbb\xbfemail,name,code\r\n"
    b"an@example.net,An,A1\r\n"
    b'"binh@example.net","Binh, the ""second""",B2\r\n'
    b'chi@example.net,"Chi\nover two lines",C3\r\n'
    b"\r\n"
    b"dung@example.net,Dung,D4"
)


def _split(data: bytes, offset: int, chunk: int, quoted: bool = True):
    splitter = RowSplitter(offset, quoted=quoted)
    rows = []
    for start in range(offset, len(data), chunk):
        rows += list(splitter.feed(data[start : start + chunk]))
    return rows + list(splitter.finish())


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 10_000])
def test_rows_split_the_same_whatever_the_read_size_and_a_quoted_newline_stays_in_its_row(chunk):
    rows = _split(CSV, 0, chunk)
    assert [r.data for r in rows] == [r.data for r in _split(CSV, 0, 10_000)]
    assert len(rows) == 6  # header, 3 rows (one over two lines), a blank row, the last without a newline
    assert rows[3].data == b'chi@example.net,"Chi\nover two lines",C3'
    assert rows[-1].end == len(CSV)


def test_reading_from_any_rows_offset_gives_the_same_rows_after_it():
    rows = _split(CSV, 0, 5)
    for n, row in enumerate(rows):
        assert [r.data for r in _split(CSV, row.start, 4)] == [r.data for r in rows[n:]]
        assert [(r.start, r.end) for r in _split(CSV, row.start, 4)] == [(r.start, r.end) for r in rows[n:]]


def test_csv_rows_become_recipients_with_their_variables():
    rows = _split(CSV, 0, 100)
    header = parse_header(rows[0].data)
    assert header == ("email", "name", "code")
    fields = fields_of_row(rows[2], header, "csv", 2)
    recipient = recipient_from_fields(fields, row=2, offset=rows[2].start, required=("code",))
    assert recipient == Recipient("binh@example.net", 'Binh, the "second"', recipient.variables, 2)
    assert dict(recipient.variables) == {"code": "B2", "name": 'Binh, the "second"', "email": "binh@example.net"}
    assert fields_of_row(rows[4], header, "csv", 4) is None  # a blank row is no row


def test_a_header_without_an_email_column_is_refused():
    with pytest.raises(InvalidCampaign):
        parse_header(b"mail,name\r\n")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not an address", "code": "x"}, "email"),
        ({"email": "", "code": "x"}, "email"),
        ({"email": "An <an@example.net>", "code": "x"}, "email"),
        ({"email": "an@example.net", "code": " "}, "code"),
        ({"email": "an@example.net"}, "code"),
    ],
)
def test_a_row_that_cannot_be_used_is_a_bad_row_naming_the_field(fields, field):
    found = recipient_from_fields(fields, row=7, offset=120, required=("code",))
    assert isinstance(found, BadRow)
    assert (found.row, found.offset, found.field) == (7, 120, field)


def test_a_csv_row_with_the_wrong_number_of_fields_and_a_jsonl_row_that_is_no_object_are_bad_rows():
    rows = _split(b"email,code\nan@example.net,1,extra\n", 0, 100)
    assert isinstance(fields_of_row(rows[1], ("email", "code"), "csv", 1), BadRow)
    jsonl = _split(b'["an@example.net"]\n{"email": "an@example.net", "code": 1}\n{broken\n', 0, 100, quoted=False)
    assert isinstance(fields_of_row(jsonl[0], None, "jsonl", 1), BadRow)
    assert fields_of_row(jsonl[1], None, "jsonl", 2) == {"email": "an@example.net", "code": 1}
    assert isinstance(fields_of_row(jsonl[2], None, "jsonl", 3), BadRow)


def test_the_message_key_is_the_campaign_and_the_address_whatever_its_case():
    key = recipient_key("spring-sale", "An.Nguyen@Example.NET")
    assert key == recipient_key("spring-sale", " an.nguyen@example.net ")
    assert key != recipient_key("spring-sale", "binh@example.net")
    assert key != recipient_key("autumn", "an.nguyen@example.net")
    assert campaign_of_key(key) == "spring-sale"
    assert campaign_of_key("order-1001-shipped") is None
    assert campaign_of_key("cmp.x.short") is None


def test_each_recipient_gets_a_valid_send_request_with_its_variables():
    spec = parse_campaign(SPEC)
    recipient = recipient_from_fields({"email": "an@example.net", "name": "An", "code": "A1"}, row=1, offset=0)
    assert isinstance(recipient, Recipient)
    request = parse_send_request(json.dumps(send_request_for(spec, recipient)))
    assert request.message_key == recipient_key("spring-sale", "an@example.net")
    assert [a.address for a in request.to] == ["an@example.net"]
    assert request.to[0].name == "An"
    assert dict(request.variables) == {"code": "A1", "name": "An", "email": "an@example.net"}
    assert request.tags["campaign"] == "spring-sale"
    assert request.stream == "campaign"
    assert (request.campaign.id, request.campaign.list_id) == ("spring-sale", "spring-sale")  # unsubscribes: its list
    with_list = parse_campaign({**SPEC, "list_id": "newsletter"})
    assert parse_send_request(send_request_for(with_list, recipient)).campaign.list_id == "newsletter"


def test_health_pauses_over_a_rate_only_after_enough_recipients():
    limits = HealthLimits(bounce_rate=0.05, complaint_rate=0.001, min_sample=100)
    assert health_breach(limits, attempted=10, bounced=10, complained=0) is None  # too few to judge
    assert health_breach(limits, attempted=100, bounced=5, complained=0) is None  # at the limit, not over
    assert "bounce rate 6.0%" in health_breach(limits, attempted=100, bounced=6, complained=0)
    assert "complaint rate" in health_breach(limits, attempted=2000, bounced=0, complained=3)


def test_status_is_finished_only_when_the_list_is_read_and_nothing_is_pending():
    cp = Checkpoint(offset=500, row=10, enqueued=8, invalid=1, suppressed=1, done=True)
    ledger = {"delivered": 5, "bounced": 1, "deferred": 1, "uncertain_retry": 1}
    status = CampaignStatus("c", CampaignState.RUNNING, cp, ledger, started_at=100.0, now=106.0)
    assert status.pending == 2 and not status.complete
    assert status.rate == 1.0 and status.eta_seconds == 2.0
    done = CampaignStatus("c", CampaignState.RUNNING, cp, {"delivered": 7, "uncertain": 1})
    assert done.complete
    not_read = CampaignStatus("c", CampaignState.RUNNING, Checkpoint(enqueued=8), {"delivered": 8})
    assert not not_read.complete
    doc = status.to_document()
    assert (doc["pending"], doc["sent"], doc["suppressed"], doc["invalid_rows"]) == (2, 5, 1, 1)
