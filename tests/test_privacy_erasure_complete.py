"""Erasure leaves nothing behind: a patient with data in every registered category is erased, then every text
and JSON column of every table in the database is scanned for their identifiers.

The scan reads the catalogue, so a new table is covered without editing this test. Only the rows retention
keeps (the isolated clinical record and the accountability records tied to the patient's id, listed in KEPT)
may still hold them. A new registered category needs a maker in MAKERS, or the test says so.
"""

import re
from datetime import timedelta

from portal import clock, consents, patients
from portal.consents import ConsentKind
from portal.messaging import conversations
from portal.privacy import processors
from portal.privacy.registry import all_categories
from portal.settings import Settings
from portal.tables import ConversationMessage, DataExport, Lead, Patient, PrivacyRequest
from tests import factories, image_samples
from tests.factories import post_form, sign_in_as
from tests.mail_sink import body_text
from tests.privacy_helpers import sign_in_patient

GIVEN, FAMILY, EMAIL = "Zephyrine", "Quaglietti", "zephyrine.q@example.org"
PHONE_TYPED, PHONE = "06 2876 5432", "+31628765432"
NATIONAL_ID, BORN = "111222333", "1979-05-17"
NEEDLES = (GIVEN, FAMILY, EMAIL, PHONE, "628765432", NATIONAL_ID, BORN, "17-05-1979", "17.05.1979", "17/05/1979")

# Rows retention keeps after an approved erasure: the isolated clinical record and the accountability records
# (requests, access log), each a SQL condition naming the patient's rows ({p} is the patient id).
KEPT = {
    "patient": "id = {p}",
    "appointment": "patient = {p}",
    "appointment_change": "appointment IN (SELECT id FROM appointment WHERE patient = {p})",
    "medical_history": "patient = {p}", "medical_alert": "patient = {p}", "tooth_finding": "patient = {p}",
    "treatment_plan": "patient = {p}",
    "plan_item": "plan IN (SELECT id FROM treatment_plan WHERE patient = {p})",
    "plan_acceptance": "plan IN (SELECT id FROM treatment_plan WHERE patient = {p})",
    "clinical_note": "patient = {p}", "patient_image": "patient = {p}", "imported_visit": "patient = {p}",
    "imported_record": "patient = {p}",  # the previous clinic's forms, lab work and account: kept like ours
    "patient_image_blob": "image IN (SELECT id FROM patient_image WHERE patient = {p})",
    "privacy_request": "patient_id = {p}", "audit_entry": "patient_id = {p}",
    "patient_form": "patient = {p}",  # signed forms: part of the clinical record
    # the financial record of the accounts the patient heads, kept under tax law until its own date
    "billing_account": "guarantor = {p}",
    "invoice": "account IN (SELECT id FROM billing_account WHERE guarantor = {p})",
    "aligner_round": "series IN (SELECT id FROM aligner_series WHERE patient = {p})",  # treatment record
    "payment_plan": "account IN (SELECT id FROM billing_account WHERE guarantor = {p})",
    "invoice_line": "invoice IN (SELECT i.id FROM invoice i JOIN billing_account a ON a.id = i.account "
                    "WHERE a.guarantor = {p})",
}
TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb")


async def _identity_and_contact(owner, cal, patient_id):
    """Made with the patient (identity, contact) or over HTTP in the test (messages, requests, access log)."""


async def _guardians(owner, cal, patient_id):
    await patients.add_guardian(owner, patient_id, patients.GuardianForm(
        name=f"Parent of {GIVEN}", email="parent.q@example.org", phone="06 1111 2222"))


async def _family(owner, cal, patient_id):
    from portal.families import households

    await households.create_family(owner, patient_id, households.FamilyForm(
        household_name=FAMILY, address="Keizersgracht 1", postcode="1015 CJ", city="Amsterdam"))


async def _guardian_of(owner, cal, patient_id):
    """The patient is the linked guardian of a child: the child's guardian row copies their name and addresses."""
    from portal.families import guardians

    child = await factories.make_patient(owner, given_name="Pim", family_name="Kind", email="",
                                         date_of_birth=(factories.clinic_today() - timedelta(days=365 * 7)).isoformat())
    await guardians.link_guardian(owner, child, guardians.LinkForm(guardian_patient=str(patient_id),
                                                                   link_relationship="father"))


