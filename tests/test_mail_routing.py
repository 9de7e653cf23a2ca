"""Routed email: patient mail carries its conversation's reply address; a reply posted by the provider's webhook
(checked by signature: good, bad, missing, stale, replayed) threads into that conversation with its attachments
judged by content; unknown senders become leads; staff answer by email; export and erasure include it all."""

import hashlib
import hmac
import time
from dataclasses import replace

import httpx
import pytest

from portal.app import create_app
from portal.messaging import outbox, reply_addresses
from portal.privacy import erasure  # noqa: F401  (registers the categories)
from portal.privacy.registry import CATEGORIES
from portal.tables import AuditEntry, ConversationAttachment, ConversationMessage, Lead, OutboxMessage
from tests import factories
from tests.factories import csrf_token, sign_in_as

KEY, DOMAIN = "mail-signing-key", "reply.testserver.example"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF"
FAKE_PDF = b"MZ\x90\x00 this is a program, not a letter"


@pytest.fixture(scope="module")
def routed(settings):
    return replace(settings, inbound_mail_domain=DOMAIN, mail_webhook_signing_key=KEY)


@pytest.fixture(scope="module")
def mail_app(routed):
    return create_app(routed, manage_pool=False)


@pytest.fixture
async def provider(mail_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mail_app), base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def staff(mail_app, clinic):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mail_app), base_url="http://testserver") as c:
        await sign_in_as(c, clinic)
        yield c


def _signed(timestamp: int | None = None, key: str = KEY) -> dict:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    token = hashlib.sha256(f"{stamp}{time.perf_counter_ns()}".encode()).hexdigest()[:50]
    return {"timestamp": stamp, "token": token,
            "signature": hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()}


async def _deliver(provider, recipient: str, sender: str = "anna@example.org", body: str = "Thanks, see you then!",
                   message_id: str = "<r1@example.org>", files=None, signature: dict | None = None):
    fields = {"recipient": recipient, "sender": sender, "from": f"Anna <{sender}>", "subject": "Re: Your visit",
              "body-plain": body + "\n\n> quoted", "stripped-text": body, "Message-Id": message_id,
              **(signature if signature is not None else _signed())}
    return await provider.post("/webhooks/mail", data=fields, files=files or None)


async def test_patient_mail_carries_the_conversations_reply_address(routed, clinic, mailbox):
    patient_id = await factories.make_patient(clinic, email="anna@example.org")
    await outbox.enqueue(outbox.Email(to="anna@example.org", subject="Your visit", text="See you"), key="t1",
                         clinic_id=clinic.clinic_id, patient_id=patient_id)
    await outbox.deliver_due(replace(routed, smtp_url=mailbox.url))
    [message] = mailbox.to("anna@example.org")
    assert message["Reply-To"] == reply_addresses.reply_address(routed, clinic.clinic_id, patient_id)
    assert reply_addresses.route(routed, message["Reply-To"]).patient_id == patient_id


async def test_a_reply_threads_into_the_conversation_with_attachments_judged_by_content(routed, provider, clinic,
                                                                                          staff):
    patient_id = await factories.make_patient(clinic, email="anna@example.org")
    address = reply_addresses.reply_address(routed, clinic.clinic_id, patient_id)
    answer = await _deliver(provider, address, files=[("attachment-1", ("letter.pdf", PDF, "application/pdf")),
                                                      ("attachment-2", ("scan.pdf", FAKE_PDF, "application/pdf"))])
    assert answer.status_code == 200
    [message] = await ConversationMessage.select().where(ConversationMessage.patient == patient_id)
    assert (message["channel"], message["email"], message["body"]) == ("email", "anna@example.org",
                                                                       "Thanks, see you then!")
    kept, refused = await ConversationAttachment.select().order_by(ConversationAttachment.id)
    assert (kept["content_type"], bytes(kept["data"])) == ("application/pdf", PDF)
    assert refused["data"] is None and refused["refused_reason"] == "type"
    page = await staff.get(f"/patients/{patient_id}/messages")
    assert "Thanks, see you then!" in page.text and "letter.pdf" in page.text
    assert "not kept: not a PDF, JPEG or PNG by its content" in page.text
    download = await staff.get(f"/patients/{patient_id}/messages/attachments/{kept['id']}")
    assert download.content == PDF and download.headers["content-type"].startswith("application/pdf")
    assert await AuditEntry.exists().where(AuditEntry.action == "email.attachment_opened")
    refused_download = await staff.get(f"/patients/{patient_id}/messages/attachments/{refused['id']}")
    assert refused_download.status_code == 404


