"""Signed but malformed webhook bodies answer 400, never 500, and store nothing: every shape Meta's payload can
be bent into (wrong types at each level, non-JSON, deep nesting) is tried, signed with the real secret."""

import copy
import hashlib
import hmac
import json
from dataclasses import replace

import httpx
import pytest

from portal.app import create_app
from portal.tables import Clinic, ConversationMessage, Lead
from tests.security.routes import routes

SECRET, NUMBER_ID = "app-secret", "109876543210"
GOOD = {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
    "messaging_product": "whatsapp", "metadata": {"phone_number_id": NUMBER_ID},
    "contacts": [{"profile": {"name": "Anna"}, "wa_id": "31612345678"}],
    "messages": [{"from": "31612345678", "id": "wamid.1", "type": "text", "text": {"body": "YES"}}]}}]}]}
# Where a wrong type can sit in the payload, as paths of keys and indexes.
PLACES = [(), ("entry",), ("entry", 0), ("entry", 0, "changes"), ("entry", 0, "changes", 0),
          ("entry", 0, "changes", 0, "value"), ("entry", 0, "changes", 0, "value", "metadata"),
          ("entry", 0, "changes", 0, "value", "metadata", "phone_number_id"),
          ("entry", 0, "changes", 0, "value", "contacts"), ("entry", 0, "changes", 0, "value", "contacts", 0),
          ("entry", 0, "changes", 0, "value", "contacts", 0, "profile"),
          ("entry", 0, "changes", 0, "value", "contacts", 0, "wa_id"),
          ("entry", 0, "changes", 0, "value", "messages"), ("entry", 0, "changes", 0, "value", "messages", 0),
          ("entry", 0, "changes", 0, "value", "messages", 0, "from"),
          ("entry", 0, "changes", 0, "value", "messages", 0, "id"),
          ("entry", 0, "changes", 0, "value", "messages", 0, "text"),
          ("entry", 0, "changes", 0, "value", "messages", 0, "text", "body")]
WRONG = ["a string", 7, 1.5, True, [1, 2], {"k": "v"}, [{"x": None}], [["nested"]]]


def _bent(place: tuple, value) -> bytes:
    if not place:
        return json.dumps(value).encode()
    payload = copy.deepcopy(GOOD)
    target = payload
    for key in place[:-1]:
        target = target[key]
    target[place[-1]] = value
    return json.dumps(payload).encode()


NOT_JSON = [b"", b"{", b"\xff\xfe not utf-8", b"[" * 200_000 + b"]" * 200_000, b"null", b'"text"', b"NaN"]


@pytest.fixture(scope="module")
def wa_app(settings):
    return create_app(replace(settings, whatsapp_app_secret=SECRET), manage_pool=False)


@pytest.fixture
async def wa(wa_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wa_app, client=("10.0.0.9", 5000)),
                                 base_url="http://testserver") as c:
        yield c


def _signed(body: bytes) -> dict:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json"}


def test_every_webhook_route_is_covered_here(app):
    webhooks = {path for method, path, _ in routes(app) if method == "POST" and path.startswith("/webhooks/")}
    assert webhooks == {"/webhooks/whatsapp", "/webhooks/mollie"}, "a new webhook needs its malformed-body property"


async def test_mollie_webhook_bodies_of_any_shape_answer_without_error_and_book_nothing(client):
    """Mollie posts `id=tr_…` form-encoded; anything else is an unknown payment (200, nothing fetched or booked),
    since the payment is only ever read from Mollie itself (tests/test_billing_online.py)."""
    from portal.tables import LedgerEntry, OnlinePayment

    bodies = [(b"", "application/x-www-form-urlencoded"), (b"id=", "application/x-www-form-urlencoded"),
              (b"id=tr_" + b"9" * 200, "application/x-www-form-urlencoded"), (b"id=re_123", "text/plain"),
              (b'{"id": "tr_1"}', "application/json"), (b"\xff\xfe\x00", "application/octet-stream"),
              (b"id=tr_1&id=tr_2", "application/x-www-form-urlencoded"),
              (b"id=%00%ff", "application/x-www-form-urlencoded")]
    for body, kind in bodies:
        response = await client.post("/webhooks/mollie", content=body, headers={"Content-Type": kind})
        assert response.status_code in (200, 400), (body, response.status_code)
    assert not await LedgerEntry.exists() and not await OnlinePayment.exists()


async def test_signed_malformed_bodies_answer_400_and_store_nothing(wa, clinic):
    await Clinic.update({Clinic.whatsapp_phone_number_id: NUMBER_ID}).where(Clinic.id == clinic.clinic_id)
    bodies = NOT_JSON + [_bent(place, value) for place in PLACES for value in WRONG
                         if not (place and place[-1] in ("phone_number_id", "wa_id", "from", "id", "body")
                                 and isinstance(value, (str, int)) and not isinstance(value, bool))]
    answers = {}
    for body in bodies:
        before = await ConversationMessage.count() + await Lead.count()
        response = await wa.post("/webhooks/whatsapp", content=body, headers=_signed(body))
        answers.setdefault(response.status_code, []).append(body)
        if response.status_code == 400:
            assert await ConversationMessage.count() + await Lead.count() == before, body[:200]
    # A dict or a list of dicts where one is expected is a payload without messages (200); never a 500.
    assert set(answers) <= {200, 400}, {k: [b[:80] for b in v[:3]] for k, v in answers.items()}
    passed = (set(NOT_JSON) - {b"null"}) & set(answers.get(200, []))
    assert not passed, [b[:40] for b in passed]
    assert len(answers[400]) >= 100
    good = json.dumps({**GOOD, "entry": [{"changes": [{"value": {
        **GOOD["entry"][0]["changes"][0]["value"],
        "messages": [{"from": "31612345678", "id": "wamid.fresh", "text": {"body": "hello"}}]}}]}]}).encode()
    stored = await ConversationMessage.count()
    assert (await wa.post("/webhooks/whatsapp", content=good, headers=_signed(good))).status_code == 200
    assert await ConversationMessage.count() == stored + 1