async def _appointments(owner, cal, patient_id):
    await factories.book(owner, cal, patient_id, (factories.clinic_today() - timedelta(days=20)).isoformat(), "10:00",
                         notes=f"{GIVEN} prefers mornings", past_reason="Entered from the paper day list")
    await factories.book(owner, cal, patient_id, (factories.clinic_today() + timedelta(days=20)).isoformat(), "10:00")


async def _consents(owner, cal, patient_id):
    await consents.record_change(owner, owner.clinic_id, patient_id,
                                 consents.ConsentChange(ConsentKind.MARKETING_EMAIL, True, "front_desk"))


async def _chart(owner, cal, patient_id):
    from portal.charts import treatment_plans

    ids = await factories.make_chart_records(owner, cal["dentist"], patient_id)
    await treatment_plans.accept(cal["dentist"], patient_id, ids["plan_id"],
                                 treatment_plans.AcceptanceForm(accepted_by=f"{GIVEN} {FAMILY}", method="written"))
    await image_samples.stored(owner, patient_id)


async def _conversations(owner, cal, patient_id):
    """The patient wrote on WhatsApp before they were registered (a lead with their name), then again."""
    from dataclasses import replace

    rows = await Lead.raw("INSERT INTO lead (clinic, phone, name) VALUES ({}, '+31612340001', {}) RETURNING id",
                          owner.clinic_id, f"{GIVEN} {FAMILY}")
    await ConversationMessage.raw(
        "INSERT INTO conversation_message (clinic, lead, channel, direction, phone, body) "
        "VALUES ({}, {}, 'whatsapp', 'in', '+31612340001', {})", owner.clinic_id, rows[0]["id"],
        f"Hello, this is {GIVEN} {FAMILY}, mail me at {EMAIL}")
    form = patients.PatientForm(given_name="Lead", family_name="Merged", date_of_birth="2000-01-01")
    merged = await conversations.convert_lead(owner, rows[0]["id"], replace(form))
    # the front desk then finds the lead was the same person: the conversation moves to their record
    await ConversationMessage.update({ConversationMessage.patient: patient_id}, force=True)
    await Lead.update({Lead.patient: patient_id}, force=True)
    await Patient.delete().where(Patient.id == merged)
    await conversations.queue_reply(owner.clinic_id, patient_id, PHONE, f"Dear {GIVEN}, see you soon",
                                    key="whatsapp-reply:test")


async def _imported_visits(owner, cal, patient_id):
    """A visit at the previous clinic, brought by an imported export, its booking note naming the patient."""
    rows = await Patient.raw(
        "INSERT INTO patient_import (clinic, patient, source_clinic, source_patient_id, generated_at, "
        "document_sha256, imported_at) VALUES ({}, {}, 'Old Dental', 7, now(), repeat('a', 64), now()) RETURNING id",
        owner.clinic_id, patient_id)
    await Patient.raw(
        "INSERT INTO imported_visit (clinic, patient, patient_import, source_ref, starts_at, ends_at, status, notes) "
        "VALUES ({}, {}, {}, 'appointments/1', now() - interval '1 year', now() - interval '1 year', 'completed', "
        "{})", owner.clinic_id, patient_id, rows[0]["id"], f"{GIVEN} {FAMILY} prefers mornings")


async def _imported_history(owner, cal, patient_id):
    """The previous clinic's signed form, lab case, invoice and account entry, naming the patient."""
    import json

    from portal.tables import ImportedRecord, PatientImport

    [source] = await PatientImport.select(PatientImport.id).where(PatientImport.patient == patient_id)
    for category, record in (("forms", {"signer_name": f"{GIVEN} {FAMILY}"}),
                             ("lab_cases", {"instructions": f"For {GIVEN}"}),
                             ("invoices", {"bill_to": f"{GIVEN} {FAMILY}"}),
                             ("account_ledger", {"description": f"Check-up {FAMILY}", "amount": "10.00"})):
        await ImportedRecord.insert(ImportedRecord(clinic=owner.clinic_id, patient=patient_id,
                                                   patient_import=source["id"], category=category,
                                                   source_ref=f"{category}/1", record=json.dumps(record)))


