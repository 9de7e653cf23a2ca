"""Test data made through the domain functions, the way the app makes it."""

import itertools

import httpx

from portal import auth, clinics, patients, staff
from portal.contacts import changes as contact_changes
from portal.permissions import Actor, Role
from portal.tables import Staff

PASSWORD = "correct horse battery"
_serial = itertools.count(1)


async def make_clinic(name: str, country: str = "NL", time_zone: str = "Europe/Amsterdam") -> Actor:
    slug = name.lower().replace(" ", "-")
    return await clinics.create_clinic_with_owner(
        clinics.NewClinic(name=name, country=country, time_zone=time_zone, contact_email=f"desk@{slug}.test",
                          privacy_email=f"privacy@{slug}.test"),
        clinics.NewOwner(name=f"Owner of {name}", email=f"owner@{slug}.test", password=PASSWORD))


async def make_staff(owner: Actor, role: Role, name: str | None = None) -> Actor:
    n = next(_serial)
    email = f"{role.value}{n}@clinic{owner.clinic_id}.test"
    registration = f"BIG-{n:05d}" if role in (Role.DENTIST, Role.HYGIENIST) else ""
    staff_id = await staff.create_staff(owner, staff.StaffForm(
        name=name or f"{role.value.title()} {n}", email=email, role=role.value, registration_number=registration,
        active=True))
    # As if they had chosen PASSWORD from their invitation (tests/test_staff.py walks the real invitation).
    await Staff.update({Staff.password_hash: auth.hash_password(PASSWORD)}).where(Staff.id == staff_id)
    return Actor(kind="staff", id=staff_id, clinic_id=owner.clinic_id, name=name or "", role=role,
                 clinic_name=owner.clinic_name, time_zone=owner.time_zone, country=owner.country)


async def make_patient(actor: Actor, confirmed: bool = True, **fields) -> int:
    """A patient registered at the desk; `confirmed`: their email and mobile were confirmed in person there (with a
    passport), as for a patient who has been coming for years; otherwise they wait for the holder."""
    n = next(_serial)
    values = {"given_name": "Anna", "family_name": f"Jansen{n}", "date_of_birth": "1985-04-12",
              "phone_mobile": "06 1234 56" + f"{n % 100:02d}", "email": f"anna{n}@example.org", **fields}
    patient_id = await patients.create_patient(actor, patients.PatientForm(**values))
    if confirmed:
        await confirm_addresses(actor, patient_id)
    return patient_id


async def confirm_addresses(actor: Actor, patient_id: int) -> None:
    """Staff confirm every address of the patient and guardians that waits, in person with a passport."""
    for change in (await contact_changes.changes_for(actor, patient_id))["waiting"]:
        await contact_changes.confirm_in_person(actor, patient_id, change["id"],
                                                contact_changes.InPersonForm(identity_check="passport"))


async def email_of(actor: Actor) -> str:
    return (await Staff.select(Staff.email).where(Staff.id == actor.id).first())["email"]


async def csrf_token(client: httpx.AsyncClient) -> str:
    """The double-submit token: the cookie a GET hands out, echoed in a form field or header."""
    if "csrftoken" not in client.cookies:
        await client.get("/login")
    return client.cookies["csrftoken"]


async def post_form(client: httpx.AsyncClient, url: str, data: dict | None = None) -> httpx.Response:
    token = await csrf_token(client)
    return await client.post(url, data={"_csrf_token": token, **(data or {})})


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    response = await post_form(client, "/login", {"email": email, "password": password, "next": "/"})
    return response


async def sign_in_as(client: httpx.AsyncClient, actor: Actor) -> None:
    response = await sign_in(client, await email_of(actor))
    assert response.status_code == 303, response.text


