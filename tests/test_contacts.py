"""Confirming a changed address: the texted code, staff's in-person check (who and how), the cooling-off of the
health record and who lifts it, the report link, and inbound texts matched only on one confirmed number."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from portal.contacts import changes
from portal.errors import ValidationFailed
from portal.messaging import conversations
from portal.permissions import Role
from portal.tables import AuditEntry, Clinic, ContactChange, ConversationMessage, Lead, OutboxMessage, Patient
from tests import factories
from tests.factories import csrf_token, post_form, run_queued_jobs, sign_in_as
from tests.mail_sink import body_text
from tests.privacy_helpers import sign_in_patient

STAFF_FORM = {"given_name": "Eva", "family_name": "Jansen", "date_of_birth": "1985-04-12", "gender": "",
              "national_id": "", "phone_other": "", "address": "", "preferred_language": "en"}
NEW_MOBILE = "+31612349999"


async def _propose_mobile(client, actor, patient_id: int) -> dict:
    await sign_in_as(client, actor)
    email = (await Patient.select(Patient.email).where(Patient.id == patient_id).first())["email"]
    response = await post_form(client, f"/patients/{patient_id}", {**STAFF_FORM, "email": email,
                                                                   "phone_mobile": "06 1234 9999"})
    assert response.status_code == 303
    await run_queued_jobs()
    return await ContactChange.select().where(ContactChange.address == NEW_MOBILE).first()


async def _texted_code() -> str:
    text = (await OutboxMessage.select(OutboxMessage.text_body).where(
        (OutboxMessage.recipient == NEW_MOBILE) & (OutboxMessage.channel == "sms")).first())["text_body"]
    return re.search(r"\b(\d{6})\b", text).group(1)


async def test_a_new_mobile_is_confirmed_by_the_texted_code_read_out_at_the_desk(client, clinic):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    patient_id = await factories.make_patient(clinic)
    change = await _propose_mobile(client, desk, patient_id)
    assert change["status"] == "pending" and change["code_hash"]
    assert (await Patient.select(Patient.phone_mobile).where(Patient.id == patient_id).first())["phone_mobile"] \
        != NEW_MOBILE
    page = await client.get(f"/patients/{patient_id}/contacts")
    assert "+31 6 12349999" in page.text and "Code the patient received" in page.text
    wrong = await post_form(client, f"/patients/{patient_id}/contacts/{change['id']}/code", {"code": "000000"
                            if await _texted_code() != "000000" else "111111"})
    assert wrong.status_code == 422 and "not right" in wrong.text
    right = await post_form(client, f"/patients/{patient_id}/contacts/{change['id']}/code",
                            {"code": await _texted_code()})
    assert right.status_code == 303
    assert (await Patient.select(Patient.phone_mobile).where(Patient.id == patient_id).first())["phone_mobile"] \
        == NEW_MOBILE
    done = await ContactChange.select().where(ContactChange.id == change["id"]).first()
    assert done["status"] == "confirmed" and done["method"] == "code" and done["code_hash"] is None


async def test_five_wrong_codes_void_the_code(clinic):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    patient_id = await factories.make_patient(clinic)
    await changes.propose(desk, clinic.clinic_id, changes.Holder(patient_id), "phone", NEW_MOBILE, "staff_form")
    await run_queued_jobs()
    change = await ContactChange.select().where(ContactChange.address == NEW_MOBILE).first()
    right = await _texted_code()
    wrong = "123456" if right != "123456" else "654321"
    for _ in range(changes.CODE_ATTEMPTS):
        with pytest.raises(ValidationFailed):
            await changes.confirm_code(desk, patient_id, change["id"], changes.CodeForm(code=wrong))
    with pytest.raises(ValidationFailed) as refused:
        await changes.confirm_code(desk, patient_id, change["id"], changes.CodeForm(code=right))
    assert "any more" in refused.value.errors["code"]


async def test_the_patient_types_the_code_in_the_privacy_centre(client, clinic, mailbox):
    patient_id = await factories.make_patient(clinic, email="eva@example.org")
    await sign_in_patient(client, mailbox, "eva@example.org", "1985-04-12")
    saved = await post_form(client, "/privacy/me/contact", {"email": "eva@example.org", "phone_mobile": NEW_MOBILE,
                                                            "address": "", "preferred_language": "en"})
    assert saved.status_code == 303
    await run_queued_jobs()
    change = await ContactChange.select().where(ContactChange.address == NEW_MOBILE).first()
    page = await client.get("/privacy/me/contact")
    assert "Waiting for the code" in page.text and f"/privacy/me/contact/code/{change['id']}" in page.text
    bad = await post_form(client, f"/privacy/me/contact/code/{change['id']}", {"code": "12"})
    assert bad.status_code == 422 and "not right" in bad.text
    ok = await post_form(client, f"/privacy/me/contact/code/{change['id']}", {"code": await _texted_code()})
    assert ok.status_code == 303
    assert (await Patient.select(Patient.phone_mobile).where(Patient.id == patient_id).first())["phone_mobile"] \
        == NEW_MOBILE


async def test_in_person_records_who_and_which_document_and_refuses_without_one(client, clinic):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita Desk")
    patient_id = await factories.make_patient(clinic)
    change = await _propose_mobile(client, desk, patient_id)
    refused = await post_form(client, f"/patients/{patient_id}/contacts/{change['id']}/in-person",
                              {"identity_check": ""})
    assert refused.status_code == 422 and "Choose the document" in refused.text
    assert (await ContactChange.select(ContactChange.status).where(ContactChange.id == change["id"]).first()) \
        == {"status": "pending"}
    ok = await post_form(client, f"/patients/{patient_id}/contacts/{change['id']}/in-person",
                         {"identity_check": "id_card"})
    assert ok.status_code == 303
    done = await ContactChange.select().where(ContactChange.id == change["id"]).first()
    assert (done["method"], done["confirmed_by"], done["identity_check"], done["checked_by_clinician"]) == (
        "in_person", desk.id, "id_card", False)
    history = await client.get(f"/patients/{patient_id}/contacts")
    assert "Rita Desk" in history.text and "National identity card" in history.text


async def _cooling_after(client, mailbox, clinic, confirmer) -> str:
    dentist = await factories.make_staff(clinic, Role.DENTIST)
    patient_id = await factories.make_patient(clinic, email="eva@example.org")
    await factories.make_chart_records(clinic, dentist, patient_id)
    confirmer = confirmer or dentist
    change_id = await changes.propose(confirmer, clinic.clinic_id, changes.Holder(patient_id), "email",
                                      "eva@new.example", "staff_form")
    await changes.confirm_in_person(confirmer, patient_id, change_id, changes.InPersonForm("passport"))
    await sign_in_patient(client, mailbox, "eva@new.example", "1985-04-12")
    return (await client.get("/privacy/me")).text


async def test_a_receptionists_in_person_check_still_cools_off_the_health_record(client, clinic, mailbox):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    page = await _cooling_after(client, mailbox, clinic, desk)
    assert 'id="cooling-off"' in page and "Clinical notes" in page and "Seen for check-up" not in page
    assert "Your email address" not in page and "Anna" in page  # the rest of the record is there


async def test_a_clinicians_in_person_check_shows_the_record_at_once(client, clinic, mailbox):
    page = await _cooling_after(client, mailbox, clinic, None)
    assert 'id="cooling-off"' not in page and "Seen for check-up" in page


async def test_the_cooling_off_ends_after_the_configured_days(client, clinic, mailbox):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await _cooling_after(client, mailbox, clinic, desk)
    await ContactChange.update({ContactChange.confirmed_at: datetime.now(timezone.utc) - timedelta(days=7, hours=1)},
                               force=True)
    page = (await client.get("/privacy/me")).text
    assert 'id="cooling-off"' not in page and "Seen for check-up" in page


async def test_a_later_in_person_check_by_a_clinician_ends_the_cooling_off_and_a_receptionist_cannot(
        client, other_client, clinic, mailbox):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await _cooling_after(client, mailbox, clinic, desk)  # the patient, signed in, waits
    patient_id = (await Patient.select(Patient.id).where(Patient.email == "eva@new.example").first())["id"]
    await sign_in_as(other_client, desk)
    page = await other_client.get(f"/patients/{patient_id}/contacts")
    assert "holds back the health record" in page.text and "end the waiting period" not in page.text
    forbidden = await post_form(other_client, f"/patients/{patient_id}/contacts/cooling/end",
                                {"identity_check": "passport"})
    assert forbidden.status_code == 403
    dentist = await factories.make_staff(clinic, Role.DENTIST, name="Dr Daan")
    other_client.cookies.clear()
    await sign_in_as(other_client, dentist)
    refused = await post_form(other_client, f"/patients/{patient_id}/contacts/cooling/end", {"identity_check": ""})
    assert refused.status_code == 422 and "Choose the document" in refused.text
    assert 'id="cooling-off"' in (await client.get("/privacy/me")).text  # nothing changed
    ended = await post_form(other_client, f"/patients/{patient_id}/contacts/cooling/end",
                            {"identity_check": "driving_licence"})
    assert ended.status_code == 303
    row = await ContactChange.select().where(ContactChange.address == "eva@new.example").first()
    assert (row["cooling_ended_by"], row["cooling_ended_by_name"], row["cooling_ended_check"]) == (
        dentist.id, "Dr Daan", "driving_licence") and row["cooling_ended_at"] is not None
    assert await AuditEntry.exists().where((AuditEntry.action == "contact.cooling_ended")
                                           & (AuditEntry.actor_id == dentist.id))
    page = (await client.get("/privacy/me")).text
    assert 'id="cooling-off"' not in page and "Seen for check-up" in page
    history = (await other_client.get(f"/patients/{patient_id}/contacts")).text
    assert "waiting period ended" in history and "Driving licence" in history


async def test_a_removed_address_is_told_and_still_told_of_the_next_one(clinic, mailbox):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    patient_id = await factories.make_patient(clinic, email="eva@example.org")
    await run_queued_jobs()
    mailbox.clear()
    await changes.propose(desk, clinic.clinic_id, changes.Holder(patient_id), "email", "", "staff_form")
    assert (await Patient.select(Patient.email).where(Patient.id == patient_id).first())["email"] == ""
    await changes.propose(desk, clinic.clinic_id, changes.Holder(patient_id), "email", "x@evil.test", "staff_form")
    await run_queued_jobs()
    told = [body_text(m) for m in mailbox.to("eva@example.org")]
    assert len(told) == 2 and "removed" in told[0] and "x•••@evil.test" in told[1]


async def test_reporting_a_waiting_change_withdraws_it_and_its_link_stops_working(client, clinic, mailbox):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    patient_id = await factories.make_patient(clinic, email="eva@example.org")
    await run_queued_jobs()
    await changes.propose(desk, clinic.clinic_id, changes.Holder(patient_id), "email", "x@evil.test", "staff_form")
    await run_queued_jobs()
    report = re.search(r"/contact/report/[\w\-]+", body_text(mailbox.to("eva@example.org")[-1])).group(0)
    confirm = re.search(r"/contact/confirm/[\w\-]+", body_text(mailbox.to("x@evil.test")[-1])).group(0)
    assert (await client.post(report, data={"_csrf_token": await csrf_token(client)})).status_code == 200
    assert (await client.post(report, data={"_csrf_token": await csrf_token(client)})).status_code == 410
    assert (await client.post(confirm, data={"_csrf_token": await csrf_token(client)})).status_code == 410
    assert (await Patient.select(Patient.email).where(Patient.id == patient_id).first())["email"] == "eva@example.org"
    assert await AuditEntry.exists().where(AuditEntry.action == "contact.reported")


async def test_an_expired_link_confirms_nothing(client, clinic, mailbox):
    patient_id = await factories.make_patient(clinic, email="eva@example.org")
    await changes.propose(clinic, clinic.clinic_id, changes.Holder(patient_id), "email", "new@example.org",
                          "staff_form")
    await run_queued_jobs()
    confirm = re.search(r"/contact/confirm/[\w\-]+", body_text(mailbox.to("new@example.org")[-1])).group(0)
    await ContactChange.update({ContactChange.expires_at: datetime.now(timezone.utc) - timedelta(minutes=1)},
                               force=True)
    assert (await client.post(confirm, data={"_csrf_token": await csrf_token(client)})).status_code == 410
    assert (await Patient.select(Patient.email).where(Patient.id == patient_id).first())["email"] == "eva@example.org"


async def _text_from(settings, clinic, phone: str, message_id: str) -> None:
    await Clinic.update({Clinic.whatsapp_phone_number_id: "109876543210"}).where(Clinic.id == clinic.clinic_id)
    await conversations.receive(settings, [("109876543210", phone, "Someone", message_id, "hello")])


async def test_an_inbound_text_is_matched_only_on_one_confirmed_mobile(settings, clinic):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    mine = await factories.make_patient(clinic, phone_mobile="+31611110000")
    # Someone else's number set on a record but never confirmed: its texts are a lead, not that record's.
    other = await factories.make_patient(clinic, phone_mobile="+31622220000", confirmed=False)
    await _text_from(settings, clinic, "+31622220000", "wamid.1")
    await _text_from(settings, clinic, "+31611110000", "wamid.2")
    rows = {r["provider_message_id"]: r for r in await ConversationMessage.select()}
    assert rows["wamid.1"]["patient"] is None and rows["wamid.1"]["lead"] is not None
    assert rows["wamid.2"]["patient"] == mine
    # A number confirmed on two records (a family phone) is a lead for staff, never "the newest record wins".
    await changes.propose(desk, clinic.clinic_id, changes.Holder(other), "phone", "+31611110000", "staff_form")
    await factories.confirm_addresses(clinic, other)
    await _text_from(settings, clinic, "+31611110000", "wamid.3")
    third = await ConversationMessage.select().where(ConversationMessage.provider_message_id == "wamid.3").first()
    assert third["patient"] is None and await Lead.exists().where(Lead.phone == "+31611110000")