async def _contact_changes(owner, cal, patient_id):
    """A new address typed at the desk, waiting for its confirmation (the old one is told, the new one mailed)."""
    from portal.contacts import changes
    from portal.db import transaction

    async with transaction():
        await changes.propose(owner, owner.clinic_id, changes.Holder(patient_id), "email",
                              f"{GIVEN.lower()}.work@example.net", "staff_form")


async def _recall(owner, cal, patient_id):
    """A check-up recall, a call noted by the desk, and a waitlist entry with the patient's words."""
    from portal.recall import due, recall_types, waitlist

    kind = (await recall_types.list_types(owner))[0]
    due_on = (factories.clinic_today() + timedelta(days=90)).isoformat()
    await due.set_recall(owner, patient_id, due.RecallForm(str(kind["id"]), due_on))
    await due.log_contact(owner, patient_id, due.ContactForm(kind="called", note=f"{GIVEN} asks to call {PHONE}"))
    await consents.record_change(owner, owner.clinic_id, patient_id,
                                 consents.ConsentChange(ConsentKind.REMINDER_EMAIL, True, "front_desk"))
    await waitlist.add_entry(owner, patient_id, waitlist.WaitlistForm(appointment_type_id=str(cal["checkup"]),
                                                                      note=f"{GIVEN} can come at short notice"))


async def _waitlist_offer(owner, cal, patient_id):
    """Another patient's visit is cancelled; the freed time is offered to this one by mail."""
    from portal.calendar import scheduling
    from portal.recall import waitlist
    from portal.settings import Settings

    other = await factories.make_patient(owner, given_name="Leaver", email="leaver@example.org")
    freed = await factories.book(owner, cal, other, (factories.clinic_today() + timedelta(days=3)).isoformat(), "11:00")
    await scheduling.set_status(owner, freed, "cancelled", "moved abroad")
    assert await waitlist.offer_freed_slots(Settings.from_env()) >= 1


async def _booking_hold(owner, cal, patient_id):
    """The patient opens their recall link and holds a time online."""
    from portal.recall import booking
    from portal.settings import Settings

    settings = Settings.from_env()
    await booking.save_settings(owner, booking.SettingsForm(enabled=True, appointment_types=str(cal["checkup"]),
                                                            lead_hours="0"))
    token = booking.recall_link(settings, owner.clinic_id, patient_id).rsplit("/", 1)[1]
    visit = await booking.open_recall_link(settings.secret_key, token)
    slot = (await booking.offered_slots(visit))["slots"][-1]
    await booking.hold_slot(visit, str(cal["checkup"]), booking.slot_value(slot))


async def _billing(owner, cal, patient_id):
    await factories.make_invoice(owner, patient_id)


async def _payment_plan(owner, cal, patient_id):
    """An invoice spread over three instalments, the note naming the patient (kept with the books)."""
    from portal.billing import instalments

    await factories.make_invoice(owner, patient_id)
    await instalments.create_plan(owner, patient_id, instalments.PlanForm(
        plan_total="30.00", instalments="3", first_due=factories.clinic_today().isoformat(),
        note=f"Agreed with {GIVEN} {FAMILY}"))


async def _payer_claims(owner, cal, patient_id):
    """The patient's cover by a fund, a covered filling, and a claim of the fund's share sent to the fund."""
    from portal.billing import claims

    ids = await factories.make_payer_claim(owner, cal["dentist"], patient_id)
    await claims.mark_sent(owner, ids["claim_id"])


async def _lab_and_letters(owner, cal, patient_id):
    """A crown case mailed to the lab (a disclosure), a prescription and a referral letter."""
    from portal.lab import sending

    ids = await factories.make_lab_records(owner, cal["dentist"], patient_id)
    await sending.send_case(cal["dentist"], patient_id, ids["case_id"])


async def _aligners(owner, cal, patient_id):
    """An aligner series refined from a new scan, the round's note naming the patient."""
    from datetime import datetime, timezone

    from portal.lab import aligners
    from portal.tables import PatientImage

    scan = PatientImage(clinic=owner.clinic_id, patient=patient_id, kind="scan", format="stl", content_type="model/stl",
                        byte_size=84, original_name="upper.stl", taken_on=factories.clinic_today(),
                        uploaded_at=datetime.now(timezone.utc))
    await scan.save()
    series = await aligners.start_series(cal["dentist"], patient_id, aligners.SeriesForm(stages="20"))
    await aligners.refine(cal["dentist"], patient_id, series, aligners.RefinementForm(
        stages="6", scan_image_id=str(scan.id), note=f"{GIVEN} {FAMILY}: lower incisors lagging"))


