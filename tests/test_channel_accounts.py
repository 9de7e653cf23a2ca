"""SMS and WhatsApp accounts per clinic: saved encrypted on the owner's page (shown only as configured or off), used
to send that clinic's texts against the stand-in, and to check inbound signatures with that clinic's own token or
app secret (the shared account from the environment stands in only for clinics without their own)."""

import base64
import hashlib
import hmac
import json
from dataclasses import replace

import httpx
import pytest

from portal.app import create_app
from portal.messaging import channel_accounts, channels, outbox
from portal.permissions import Role
from portal.tables import AuditEntry, Clinic, ClinicCredential, ConversationMessage, OutboxMessage
from tests import factories
from tests.factories import csrf_token, sign_in_as
from tests.provider_stub import (
    CLINIC_SMS_NUMBER,
    OWN_NUMBER,
    OWN_SID,
    OWN_TOKEN,
    OWN_WA_NUMBER_ID,
    OWN_WA_TOKEN,
    SID,
    SMS_FROM,
    TOKEN,
    WA_NUMBER_ID,
    WA_TOKEN,
    WA_VERSION,
)

SHARED_SECRET, OWN_SECRET = "shared-app-secret", "own-app-secret-123"


@pytest.fixture
def shared(settings, provider):
    """The environment's shared accounts, against the stand-in."""
    return replace(settings, sms_api_url=provider.url, sms_account_sid=SID, sms_auth_token=TOKEN, sms_from=SMS_FROM,
                   whatsapp_api_url=provider.url, whatsapp_api_version=WA_VERSION, whatsapp_token=WA_TOKEN,
                   whatsapp_phone_number_id=WA_NUMBER_ID, whatsapp_app_secret=SHARED_SECRET)


@pytest.fixture
def no_shared(settings, provider):
    """No shared account at all: only what clinics saved."""
    return replace(settings, sms_api_url=provider.url, whatsapp_api_url=provider.url, whatsapp_api_version=WA_VERSION)


@pytest.fixture(scope="module")
def shared_app(settings):
    return create_app(replace(settings, sms_account_sid=SID, sms_auth_token=TOKEN, sms_from=SMS_FROM,
                              whatsapp_app_secret=SHARED_SECRET), manage_pool=False)


@pytest.fixture
async def webhooks(shared_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=shared_app, client=("10.0.0.9", 5000)),
                                 base_url="http://testserver") as c:
        yield c


async def _own_sms(clinic, settings) -> None:
    await Clinic.update({Clinic.sms_number: OWN_NUMBER}).where(Clinic.id == clinic.clinic_id)
    await channel_accounts.save_sms(clinic, settings, OWN_SID, OWN_TOKEN)


async def _own_whatsapp(clinic, settings) -> None:
    await Clinic.update({Clinic.whatsapp_phone_number_id: OWN_WA_NUMBER_ID}).where(Clinic.id == clinic.clinic_id)
    await channel_accounts.save_whatsapp(clinic, settings, OWN_WA_TOKEN, OWN_SECRET)


async def test_the_owner_saves_an_sms_account_that_is_never_shown_again(client, clinic, settings):
    await sign_in_as(client, clinic)
    before = await client.get("/settings/channels")
    assert before.status_code == 200 and "Off" in before.text
    saved = await client.post("/settings/channels/sms", data={"_csrf_token": await csrf_token(client),
                                                               "account_sid": OWN_SID, "auth_token": OWN_TOKEN})
    assert saved.status_code == 303
    page = await client.get("/settings/channels")
    assert "Configured" in page.text
    assert OWN_TOKEN not in page.text and OWN_SID not in page.text
    [row] = await ClinicCredential.select().where(ClinicCredential.provider == "sms")
    assert OWN_TOKEN not in row["ciphertext"] and OWN_SID not in row["ciphertext"]
    assert (await channel_accounts.sms_account(settings, clinic.clinic_id)) is None  # no number of its own yet
    await Clinic.update({Clinic.sms_number: OWN_NUMBER}).where(Clinic.id == clinic.clinic_id)
    assert await channel_accounts.sms_account(settings, clinic.clinic_id) == channel_accounts.SmsAccount(
        OWN_SID, OWN_TOKEN, OWN_NUMBER)
    forgotten = await client.post("/settings/channels/sms/forget", data={"_csrf_token": await csrf_token(client)})
    assert forgotten.status_code == 303 and await ClinicCredential.count() == 0
    assert "Off" in (await client.get("/settings/channels")).text
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id)]
    assert "credentials.saved" in actions and "credentials.forgotten" in actions