async def make_calendar(owner: Actor) -> dict:
    """Open every day 08:00-18:00, two chairs, a dentist, a hygienist and two appointment types."""
    from datetime import time as clock_time

    from portal.calendar import practice_setup

    for weekday in range(7):
        await practice_setup.set_opening_hours(owner, weekday, [(clock_time(8), clock_time(18))])
    chairs = [await practice_setup.add_chair(owner, "Chair 1"), await practice_setup.add_chair(owner, "Chair 2")]
    dentist = await make_staff(owner, Role.DENTIST, name="Dr. Dekker")
    hygienist = await make_staff(owner, Role.HYGIENIST, name="Hanna Hygienist")
    checkup = await practice_setup.add_type(owner, practice_setup.TypeForm(name="Check-up", minutes="30"))
    cleaning = await practice_setup.add_type(owner, practice_setup.TypeForm(
        name="Cleaning", minutes="45", colour="#1a6fd1", provider_roles="hygienist"))
    return {"chairs": chairs, "dentist": dentist, "hygienist": hygienist, "checkup": checkup, "cleaning": cleaning}


async def book(actor: Actor, cal: dict, patient_id: int, day: str, at: str, **overrides) -> int:
    from portal.calendar import scheduling

    values = {"patient_id": str(patient_id), "appointment_type_id": str(cal["checkup"]),
              "provider_id": str(cal["dentist"].id), "chair_id": str(cal["chairs"][0]), "date": day, "time": at,
              **overrides}
    return await scheduling.book_appointment(actor, scheduling.BookingForm(**values))


def clinic_today():
    """Today in the factories' clinic zone (Amsterdam): between 23:00 and 24:00 UTC it is already tomorrow there."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Europe/Amsterdam")).date()


async def book_today(actor: Actor, cal: dict, patient_id: int, at: str = "17:00") -> int:
    """An appointment today (Amsterdam, the factories' clinic zone) at `at`, booked as if it were 08:00: a test that
    needs today's appointment (the kiosk finds only those) passes at any hour, also after `at` has gone by."""
    from datetime import datetime, time, timezone
    from unittest import mock
    from zoneinfo import ZoneInfo

    from portal import clock

    zone = ZoneInfo("Europe/Amsterdam")
    today = datetime.now(zone).date()
    morning = datetime.combine(today, time(8), zone).astimezone(timezone.utc)
    with mock.patch.object(clock, "now", lambda: morning):
        return await book(actor, cal, patient_id, today.isoformat(), at)


async def make_chart_records(owner: Actor, dentist: Actor, patient_id: int) -> dict[str, int]:
    """One of each chart record (history, alert, finding, plan with an item, note, fee code, perio exam), by id
    name."""
    from portal.charts import clinical_notes, fee_schedule, medical_history, odontogram, perio, treatment_plans

    await fee_schedule.load_demo_schedule(owner)
    code = [c for c in await fee_schedule.list_codes(owner) if c["code"] == "EX01"][0]
    await medical_history.save_history(dentist, patient_id, medical_history.HistoryForm(allergies="latex"))
    alert_id = await medical_history.add_alert(dentist, patient_id, medical_history.AlertForm(label="Needle phobia"))
    await odontogram.record_finding(dentist, patient_id, 36, odontogram.FindingForm(kind="crown"))
    plan_id = await treatment_plans.create_plan(dentist, patient_id, treatment_plans.PlanForm(title="Check-up plan"))
    item_id = await treatment_plans.add_item(dentist, patient_id, plan_id, treatment_plans.ItemForm(
        procedure_code_id=str(code["id"])))
    note_id = await clinical_notes.write_note(dentist, patient_id, clinical_notes.NoteForm(body="Seen for check-up"))
    exam_id = await perio.start_exam(dentist, patient_id)
    await perio.save_tooth(dentist, patient_id, exam_id, 36, perio.ToothForm(d0="4", d1="3", d2="5", b2=True))
    return {"tooth": 36, "version": 1, "alert_id": alert_id, "plan_id": plan_id, "item_id": item_id,
            "note_id": note_id, "code_id": code["id"], "exam_id": exam_id}


async def make_lab_records(owner: Actor, dentist: Actor, patient_id: int) -> dict[str, int]:
    """A lab, a crown case, a signed prescription and a signed referral letter, by id name."""
    from portal.documents import prescriptions, referrals
    from portal.lab import cases, directory

    lab_id = await directory.add_lab(owner, directory.LabForm(name="Kroon Lab", email="orders@kroonlab.test",
                                                             turnaround="crown 7"))
    case_id = await cases.create_case(dentist, patient_id, cases.CaseForm(lab_id=str(lab_id), items="crown",
                                                                          teeth="36", shade="A2"))
    prescription_id = await prescriptions.sign_prescription(dentist, patient_id, prescriptions.PrescriptionForm(
        medicine="Paracetamol", strength="500 mg", dose="1 tablet 4× daily", quantity="20 tablets"))
    referral_id = await referrals.refer(dentist, patient_id, referrals.ReferralForm(
        specialty="orthodontist", other_party="Dr. Ortho", other_email="ortho@example.org", reason="Crowding"))
    return {"lab_id": lab_id, "case_id": case_id, "prescription_id": prescription_id, "referral_id": referral_id}


async def make_failed_job(task_name: str = "outbox.deliver", args: str = "{}") -> int:
    """A procrastinate job that failed, as a worker leaves it (the error kept by jobs.record_run)."""
    rows = await Staff.raw(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, queueing_lock, args, status, attempts) "
        "VALUES ('default', {}, {}, {}::jsonb, 'failed', 5) RETURNING id", task_name, task_name, args)
    await Staff.raw("INSERT INTO job_error (job_id, task_name, error) VALUES ({}, {}, 'OSError: gateway down')",
                    rows[0]["id"], task_name)
    return rows[0]["id"]


