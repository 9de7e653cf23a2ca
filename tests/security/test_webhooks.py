"""Signed but malformed webhook bodies answer 400, never 500, and store nothing: every shape Meta's payload can
be bent into (wrong types at each level, non-JSON, deep nesting) is tried, signed with the real secret."""

import base64
import copy
import hashlib
import hmac
import json
from dataclasses import replace

import httpx
import pytest

from portal.app import create_app
from portal.tables import CallRecording, Clinic, ConversationMessage, Lead, PhoneCall
from tests.security.routes import WEBHOOKS, routes

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
    assert webhooks == WEBHOOKS, "a new webhook needs its malformed-body test here (and a place in WEBHOOKS)"


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


SMS_TOKEN, SMS_NUMBER = "sms-secret-token", "+3197010000001"
SMS_GOOD = {"MessageSid": "SM" + "a" * 32, "From": "+31612345678", "To": SMS_NUMBER, "Body": "YES"}
SMS_BENT = [("From", ""), ("From", "0612345678"), ("From", "+0"), ("From", "+31 6 1234"), ("From", "x" * 5000),
            ("To", ""), ("To", "31970"), ("MessageSid", ""), ("MessageSid", "SM123"), ("MessageSid", "XX" + "a" * 32),
            ("MessageSid", "SM" + "g" * 32), ("Body", "x" * 1601)]


@pytest.fixture(scope="module")
def sms_app(settings):
    return create_app(replace(settings, sms_auth_token=SMS_TOKEN), manage_pool=False)


async def test_signed_malformed_sms_forms_answer_400_and_store_nothing(sms_app, clinic):
    await Clinic.update({Clinic.sms_number: SMS_NUMBER}).where(Clinic.id == clinic.clinic_id)
    forms = [{**SMS_GOOD, name: value} for name, value in SMS_BENT]
    forms += [{k: v for k, v in SMS_GOOD.items() if k != missing} for missing in ("From", "To", "MessageSid")]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sms_app), base_url="http://testserver") as sms:
        for form in forms:
            payload = "http://testserver/webhooks/sms" + "".join(k + form[k] for k in sorted(form))
            signature = base64.b64encode(hmac.new(SMS_TOKEN.encode(), payload.encode(), hashlib.sha1).digest())
            response = await sms.post("/webhooks/sms", data=form, headers={"X-Twilio-Signature": signature.decode()})
            assert response.status_code == 400, form
        assert await ConversationMessage.count() + await Lead.count() == 0


MAIL_KEY, MAIL_DOMAIN = "mail-signing-key", "reply.testserver.example"
MAIL_GOOD = {"recipient": f"clinic-1@{MAIL_DOMAIN}", "sender": "anna@example.org", "from": "Anna <anna@example.org>",
             "subject": "Hello", "body-plain": "Hi", "Message-Id": "<1@example.org>"}
MAIL_BENT = [("recipient", ""), ("recipient", "no-at-sign"), ("from", "nobody"), ("Message-Id", ""),
             ("Message-Id", "x" * 201), ("subject", "s" * 301), ("recipient", "a@" + "b" * 260)]


@pytest.fixture(scope="module")
def mail_app(settings):
    return create_app(replace(settings, inbound_mail_domain=MAIL_DOMAIN, mail_webhook_signing_key=MAIL_KEY),
                      manage_pool=False)


