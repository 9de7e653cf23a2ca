"""Erasure leaves nothing behind: a patient with data in every registered category is erased, then every text
and JSON column of every table in the database is scanned for their identifiers.

The scan reads the catalogue, so a new table is covered without editing this test. Only the rows retention
keeps (the isolated clinical record and the accountability records tied to the patient's id, listed in KEPT)
may still hold them. A new registered category needs a maker in MAKERS, or the test says so.
"""

from datetime import date, timedelta

from portal import consents, patients
from portal.consents import ConsentKind
from portal.messaging import conversations
from portal.privacy import processors
from portal.privacy.registry import all_categories
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
    "clinical_note": "patient = {p}", "patient_image": "patient = {p}",
    "patient_image_blob": "image IN (SELECT id FROM patient_image WHERE patient = {p})",
    "privacy_request": "patient_id = {p}", "audit_entry": "patient_id = {p}",
}
TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb")


async def _identity_and_contact(owner, cal, patient_id):
    """Made with the patient (identity, contact) or over HTTP in the test (messages, requests, access log)."""


async def _guardians(owner, cal, patient_id):
    await patients.add_guardian(owner, patient_id, patients.GuardianForm(
        name=f"Parent of {GIVEN}", email="parent.q@example.org", phone="06 1111 2222"))


async def _appointments(owner, cal, patient_id):
    await factories.book(owner, cal, patient_id, (date.today() - timedelta(days=20)).isoformat(), "10:00",
                         notes=f"{GIVEN} prefers mornings", past_reason="Entered from the paper day list")
    await factories.book(owner, cal, patient_id, (date.today() + timedelta(days=20)).isoformat(), "10:00")


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


MAKERS = {
    "identity": _identity_and_contact, "contact": _identity_and_contact, "guardians": _guardians,
    "appointments": _appointments, "consents": _consents,
    "messages": _identity_and_contact,  # booking confirmations (appointments) and the request mails below
    "requests": _identity_and_contact, "access_log": _identity_and_contact,  # made over HTTP below
    "medical_history": _chart, "medical_alerts": _chart, "tooth_chart": _chart, "treatment_plans": _chart,
    "clinical_notes": _chart, "images": _chart, "conversations": _conversations,
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


# Categories that landed in the same merge as this test and have no maker yet: each erases by its own tests
# (tests/test_billing_*, test_recall*, test_waitlist, test_lab_*, test_perio_*, test_calls, test_contacts,
# test_patient_forms, test_social), but not yet under this scan. Any other new category fails here until it has one.
NOT_YET_SCANNED = {"contact_changes", "recall", "recall_contacts", "booking_holds", "waitlist_offers", "waitlist",
                   "account_ledger", "invoices", "perio_charts", "referrals", "lab_cases", "prescriptions",
                   "disclosures", "calls", "forms", "patient_forms", "social_leads", "aligners",
                   "lab_downloads"}


async def test_after_erasure_no_column_outside_the_kept_record_holds_the_patient(client, other_client, clinic,
                                                                                 cal, mailbox):
    missing = [c.name for c in all_categories() if c.name not in MAKERS and c.name not in NOT_YET_SCANNED]
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