async def make_dead_letter(actor: Actor, to: str = "lost@example.org") -> int:
    """An outbox message that used up its attempts."""
    from portal.messaging import outbox
    from portal.tables import OutboxMessage

    await outbox.enqueue(outbox.Email(to=to, subject="Lost", text="Lost"), key=f"dead:{to}",
                         clinic_id=actor.clinic_id)
    await OutboxMessage.update({OutboxMessage.status: "dead", OutboxMessage.attempts: 6,
                                OutboxMessage.last_error: "550 mailbox unavailable"}).where(
        OutboxMessage.idempotency_key == f"dead:{to}")
    return (await OutboxMessage.select(OutboxMessage.id).where(OutboxMessage.idempotency_key == f"dead:{to}")
            .first())["id"]


async def make_lead(actor: Actor, phone: str = "+31687654321", text: str = "Do you take new patients?") -> int:
    """An unknown number that wrote to the clinic on WhatsApp."""
    from portal.tables import ConversationMessage

    rows = await Staff.raw("INSERT INTO lead (clinic, phone, name) VALUES ({}, {}, 'Foreign Lead') RETURNING id",
                           actor.clinic_id, phone)
    await ConversationMessage.raw(
        "INSERT INTO conversation_message (clinic, lead, channel, direction, phone, body) "
        "VALUES ({}, {}, 'whatsapp', 'in', {}, {})", actor.clinic_id, rows[0]["id"], phone, text)
    return rows[0]["id"]


async def make_mail_attachment(actor: Actor, patient_id: int, data: bytes = b"%PDF-1.4 referral letter") -> int:
    """A PDF a patient sent by email, kept in their conversation."""
    from portal.tables import ConversationMessage

    message = await ConversationMessage.raw(
        "INSERT INTO conversation_message (clinic, patient, channel, direction, email, subject, body) "
        "VALUES ({}, {}, 'email', 'in', 'anna@example.org', 'Letter', 'See attached') RETURNING id",
        actor.clinic_id, patient_id)
    rows = await ConversationMessage.raw(
        "INSERT INTO conversation_attachment (message, filename, content_type, size, data) "
        "VALUES ({}, 'letter.pdf', 'application/pdf', {}, {}) RETURNING id", message[0]["id"], len(data), data)
    return rows[0]["id"]


