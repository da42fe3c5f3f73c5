"""Send requests and DSN reading shared by the pipeline tests (tests/integration/test_pipeline*.py)."""

from __future__ import annotations

import json

SHOP = "shop@example.com"


def send_request(**overrides) -> str:
    doc = {"from": f"Shop <{SHOP}>", "to": ["binh@example.net"], "subject": "Hello", "text": "Hello there."}
    doc.update(overrides)
    return json.dumps(doc, ensure_ascii=False)


def delivery_status_groups(dsn) -> list[dict[str, str]]:
    """The per-recipient field groups of a DSN's message/delivery-status part."""
    [part] = [p for p in dsn.walk() if p.get_content_type() == "message/delivery-status"]
    groups = [dict(g.items()) for g in part.get_payload()]
    return groups[1:]  # the first group is per-message