async def test_a_malformed_account_is_refused_beside_its_field_and_nothing_is_saved(client, clinic):
    await sign_in_as(client, clinic)
    refused = await client.post("/settings/channels/sms", data={"_csrf_token": await csrf_token(client),
                                                                 "account_sid": "AC-typo", "auth_token": "short"})
    assert refused.status_code == 422
    assert 'value="AC-typo"' in refused.text and 'aria-invalid="true"' in refused.text
    assert "starts with AC" in refused.text and "at least 8 characters" in refused.text
    assert 'value="short"' not in refused.text  # a secret typed is not sent back
    bad_wa = await client.post("/settings/channels/whatsapp", data={"_csrf_token": await csrf_token(client),
                                                                    "whatsapp_token": "", "app_secret": "x y"})
    assert bad_wa.status_code == 422 and await ClinicCredential.count() == 0


async def test_only_the_owner_may_save_accounts(client, clinic):
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, receptionist)
    answer = await client.post("/settings/channels/sms", data={"_csrf_token": await csrf_token(client),
                                                               "account_sid": OWN_SID, "auth_token": OWN_TOKEN})
    assert answer.status_code == 403 and await ClinicCredential.count() == 0


async def test_each_clinics_texts_go_through_its_own_account_or_the_shared_one(clinic, other_clinic, shared,
                                                                               provider):
    await _own_sms(clinic, shared)
    await Clinic.update({Clinic.sms_number: CLINIC_SMS_NUMBER}).where(Clinic.id == other_clinic.clinic_id)
    for owner, key in ((clinic, "a"), (other_clinic, "b")):
        await outbox.enqueue(outbox.Email(to="+31611122233", subject="", text=f"Hello {key}"), key=key,
                             clinic_id=owner.clinic_id, channel="sms")
    assert await channels.deliver_due_texts(shared) == 2
    sent = {form["Body"]: (account, form["From"]) for form, account in zip(provider.sms, provider.sms_accounts)}
    assert sent == {"Hello a": (OWN_SID, OWN_NUMBER), "Hello b": (SID, CLINIC_SMS_NUMBER)}


async def test_a_clinic_with_its_own_account_sends_without_any_shared_one(clinic, other_clinic, no_shared,
                                                                          provider):
    await _own_sms(clinic, no_shared)
    await _own_whatsapp(clinic, no_shared)
    assert await channels.in_use(no_shared, "sms") and await channels.in_use(no_shared, "whatsapp")
    await outbox.enqueue(outbox.Email(to="+31611122233", subject="", text="Mine"), key="mine",
                         clinic_id=clinic.clinic_id, channel="sms")
    await outbox.enqueue(outbox.Email(to="+31611122233", subject="", text="Thanks"), key="wa",
                         clinic_id=clinic.clinic_id, channel="whatsapp")
    await outbox.enqueue(outbox.Email(to="+31611122244", subject="", text="Theirs"), key="theirs",
                         clinic_id=other_clinic.clinic_id, channel="sms")
    assert await channels.deliver_due_texts(no_shared) == 2
    assert [(f["Body"], a) for f, a in zip(provider.sms, provider.sms_accounts)] == [("Mine", OWN_SID)]
    assert provider.whatsapp_numbers == [OWN_WA_NUMBER_ID] and provider.whatsapp[0]["text"]["body"] == "Thanks"
    waiting = await OutboxMessage.select(OutboxMessage.status, OutboxMessage.attempts).where(
        OutboxMessage.clinic_id == other_clinic.clinic_id).first()
    assert waiting == {"status": "queued", "attempts": 0}  # the other clinic's text waits, unclaimed