async def run_queued_jobs(*queues: str) -> None:
    """Run what is queued, through procrastinate's own worker, until the queue is empty (e.g. an export).

    Without the periodic tasks: the worker would otherwise also defer and run whatever cron came due in the last ten
    minutes (the privacy centre's daily purge at 03:30 UTC ended a sign-in test's expired links in that window)."""
    import os

    import procrastinate
    from procrastinate.periodic import PeriodicRegistry

    import jobs

    connector = procrastinate.PsycopgConnector(conninfo=jobs.conninfo(os.environ["DATABASE_URL"]))
    scheduled, jobs.app.periodic_registry = jobs.app.periodic_registry, PeriodicRegistry()
    try:
        with jobs.app.replace_connector(connector):
            async with jobs.app.open_async():
                await jobs.app.run_worker_async(queues=list(queues) or None, wait=False,
                                                install_signal_handlers=False)
    finally:
        jobs.app.periodic_registry = scheduled


async def make_call_recording(actor: Actor, patient_id: int, audio: bytes = b"ID3 fake mp3 frames") -> int:
    """A consented, recorded call of the patient's, its audio already fetched from the provider."""
    from portal.tables import PhoneCall

    call = await PhoneCall.raw(
        "INSERT INTO phone_call (clinic, patient, caller, call_sid, status, recording_allowed) "
        "VALUES ({}, {}, '+31612345678', {}, 'completed', true) RETURNING id", actor.clinic_id, patient_id,
        f"CA{next(_serial):032x}")
    rows = await PhoneCall.raw(
        "INSERT INTO call_recording (call, recording_sid, media_url, duration_seconds, data, fetched_at) "
        "VALUES ({}, {}, 'https://api.twilio.com/x', 12, {}, now()) RETURNING id", call[0]["id"],
        f"RE{next(_serial):032x}", audio)
    return rows[0]["id"]
async def make_invoice(owner: Actor, patient_id: int) -> int:
    """A charge on the patient's account and the invoice issued for it."""
    from decimal import Decimal

    from portal.billing import accounts, invoices, ledger
    from portal.db import transaction

    account = await accounts.account_id_of(owner.clinic_id, patient_id)
    async with transaction():
        await ledger.append(owner, account, patient_id, "charge", Decimal("55.00"), code="EX01",
                            description="Comprehensive examination")
    return await invoices.issue(owner, patient_id)