async def test_signed_malformed_mail_forms_answer_400_and_store_nothing(mail_app, clinic):
    import time

    forms = [{**MAIL_GOOD, name: value} for name, value in MAIL_BENT]
    forms.append({**MAIL_GOOD, "from": "", "sender": ""})
    forms.append({**MAIL_GOOD, "from": "Anna", "sender": "anna-at-example.org"})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mail_app), base_url="http://testserver") as mail:
        for form in forms:
            timestamp, token = str(int(time.time())), "t" * 50
            signature = hmac.new(MAIL_KEY.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
            response = await mail.post("/webhooks/mail", data={**form, "timestamp": timestamp, "token": token,
                                                               "signature": signature})
            assert response.status_code == 400, form
        assert await ConversationMessage.count() + await Lead.count() == 0


VOICE_BENT = {
    "/webhooks/voice": [{"CallSid": "CA123", "To": "+3197010000002"}, {"CallSid": "CA" + "1" * 32, "To": "0201234"},
                        {"From": "+31611122233", "To": "+3197010000002"}],
    "/webhooks/voice/status": [{"CallSid": "CA" + "1" * 32, "CallStatus": "exploded"}, {"CallStatus": "completed"},
                               {"CallSid": "XX" + "1" * 32, "CallStatus": "completed"}],
    "/webhooks/voice/recording": [{"CallSid": "CA" + "1" * 32, "RecordingSid": "RE1"},
                                  {"CallSid": "CA" + "1" * 32, "RecordingSid": "RE" + "2" * 32,
                                   "RecordingUrl": "http://127.0.0.1:22/"}, {"RecordingSid": "RE" + "2" * 32}],
}


@pytest.fixture(scope="module")
def voice_app(settings):
    return create_app(replace(settings, sms_auth_token=SMS_TOKEN, sms_account_sid="AC" + "0" * 32), manage_pool=False)


async def test_signed_malformed_voice_callbacks_answer_400_and_store_nothing(voice_app, clinic):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=voice_app), base_url="http://testserver") as tw:
        for path, forms in VOICE_BENT.items():
            for form in forms:
                payload = "http://testserver" + path + "".join(k + form[k] for k in sorted(form))
                signature = base64.b64encode(hmac.new(SMS_TOKEN.encode(), payload.encode(), hashlib.sha1).digest())
                response = await tw.post(path, data=form, headers={"X-Twilio-Signature": signature.decode()})
                assert response.status_code == 400, (path, form)
    assert await PhoneCall.count() + await CallRecording.count() == 0


META_SECRET = "meta-app-secret"
META_GOOD = {"object": "page", "entry": [{"id": "100200300400500", "time": 1, "changes": [{
    "field": "leadgen", "value": {"leadgen_id": "9001", "page_id": "100200300400500", "form_id": "555"}}]}]}
META_PLACES = [(), ("entry",), ("entry", 0), ("entry", 0, "changes"), ("entry", 0, "changes", 0),
               ("entry", 0, "changes", 0, "field"), ("entry", 0, "changes", 0, "value"),
               ("entry", 0, "changes", 0, "value", "leadgen_id"), ("entry", 0, "changes", 0, "value", "page_id")]


@pytest.fixture(scope="module")
def meta_app(settings):
    return create_app(replace(settings, meta_app_id="1234567890", meta_app_secret=META_SECRET), manage_pool=False)


async def test_signed_malformed_meta_bodies_answer_400_and_store_nothing(meta_app, clinic):
    from portal.tables import MetaDisconnection

    def bent(place, value):
        payload = copy.deepcopy(META_GOOD)
        if not place:
            return json.dumps(value).encode()
        target = payload
        for key in place[:-1]:
            target = target[key]
        target[place[-1]] = value
        return json.dumps(payload).encode()

    bodies = [b for b in NOT_JSON if b != b"null"] + [bent(p, v) for p in META_PLACES for v in WRONG
                                                      if not (p and p[-1] == "field" and isinstance(v, str))]
    bodies += [bent(("entry", 0, "changes", 0, "value", "leadgen_id"), "../../me"),
               bent(("entry", 0, "changes", 0, "value", "page_id"), "x" * 100)]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=meta_app), base_url="http://testserver") as meta:
        answers = {}
        for body in bodies:
            headers = {"X-Hub-Signature-256": "sha256=" + hmac.new(META_SECRET.encode(), body, hashlib.sha256
                                                                   ).hexdigest(), "Content-Type": "application/json"}
            response = await meta.post("/webhooks/meta", content=body, headers=headers)
            answers.setdefault(response.status_code, []).append(body)
        assert set(answers) <= {200, 400}, {k: [b[:80] for b in v[:3]] for k, v in answers.items()}
        assert len(answers[400]) >= 50 and not set(NOT_JSON) & set(answers.get(200, []))
        assert "/webhooks/meta/deletion" in WEBHOOKS
        for signed in ["", "no-dot", "a.b.c", "!!!.???", base64.urlsafe_b64encode(b"x").decode() + ".e30"]:
            response = await meta.post("/webhooks/meta/deletion", data={"signed_request": signed})
            assert response.status_code in (400, 403), signed
        response = await meta.post("/webhooks/meta/deletion", content=b"\xff" * 10,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code in (400, 403)
    assert await Lead.count() == 0 and await MetaDisconnection.count() == 0
