"""Art. 19: a correction or erasure is passed on to every recipient the data went to, recorded, and shown to the
patient (whom the clinic told); the mail naming the patient leaves nothing behind once sent."""

from portal.privacy import processors
from portal.tables import OutboxMessage, PrivacyRequest, RecipientNotice
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.mail_sink import body_text
from tests.privacy_helpers import sign_in_patient, wait_for_mail


async def _processors(clinic):
    for name, kind, email in (("Mailjet", "mail", "dpo@mailjet.example"), ("TextFast", "sms", ""),
                              ("Kroon Lab", "lab", "privacy@kroonlab.example"), ("Cloud NL", "hosting", "x@c.example")):
        await processors.add_processor(clinic, processors.ProcessorForm(name=name, kind=kind, notice_email=email))


async def _decided(client, other_client, clinic, mailbox, path: str, form: dict, decision: dict) -> int:
    await _processors(clinic)
    await factories.make_patient(clinic, given_name="Noor", family_name="Bakker", email="noor@example.org",
                                 date_of_birth="1988-08-08")
    await sign_in_patient(client, mailbox, "noor@example.org", "1988-08-08")
    assert (await post_form(client, path, form)).status_code == 303
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    await sign_in_as(other_client, clinic)
    decided = await post_form(other_client, f"/privacy-requests/{request_id}/decide", decision)
    assert decided.status_code == 303, decided.text
    return request_id


async def test_a_corrected_phone_is_passed_on_to_the_mail_and_sms_providers(client, other_client, clinic, mailbox):
    request_id = await _decided(client, other_client, clinic, mailbox, "/privacy/me/correction",
                                {"target": "contact.phone_mobile", "proposed": "06 2345 6789"},
                                {"decision": "approved"})
    told = {r["recipient"]: r for r in await RecipientNotice.select().output(load_json=True)}
    assert set(told) == {"Mailjet", "TextFast"}  # not the lab (no contact details), not hosting (changed in place)
    assert told["Mailjet"]["sent_to"] == "dpo@mailjet.example" and told["TextFast"]["sent_to"] == ""
    [notice] = await wait_for_mail(mailbox, "dpo@mailjet.example")
    assert "Noor Bakker, 1988-08-08" in body_text(notice) and "+31623456789" in body_text(notice)
    assert not await OutboxMessage.exists().where(OutboxMessage.recipient == "dpo@mailjet.example")  # forgotten
    page = await client.get(f"/privacy/me/requests/{request_id}")
    assert "Mailjet" in page.text and "TextFast" in page.text and "the clinic tells them directly" in page.text
    assert "TextFast" in (await other_client.get(f"/privacy-requests/{request_id}")).text


async def test_an_erasure_is_passed_on_to_the_lab(client, other_client, clinic, mailbox):
    request_id = await _decided(client, other_client, clinic, mailbox, "/privacy/me/ask/erasure", {},
                                {"decision": "approved", "identity_check": "Passport seen at the desk"})
    told = {r["recipient"] for r in await RecipientNotice.select().where(RecipientNotice.request_id == request_id)}
    assert told == {"Mailjet", "TextFast", "Kroon Lab"}
    [notice] = await wait_for_mail(mailbox, "privacy@kroonlab.example")
    assert "erased" in body_text(notice)


async def test_a_refusal_tells_nobody(client, other_client, clinic, mailbox):
    await _decided(client, other_client, clinic, mailbox, "/privacy/me/correction",
                   {"target": "contact.address", "proposed": "Dam 1"}, {"decision": "refused", "reason": "Wrong"})
    assert await RecipientNotice.count() == 0


async def test_a_notice_address_must_be_an_email(client, clinic):
    await sign_in_as(client, clinic)
    bad = await post_form(client, "/privacy-settings/processors", {"name": "Lab", "kind": "lab",
                                                                   "notice_email": "not an address"})
    assert bad.status_code == 422 and 'id="e-notice_email"' in bad.text