@pytest.mark.parametrize("case", ["missing", "bad", "stale", "wrong-key"])
async def test_an_unsigned_or_stale_delivery_is_refused_and_nothing_is_kept(routed, provider, clinic, case):
    patient_id = await factories.make_patient(clinic, email="anna@example.org")
    address = reply_addresses.reply_address(routed, clinic.clinic_id, patient_id)
    signature = {"missing": {}, "bad": {**_signed(), "signature": "0" * 64},
                 "stale": _signed(int(time.time()) - 3600), "wrong-key": _signed(key="not-ours")}[case]
    answer = await _deliver(provider, address, signature=signature)
    assert answer.status_code == 403 and await ConversationMessage.count() == 0


async def test_a_retried_delivery_is_kept_once_and_a_forged_address_is_dropped(routed, provider, clinic):
    patient_id = await factories.make_patient(clinic, email="anna@example.org")
    address = reply_addresses.reply_address(routed, clinic.clinic_id, patient_id)
    await _deliver(provider, address)
    await _deliver(provider, address)  # the provider retries with the same Message-Id
    assert await ConversationMessage.count() == 1
    forged = address.replace(f"-{patient_id}-", f"-{patient_id + 1}-")  # another patient's conversation
    assert (await _deliver(provider, forged, message_id="<r2@example.org>")).status_code == 200
    assert await ConversationMessage.count() == 1


async def test_a_reply_from_another_address_is_threaded_but_marked(routed, provider, clinic):
    patient_id = await factories.make_patient(clinic, email="anna@example.org")
    await _deliver(provider, reply_addresses.reply_address(routed, clinic.clinic_id, patient_id),
                   sender="someone.else@example.net")
    message = await ConversationMessage.select().first()
    assert message["patient"] == patient_id and message["outcome"] == "other_sender"


async def test_mail_from_an_unknown_sender_becomes_a_lead_and_converts_with_its_address(routed, provider, clinic,
                                                                                        staff):
    await _deliver(provider, reply_addresses.clinic_address(routed, clinic.clinic_id), sender="new@example.net",
                   body="Do you take new patients?")
    lead = await Lead.select().first()
    assert lead["email"] == "new@example.net" and lead["phone"] is None
    leads = await staff.get("/leads")
    assert "new@example.net" in leads.text and "Do you take new patients?" in leads.text
    token = await csrf_token(staff)
    converted = await staff.post(f"/leads/{lead['id']}/convert", data={
        "_csrf_token": token, "given_name": "Nieuw", "family_name": "Patiënt", "date_of_birth": "1990-01-02"})
    assert converted.status_code == 303
    message = await ConversationMessage.select().first()
    assert message["patient"] is not None


async def test_staff_answer_by_email_and_bad_input_stays_in_the_form(routed, staff, clinic, mailbox):
    patient_id = await factories.make_patient(clinic, email="anna@example.org")
    token = await csrf_token(staff)
    too_long = "x" * 5001
    refused = await staff.post(f"/patients/{patient_id}/messages/email",
                               data={"_csrf_token": token, "email_body": too_long})
    assert refused.status_code == 422 and "at most 5000" in refused.text and too_long in refused.text
    assert await OutboxMessage.count() == 0
    sent = await staff.post(f"/patients/{patient_id}/messages/email",
                            data={"_csrf_token": token, "email_body": "Your crown is ready."})
    assert sent.status_code == 303
    await outbox.deliver_due(replace(routed, smtp_url=mailbox.url))
    [message] = mailbox.to("anna@example.org")
    assert message["Reply-To"] == reply_addresses.reply_address(routed, clinic.clinic_id, patient_id)
    out = await ConversationMessage.select().where(ConversationMessage.direction == "out").first()
    assert (out["channel"], out["body"]) == ("email", "Your crown is ready.")


async def test_the_export_carries_kept_attachments_and_erasure_removes_them(routed, provider, clinic):
    patient_id = await factories.make_patient(clinic, email="anna@example.org")
    await _deliver(provider, reply_addresses.reply_address(routed, clinic.clinic_id, patient_id),
                   files=[("attachment-1", ("letter.pdf", PDF, "application/pdf"))])
    category = CATEGORIES["conversations"]
    [row] = await category.collect(patient_id)
    assert row["channel"] == "email" and row["email"] == "anna@example.org"
    [file] = await category.files(patient_id)
    assert file.data == PDF and file.name.endswith("letter.pdf")
    await category.erase(patient_id)
    assert await ConversationAttachment.count() == 0