async def _lab_download(owner, cal, patient_id):
    """A crown case offered to the lab as a signed download (the ZIP holds the slip with the patient's name)."""
    from portal.lab import downloads

    ids = await factories.make_lab_records(owner, cal["dentist"], patient_id)
    await downloads.offer(cal["dentist"], Settings.from_env(), patient_id, ids["case_id"])


async def _calls(owner, cal, patient_id):
    from portal.tables import PhoneCall

    await factories.make_call_recording(owner, patient_id)
    await PhoneCall.update({PhoneCall.caller: PHONE}, force=True).where(PhoneCall.patient == patient_id)


async def _forms(owner, cal, patient_id):
    await factories.make_signed_form(owner, patient_id, allergies=f"Latex ({GIVEN} {FAMILY})")


async def _social_leads(owner, cal, patient_id):
    """The patient filled in a lead-ads form on Facebook before they were registered."""
    import json

    await Lead.raw("INSERT INTO lead (clinic, phone, email, name, source, answers, patient) "
                   "VALUES ({}, {}, {}, {}, 'facebook', {}::jsonb, {})", owner.clinic_id, PHONE, EMAIL,
                   f"{GIVEN} {FAMILY}", json.dumps({"full_name": f"{GIVEN} {FAMILY}", "what_treatment": "Whitening"}),
                   patient_id)


async def _online_booking(owner, cal, patient_id):
    """The patient asked for a booking code twice (once with a mistyped birthday) and used the right one; their
    record is marked as made online (as for a new patient)."""
    from portal.recall import booking, booking_codes
    from portal.tables import BookingCode, OnlinePatient, OutboxMessage

    await booking.save_settings(owner, booking.SettingsForm(enabled=True, appointment_types=str(cal["checkup"])))
    place = await booking_codes.open_clinic(owner.clinic_id)
    settings = Settings.from_env()
    await booking_codes.request_known(place, booking_codes.KnownForm(EMAIL, "1999-12-31"), "10.3.3.3", settings)
    ref = await booking_codes.request_known(place, booking_codes.KnownForm(EMAIL, BORN), "10.3.3.3", settings)
    for row in await BookingCode.select(BookingCode.id):
        await booking_codes.send_code(settings, row["id"])
    mail = await OutboxMessage.select().where(OutboxMessage.idempotency_key.like("booking-code:%")).first()
    code = re.search(r"\b(\d{6})\b", mail["text_body"]).group(1)
    await booking_codes.redeem(place, ref, booking_codes.CodeForm(code), "10.3.3.3", settings)
    await OnlinePatient.insert(OnlinePatient(patient=patient_id, clinic=owner.clinic_id, created_at=clock.now()))


MAKERS = {
    "identity": _identity_and_contact, "contact": _identity_and_contact, "guardians": _guardians,
    "appointments": _appointments, "consents": _consents,
    "messages": _identity_and_contact,  # booking confirmations (appointments) and the request mails below
    "requests": _identity_and_contact, "access_log": _identity_and_contact,  # made over HTTP below
    "medical_history": _chart, "medical_alerts": _chart, "tooth_chart": _chart, "treatment_plans": _chart,
    "imported_visits": _imported_visits, "imported_forms": _imported_history, "imported_lab_cases": _imported_history,
    "imported_invoices": _imported_history, "imported_account_ledger": _imported_history,
    "clinical_notes": _chart, "images": _chart, "conversations": _conversations, "perio_charts": _chart,
    "contact_changes": _contact_changes, "recall": _recall, "recall_contacts": _recall, "waitlist": _recall,
    "waitlist_offers": _waitlist_offer, "booking_holds": _booking_hold, "account_ledger": _billing,
    "invoices": _billing, "payment_plans": _payment_plan, "lab_cases": _lab_and_letters,
    "payer_coverage": _payer_claims, "payer_claims": _payer_claims,
    "prescriptions": _lab_and_letters,
    "referrals": _lab_and_letters, "disclosures": _lab_and_letters, "calls": _calls, "forms": _forms,
    "social_leads": _social_leads,
    "aligners": _aligners, "lab_downloads": _lab_download,
    "family": _family, "guardian_of": _guardian_of,
    "online_booking_codes": _online_booking, "online_patient": _online_booking,
}


