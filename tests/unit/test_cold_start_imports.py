"""What the dispatch function does not load at cold start: the parts only some mail or some stacks use
load when they are first needed (issue 14: the shipped cold start), and stay correct when they do."""

from tests.unit.test_architecture import modules_loaded_by

LOADED_ON_FIRST_USE = {
    "maildispatch.core.campaign": "with the first campaign record",
    "maildispatch.adapters.dynamodb_campaigns": "with the first campaign record",
    "maildispatch.services.campaign_health": "with the first campaign record",
    "maildispatch.core.dkim": "with DKIM_KEYS",
    "maildispatch.core.sns_signature": "in the returned-mail function",
    "maildispatch.core.returned_mail.model": "with the first failure the suppression policy reads",
    "maildispatch.core.message_status": "in the HTTP API function",
    "maildispatch.runtime.settings_api": "in the HTTP API function",
    "maildispatch.runtime.settings_bounce": "in the bounce and returned-mail functions",
    "maildispatch.runtime.settings_fanout": "in the fan-out function",
}


def test_the_dispatch_function_module_leaves_what_transactional_relay_mail_never_uses():
    loaded = set(modules_loaded_by("maildispatch.runtime.dispatch_function"))
    assert {m: why for m, why in LOADED_ON_FIRST_USE.items() if m in loaded} == {}


def test_the_campaign_store_is_built_when_first_used(monkeypatch):
    from maildispatch.runtime import dispatch_function

    built = []

    class Store:
        def __init__(self, client, table, executor):
            built.append(table)

        async def get(self, campaign_id):
            return None

    monkeypatch.setattr("maildispatch.adapters.dynamodb_campaigns.DynamoDbCampaignStore", Store)
    monkeypatch.setattr(dispatch_function, "aws_client", lambda service: object())
    store = dispatch_function.CampaignStoreOnFirstUse("campaigns")
    assert built == []
    first, second = store.get, store.get
    assert first.__self__ is second.__self__  # one store, built once, for every later use
    assert built == ["campaigns"]