async def make_breach(owner: Actor) -> int:
    """A breach in the owner's register, discovered an hour ago, of today's window."""
    from datetime import date, datetime, timedelta
    from zoneinfo import ZoneInfo

    from portal.privacy import breaches

    discovered = (datetime.now(ZoneInfo(owner.time_zone)) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    today = date.today().isoformat()
    return await breaches.record(owner, breaches.BreachForm(
        what="A lost USB stick", discovered_at=discovered, occurred_from=today, occurred_to=today,
        categories=("contact",)))


async def make_signed_form(actor: Actor, patient_id: int, allergies: str = "Latex") -> int:
    """A medical history form sent to the patient and signed with a typed name (portal/patient_forms/)."""
    from portal.patient_forms import filling
    from portal.settings import Settings
    from portal.tables import OutboxMessage

    await filling.send(actor, Settings.from_env(), patient_id, filling.SendForm(kind="medical_history"))
    mail = await OutboxMessage.select(OutboxMessage.text_body).where(
        (OutboxMessage.patient_id == patient_id) & OutboxMessage.idempotency_key.like("patient_form:%")).order_by(
        OutboxMessage.id, ascending=False).first()
    token = mail["text_body"].split("/form/")[1].split()[0]
    return await filling.submit(token, {"allergies": allergies, "smoking": "never"}, "Signed by the patient", "")


async def age_clinical_entries(years: int) -> None:
    """Every clinical entry `years` old (signed ones are append-only, so inside an erasure grant): retention counts
    from the latest of them (portal/privacy/retention.CLINICAL_ENTRIES), not only from the last visit."""
    from portal import db
    from portal.privacy import retention
    from portal.privacy.categories import allow_erasure

    async with db.transaction():
        await allow_erasure()
        for table, column in retention.CLINICAL_ENTRIES:
            await db.run_sql(f"UPDATE {table} SET {column} = now() - interval '{int(years)} years' "
                             f"WHERE {column} IS NOT NULL")


async def make_payer_claim(owner: Actor, dentist: Actor, patient_id: int, name: str = "Zilveren Fund",
                           member_number: str = "M-4711") -> dict[str, int]:
    """A payer reimbursing 80 %, the patient covered by it, a filling completed (105.00, the payer's share 84.00)
    and a claim drafted of the account's open share."""
    from datetime import date, timedelta

    from portal.billing import claims, coverage, payers
    from portal.charts import fee_schedule, treatment_plans
    from portal.tables import ProcedureCode

    if not await ProcedureCode.exists().where(ProcedureCode.clinic == owner.clinic_id):
        await fee_schedule.load_demo_schedule(owner)
    payer_id = await payers.add_payer(owner, payers.PayerForm(name=name, identifier="UZOVI 3311",
                                                              email="claims@fund.example", default_percent="80"))
    coverage_id = await coverage.add_coverage(owner, patient_id, coverage.CoverageForm(
        payer=str(payer_id), member_number=member_number, valid_from=(date.today() - timedelta(days=30)).isoformat()))
    code_id = [c["id"] for c in await fee_schedule.list_codes(owner) if c["code"] == "FI2"][0]
    plan_id = await treatment_plans.create_plan(dentist, patient_id, treatment_plans.PlanForm(title="Covered"))
    item_id = await treatment_plans.add_item(dentist, patient_id, plan_id, treatment_plans.ItemForm(
        procedure_code_id=str(code_id), tooth="36", s_m=True, s_o=True))
    await treatment_plans.accept(dentist, patient_id, plan_id, treatment_plans.AcceptanceForm(
        accepted_by="Anna", method="written"))
    await treatment_plans.complete_item(dentist, patient_id, plan_id, item_id)
    claim_id = await claims.draft(owner, claims.DraftForm(payer=str(payer_id)), patient_id)
    return {"payer_id": payer_id, "coverage_id": coverage_id, "claim_id": claim_id}
async def make_imported_records(owner: Actor, patient_id: int) -> dict[str, int]:
    """A previous clinic's signed form and invoice, with their PDFs, as an import keeps them (by id name)."""
    import json
    from datetime import datetime, timezone

    from portal.tables import ImportedRecord, PatientImport

    now = datetime.now(timezone.utc)
    [source] = await PatientImport.insert(PatientImport(
        clinic=owner.clinic_id, patient=patient_id, source_clinic="Old Dental", source_patient_id=7, generated_at=now,
        document_sha256=f"{patient_id:064d}", imported_by=None, imported_at=now))
    ids = {}
    for category, record, name in (
            ("forms", {"title": "Medical history", "submitted_at": now.isoformat(), "signer_name": "Signed",
                       "file": "form-1-medical_history.pdf"}, "imported_form_id"),
            ("invoices", {"number": "OLD-1", "issued_at": now.isoformat(), "due_on": now.date().isoformat(),
                          "total": "55.00", "currency": "EUR", "file": "OLD-1.pdf"}, "imported_invoice_id")):
        [row] = await ImportedRecord.insert(ImportedRecord(
            clinic=owner.clinic_id, patient=patient_id, patient_import=source["id"], category=category,
            source_ref=f"{category}/1", record=json.dumps(record), file_name=record["file"],
            data=b"%PDF-1.4 " + category.encode()))
        ids[name] = row["id"]
    return ids


def statements_sent(monkeypatch, wanted=lambda sql: True, *, as_prepared: bool = False) -> list[str]:
    """The SQL of every statement sent from now on that `wanted(sql)` accepts (a test's count of reads): with the
    values written in, or (`as_prepared`) as PostgreSQL receives it, with $n placeholders."""
    from piccolo.engine.postgres import PostgresEngine

    sent: list[str] = []
    original = PostgresEngine.run_querystring

    async def counted(self, querystring, in_pool=True):
        sql = querystring.compile_string(engine_type=self.engine_type)[0] if as_prepared else str(querystring)
        if wanted(sql):
            sent.append(sql)
        return await original(self, querystring, in_pool)

    monkeypatch.setattr(PostgresEngine, "run_querystring", counted)
    return sent