async def _hits(patient_id: int) -> list[str]:
    """Every (table.column) outside the kept rows where one of the patient's identifiers occurs."""
    columns = await Patient.raw(
        "SELECT table_name, column_name FROM information_schema.columns c WHERE table_schema = 'public' "
        "AND data_type = ANY({}) AND EXISTS (SELECT 1 FROM information_schema.tables t "
        "WHERE t.table_schema = 'public' AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE') "
        "ORDER BY table_name, column_name", list(TEXT_TYPES))
    assert len({c["table_name"] for c in columns}) > 30  # the whole catalogue, procrastinate's tables too
    found = []
    patterns = ["%" + n.lower() + "%" for n in NEEDLES]
    for column in columns:
        table, name = column["table_name"], column["column_name"]
        kept = KEPT.get(table)
        where = f'lower("{name}"::text) LIKE ANY({{}})'
        if kept:
            where += f" AND NOT ({kept.format(p=patient_id)})"
        rows = await Patient.raw(f'SELECT "{name}"::text AS v FROM "{table}" WHERE {where} LIMIT 3', patterns)
        found += [f"{table}.{name}: {r['v'][:160]!r}" for r in rows]
    return found




async def test_after_erasure_no_column_outside_the_kept_record_holds_the_patient(client, other_client, clinic,
                                                                                 cal, mailbox):
    missing = [c.name for c in all_categories() if c.name not in MAKERS]
    assert not missing, f"add a maker for {missing} to MAKERS in this test"
    patient_id = await factories.make_patient(clinic, given_name=GIVEN, family_name=FAMILY, email=EMAIL,
                                              phone_mobile=PHONE_TYPED, national_id=NATIONAL_ID,
                                              date_of_birth=BORN, address="Keizersgracht 1, Amsterdam")
    for maker in dict.fromkeys(MAKERS.values()):
        await maker(clinic, cal, patient_id)
    await patients.get_patient(clinic, patient_id)  # a staff read: the access log
    await processors.add_processor(clinic, processors.ProcessorForm(  # told of the erasure (Art. 19) by mail
        name="Kroon Lab", kind="lab", notice_email="privacy@kroonlab.example"))
    # the patient signs in twice (links, sessions, mails without a patient id), asks, downloads, asks to erase
    await sign_in_patient(client, mailbox, EMAIL, BORN)
    await sign_in_patient(other_client, mailbox, EMAIL, BORN, count=2)
    for signed_in in (client, other_client):  # also a child's guardian (_guardian_of): they choose their own record
        assert (await post_form(signed_in, "/privacy/choose", {"patient_id": str(patient_id)})).status_code == 303
    assert (await post_form(client, "/privacy/me/questions", {"question": f"Is {PHONE} on file?"})).status_code == 303
    start = await post_form(client, "/privacy/me/export")
    assert start.status_code == 303
    await factories.run_queued_jobs()
    assert (await post_form(client, "/privacy/me/ask/erasure", {"reason": f"I am {GIVEN}"})).status_code == 303
    for category in all_categories():
        if category.name in MAKERS:
            assert await category.collect(patient_id), f"no {category.name} data made for the patient"

    await sign_in_as(other_client, clinic)
    for request in await PrivacyRequest.select().where(PrivacyRequest.kind == "inquiry"):
        await post_form(other_client, f"/privacy-requests/{request['id']}/decide", {"reason": "No."})
    erasure_id = (await PrivacyRequest.select(PrivacyRequest.id).where(PrivacyRequest.kind == "erasure")
                  .first())["id"]
    approved = await post_form(other_client, f"/privacy-requests/{erasure_id}/decide",
                               {"decision": "approved", "identity_check": "Passport seen at the desk"})
    assert approved.status_code == 303, approved.text
    await factories.run_queued_jobs()  # the confirmation leaves; what the worker keeps of it is scanned too
    assert any("erased" in body_text(m) for m in mailbox.to(EMAIL))  # the confirmation did arrive
    assert any(FAMILY in body_text(m) for m in mailbox.to("privacy@kroonlab.example"))  # and the lab's notice
    hits = await _hits(patient_id)
    assert not hits, "\n".join(hits)
    assert not await DataExport.exists().where(DataExport.patient_id == patient_id)