def _twilio(token: str, fields: dict) -> str:
    payload = "http://testserver/webhooks/sms" + "".join(f"{k}{fields[k]}" for k in sorted(fields))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


def _sms(to: str, number: int) -> dict:
    return {"MessageSid": f"SM{number:032x}", "AccountSid": OWN_SID, "From": "+31611122233", "To": to,
            "Body": "See you then"}


async def test_inbound_texts_are_checked_with_the_token_of_the_account_owning_the_number(
        webhooks, clinic, other_clinic, settings):
    await _own_sms(clinic, settings)
    await Clinic.update({Clinic.sms_number: CLINIC_SMS_NUMBER}).where(Clinic.id == other_clinic.clinic_id)
    mine = _sms(OWN_NUMBER, 1)
    shared_signed = await webhooks.post("/webhooks/sms", data=mine,
                                        headers={"X-Twilio-Signature": _twilio(TOKEN, mine)})
    assert shared_signed.status_code == 403  # the shared token does not speak for a clinic with its own account
    own_signed = await webhooks.post("/webhooks/sms", data=mine,
                                     headers={"X-Twilio-Signature": _twilio(OWN_TOKEN, mine)})
    assert own_signed.status_code == 200
    theirs = _sms(CLINIC_SMS_NUMBER, 2)
    assert (await webhooks.post("/webhooks/sms", data=theirs,
                                headers={"X-Twilio-Signature": _twilio(OWN_TOKEN, theirs)})).status_code == 403
    assert (await webhooks.post("/webhooks/sms", data=theirs,
                                headers={"X-Twilio-Signature": _twilio(TOKEN, theirs)})).status_code == 200
    rows = await ConversationMessage.select(ConversationMessage.clinic).order_by(ConversationMessage.id)
    assert [r["clinic"] for r in rows] == [clinic.clinic_id, other_clinic.clinic_id]


def _wa_payload(number_id: str, message_id: str) -> bytes:
    return json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": number_id},
                                       "messages": [{"from": "31611122233", "id": message_id, "type": "text",
                                                     "text": {"body": "hello"}}]}}]}]}).encode()


def _hub(body: bytes, secret: str) -> dict:
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
            "Content-Type": "application/json"}


async def test_inbound_whatsapp_is_checked_with_the_app_secret_of_the_numbers_clinic(
        webhooks, clinic, other_clinic, settings):
    await _own_whatsapp(clinic, settings)
    await Clinic.update({Clinic.whatsapp_phone_number_id: WA_NUMBER_ID}).where(Clinic.id == other_clinic.clinic_id)
    mine = _wa_payload(OWN_WA_NUMBER_ID, "wamid.mine")
    assert (await webhooks.post("/webhooks/whatsapp", content=mine, headers=_hub(mine, SHARED_SECRET))
            ).status_code == 403
    assert (await webhooks.post("/webhooks/whatsapp", content=mine, headers=_hub(mine, OWN_SECRET))
            ).status_code == 200
    theirs = _wa_payload(WA_NUMBER_ID, "wamid.theirs")
    assert (await webhooks.post("/webhooks/whatsapp", content=theirs, headers=_hub(theirs, OWN_SECRET))
            ).status_code == 403
    assert (await webhooks.post("/webhooks/whatsapp", content=theirs, headers=_hub(theirs, SHARED_SECRET))
            ).status_code == 200
    both = json.loads(mine)
    both["entry"] += json.loads(theirs)["entry"]
    mixed = json.dumps(both).encode()
    for secret in (OWN_SECRET, SHARED_SECRET):  # one delivery never comes from two apps
        assert (await webhooks.post("/webhooks/whatsapp", content=mixed, headers=_hub(mixed, secret))
                ).status_code == 403
    rows = await ConversationMessage.select(ConversationMessage.clinic).order_by(ConversationMessage.id)
    assert [r["clinic"] for r in rows] == [clinic.clinic_id, other_clinic.clinic_id]
