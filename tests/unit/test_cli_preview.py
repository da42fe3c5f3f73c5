"""`maildispatch preview`: the message dispatch would build, written locally; a bad request's fields named."""

from __future__ import annotations

import email
import json
from email import policy

from maildispatch_cli.app import main


def write(tmp_path, doc, name="request.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def test_preview_writes_the_message_dispatch_would_send(tmp_path):
    req = write(
        tmp_path,
        {
            "message_key": "order-1",
            "from": "Shop <shop@example.com>",
            "to": ["binh@example.net"],
            "template": {"subject": "Order {{ n }}", "text": "Hello {{ name }}"},
            "variables": {"n": 7, "name": "Bình"},
        },
    )
    out = tmp_path / "message.eml"
    assert main(["preview", req, "--out", str(out)]) == 0
    message = email.message_from_bytes(out.read_bytes(), policy=policy.default)
    assert message["Subject"] == "Order 7"
    assert message["To"] == "binh@example.net"
    assert message["Message-ID"].endswith("@example.com>")
    assert message.get_content().strip() == "Hello Bình"


def test_preview_of_campaign_mail_shows_its_unsubscribe_headers_and_link(tmp_path):
    req = write(
        tmp_path,
        {
            "message_key": "spring-1",
            "from": "News <news@example.com>",
            "to": ["binh@example.net"],
            "template": {"subject": "Spring", "text": "Leave: {{ unsubscribe_url }}"},
            "campaign": {"id": "spring", "list": "news"},
        },
    )
    out = tmp_path / "message.eml"
    assert main(["preview", req, "--out", str(out), "--unsubscribe-url", "https://mail.example.com"]) == 0
    message = email.message_from_bytes(out.read_bytes(), policy=policy.default)
    link = message["List-Unsubscribe"].strip("<>")
    assert link.startswith("https://mail.example.com/u/") and link in message.get_content()
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_preview_reads_a_stored_template_from_a_local_directory(tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "welcome.json").write_text(
        json.dumps({"subject": "Welcome {{ name }}", "html": "<p>Hi {{ name }}</p>"})
    )
    req = write(
        tmp_path,
        {
            "from": "shop@example.com",
            "to": ["binh@example.net"],
            "template": {"key": "welcome"},
            "variables": {"name": "An"},
        },
    )
    out = tmp_path / "m.eml"
    assert main(["preview", req, "--template-dir", str(templates), "--out", str(out)]) == 0
    message = email.message_from_bytes(out.read_bytes(), policy=policy.default)
    assert message["Subject"] == "Welcome An"
    assert "<p>Hi An</p>" in message.get_body(("html",)).get_content()


def test_a_bad_request_is_one_line_naming_the_field(tmp_path, capsys):
    req = write(tmp_path, {"from": "shop@example.com", "to": ["binh@example.net", "nope"], "text": "x", "subject": "s"})
    assert main(["preview", req]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("maildispatch: error: invalid request: to[1]: ")


def test_a_stored_template_without_a_place_to_read_it_from_is_a_usage_error(tmp_path, capsys):
    req = write(tmp_path, {"from": "shop@example.com", "to": ["binh@example.net"], "template": {"key": "welcome"}})
    assert main(["preview", req]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "--template-dir" in line
