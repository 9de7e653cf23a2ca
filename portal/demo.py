"""The demo clinic: four staff accounts and a few dozen patients, loaded once (idempotent)."""

import random
from datetime import date, datetime, timedelta, timezone

from portal import audit, auth, clinics
from portal.db import transaction
from portal.permissions import Role
from portal.tables import Appointment, Patient, Staff

DOMAIN = "demo.chairside.test"
PASSWORD = "chairside-demo"
ACCOUNTS = [("owner", "Olivia Owner", Role.OWNER, "", ""),
            ("dentist", "Dr. Daan Dekker", Role.DENTIST, "BIG-register", "19054321001"),
            ("hygienist", "Hanna Hendriks", Role.HYGIENIST, "Kwaliteitsregister Paramedici", "KP-33817"),
            ("reception", "Ruben Reyes", Role.RECEPTIONIST, "", "")]
GIVEN = ["Emma", "Liam", "Sophie", "Noah", "Julia", "Lucas", "Mila", "Daan", "Tess", "Sem", "Saar", "Finn",
         "Nora", "Levi", "Yara", "Milan", "Lotte", "Jesse", "Evi", "Thomas", "Anna", "Bram", "Zoë", "Mohammed"]
FAMILY = ["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "Mulder",
          "de Boer", "Bos", "Vos", "Peters", "Hendriks", "Dekker", "Brouwer", "El Amrani", "Yilmaz"]


async def load_demo() -> list[tuple[str, str]]:
    """Create the demo clinic unless it exists (all or nothing); return the (email, role) of every account."""
    owner_email = f"owner@{DOMAIN}"
    if not await Staff.exists().where(Staff.email == owner_email):
        async with transaction():
            owner = await clinics.create_clinic_with_owner(
                clinics.NewClinic(name="Demo Dental Amsterdam", country="NL", time_zone="Europe/Amsterdam",
                                  contact_email=f"desk@{DOMAIN}", privacy_email=f"privacy@{DOMAIN}",
                                  address="Prinsengracht 100, 1015 EA Amsterdam"),
                clinics.NewOwner(name=ACCOUNTS[0][1], email=owner_email, password=PASSWORD))
            await _fill(owner)
            await _calendar(owner)
            await _charts(owner)
            await _ledger(owner)
            await _payers(owner)
    return [(f"{local}@{DOMAIN}", role.value) for local, _, role, _, _ in ACCOUNTS]


async def _fill(owner) -> None:
    rng = random.Random(20261124)
    now = datetime.now(timezone.utc)
    password_hash = auth.hash_password(PASSWORD)
    async with transaction():
        for local, name, role, body, number in ACCOUNTS[1:]:
            await Staff.insert(Staff(clinic=owner.clinic_id, name=name, email=f"{local}@{DOMAIN}",
                                     password_hash=password_hash, role=role.value, registration_body=body,
                                     registration_number=number, active=True, created_at=now))
        rows = [_patient(owner.clinic_id, "Pat", "Demo", date(1988, 5, 17), f"patient@{DOMAIN}", "+31612345678",
                         now - timedelta(days=150))]
        for i in range(40):
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            born = date(rng.randint(1940, 2020), rng.randint(1, 12), rng.randint(1, 28))
            mobile = f"+316{rng.randint(10_000_000, 99_999_999)}"
            email = f"{given.lower()}.{family.lower().replace(' ', '')}{i}@example.org"
            rows.append(_patient(owner.clinic_id, given, family, born, email, mobile,
                                 now - timedelta(days=rng.randint(0, 180))))
        await Patient.insert(*rows)
        await audit.record(owner, "demo.loaded", detail={"patients": len(rows)})
        await _reminder_consents(owner)


TYPES = [("Check-up", 30, "#2f7d6d", "dentist"), ("Filling", 45, "#1a6fd1", "dentist"),
         ("Cleaning", 45, "#8e44ad", "hygienist"), ("Root canal", 90, "#c0392b", "dentist"),
         ("Emergency", 20, "#d35400", "dentist,hygienist")]


async def _calendar(owner) -> None:
    """Three chairs, weekday hours 08:00-17:30, and about a week of appointments around today."""
    from datetime import time

    from portal import clock
    from portal.calendar import practice_setup
    from portal.tables import AppointmentType, Chair

    for weekday in range(5):
        await practice_setup.set_opening_hours(owner, weekday, [(time(8), time(17, 30))])
    await practice_setup.set_opening_hours(owner, 5, [(time(9), time(13))])
    for name in ("Chair 1", "Chair 2", "Hygiene room"):
        await practice_setup.add_chair(owner, name)
    for name, minutes, colour, roles in TYPES:
        await practice_setup.add_type(owner, practice_setup.TypeForm(name=name, minutes=str(minutes), colour=colour,
                                                                     provider_roles=roles))
    chairs = [r["id"] for r in await Chair.select(Chair.id).where(Chair.clinic == owner.clinic_id).order_by(Chair.id)]
    types = {r["name"]: r for r in await AppointmentType.select().where(AppointmentType.clinic == owner.clinic_id)}
    staff = {r["role"]: r["id"]
             for r in await Staff.select(Staff.id, Staff.role).where(Staff.clinic == owner.clinic_id)}
    patients = [r["id"] for r in await Patient.select(Patient.id).where(Patient.clinic == owner.clinic_id)]
    rng = random.Random(7)
    today = clock.today(owner.time_zone)
    rows = []
    for offset in range(-3, 8):
        day = today + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for provider_role, chair, names in (("dentist", chairs[0], ["Check-up", "Filling", "Root canal", "Emergency"]),
                                            ("hygienist", chairs[2], ["Cleaning"])):
            at = datetime.combine(day, time(8, 30))
            while at.time() < time(16, 30):
                kind = types[rng.choice(names)]
                if rng.random() < 0.75:
                    starts = clock.to_utc(day, at.time(), owner.time_zone)
                    status = "completed" if offset < 0 else "booked"
                    booked_at = min(starts, datetime.now(timezone.utc) - timedelta(days=7))
                    rows.append(Appointment(clinic=owner.clinic_id, patient=rng.choice(patients),
                                            provider=staff[provider_role], chair=chair, appointment_type=kind["id"],
                                            starts_at=starts, ends_at=starts + timedelta(minutes=kind["minutes"]),
                                            status=status, created_by=owner.id, created_at=booked_at,
                                            updated_at=booked_at))
                at += timedelta(minutes=kind["minutes"] + rng.choice([0, 0, 15, 30]))
    await Appointment.insert(*rows)


async def _reminder_consents(owner) -> None:
    """Every demo patient agreed to email reminders, so `make run DEMO=1` shows reminders on /jobs."""
    from portal import consents

    for row in await Patient.select(Patient.id).where(Patient.clinic == owner.clinic_id):
        await consents.record_change(owner, owner.clinic_id, row["id"], consents.ConsentChange(
            consents.ConsentKind.REMINDER_EMAIL, True, "front_desk"))


def _patient(clinic_id, given, family, born, email, mobile, created) -> Patient:
    return Patient(clinic=clinic_id, given_name=given, family_name=family, date_of_birth=born, email=email,
                   phone_mobile=mobile, national_id="", preferred_language="nl", created_at=created,
                   updated_at=created)


async def _charts(owner) -> None:
    """The starter fee schedule and a charted first patient (history with alerts, findings, a plan, a note)."""
    from portal.charts import clinical_notes, fee_schedule, medical_history, odontogram, treatment_plans
    from portal.permissions import Actor, Role

    await fee_schedule.load_demo_schedule(owner)
    dentist_row = await Staff.select(Staff.id, Staff.name).where(
        (Staff.clinic == owner.clinic_id) & (Staff.role == Role.DENTIST.value)).first()
    dentist = Actor(kind="staff", id=dentist_row["id"], clinic_id=owner.clinic_id, name=dentist_row["name"],
                    role=Role.DENTIST, clinic_name=owner.clinic_name, time_zone=owner.time_zone)
    patient_id = (await Patient.select(Patient.id).where(Patient.clinic == owner.clinic_id)
                  .order_by(Patient.id).first())["id"]
    await medical_history.save_history(dentist, patient_id, medical_history.HistoryForm(
        conditions="Type 2 diabetes", medications="Metformin 500 mg twice daily; apixaban 5 mg",
        allergies="Penicillin (hives)", smoking="former"))
    for tooth, form in ((16, odontogram.FindingForm(kind="filling", material="amalgam", s_o=True, s_d=True)),
                        (26, odontogram.FindingForm(kind="crown", material="ceramic")),
                        (46, odontogram.FindingForm(kind="root_canal")), (46, odontogram.FindingForm(kind="crown")),
                        (36, odontogram.FindingForm(kind="caries", s_m=True, s_o=True)),
                        (18, odontogram.FindingForm(kind="missing")), (48, odontogram.FindingForm(kind="missing"))):
        await odontogram.record_finding(dentist, patient_id, tooth, form)
    codes = {c["code"]: c["id"] for c in await fee_schedule.list_codes(owner)}
    plan_id = await treatment_plans.create_plan(dentist, patient_id, treatment_plans.PlanForm(title="Restore 36"))
    await treatment_plans.add_item(dentist, patient_id, plan_id, treatment_plans.ItemForm(
        procedure_code_id=str(codes["FI2"]), tooth="36", s_m=True, s_o=True))
    await treatment_plans.add_item(dentist, patient_id, plan_id, treatment_plans.ItemForm(
        procedure_code_id=str(codes["HY01"]), phase="2"))
    await clinical_notes.write_note(dentist, patient_id, clinical_notes.NoteForm(
        template="exam", body="Periodic exam. Caries 36 MO on bitewing. Plan: composite restoration."))


async def _payers(owner) -> None:
    """A supplementary insurer paying 75 % of most care and a fixed 250.00 towards a crown, five of the unpaid
    patients covered by it, their shares recorded, and one claim of all of them sent (portal/billing/claims)."""
    from portal.billing import claims, coverage, payers
    from portal.tables import LedgerEntry, ProcedureCode

    payer_id = await payers.add_payer(owner, payers.PayerForm(
        name="Zilveren Kruis Aanvullend", identifier="UZOVI 3311", address="Postbus 444, 2700 AK Zoetermeer",
        email=f"declaraties@{DOMAIN}", default_percent="75"))
    crown = await ProcedureCode.select(ProcedureCode.id).where(
        (ProcedureCode.clinic == owner.clinic_id) & (ProcedureCode.code == "CR1")).first()
    if crown:
        await payers.save_payer(owner, payer_id, payers.PayerForm(
            name="Zilveren Kruis Aanvullend", identifier="UZOVI 3311", address="Postbus 444, 2700 AK Zoetermeer",
            email=f"declaraties@{DOMAIN}", default_percent="75"), {crown["id"]: "250.00"})
    patient_ids = [p["id"] for p in await Patient.select(Patient.id).where(Patient.clinic == owner.clinic_id)
                   .order_by(Patient.id)][1:26]
    start = (datetime.now(timezone.utc) - timedelta(days=365)).date()
    codes = {c["code"]: c["id"] for c in await ProcedureCode.select(ProcedureCode.id, ProcedureCode.code).where(
        ProcedureCode.clinic == owner.clinic_id)}
    for n, patient_id in enumerate(patient_ids):
        if n % 5 != 4:  # the unpaid ones (see _ledger)
            continue
        await coverage.add_coverage(owner, patient_id, coverage.CoverageForm(
            payer=str(payer_id), member_number=f"ZK{190000000 + patient_id}", valid_from=start.isoformat()))
        for charge in await LedgerEntry.select().where((LedgerEntry.patient == patient_id)
                                                       & (LedgerEntry.kind == "charge")):
            async with transaction():
                await coverage.record_expected(owner, charge["account"], patient_id, charge["id"], charge["amount"],
                                               codes.get(charge["code"]), charge["at"].date())
    claim_id = await claims.draft(owner, claims.DraftForm(payer=str(payer_id)))
    await claims.mark_sent(owner, claim_id)


async def _ledger(owner) -> None:
    """Six months of money: charges by the dentist and hygienist, invoices, card, cash and transfer payments, a few
    balances 30 to 90+ days old, one overpayment left as credit, and a family account (portal/billing)."""
    from decimal import Decimal

    from portal.billing import accounts, invoices, ledger, payments
    from portal.permissions import Actor, Role
    from portal.tables import Clinic, ProcedureCode

    rng = random.Random(20261201)
    now = datetime.now(timezone.utc)
    await Clinic.update({Clinic.tax_id: "NL001234567B01"}).where(Clinic.id == owner.clinic_id)
    codes = await ProcedureCode.select().where(ProcedureCode.clinic == owner.clinic_id)
    staff = await Staff.select(Staff.id, Staff.name, Staff.role).where(
        (Staff.clinic == owner.clinic_id) & Staff.role.is_in([Role.DENTIST.value, Role.HYGIENIST.value]))
    providers = [Actor(kind="staff", id=s["id"], clinic_id=owner.clinic_id, name=s["name"], role=Role(s["role"]),
                       clinic_name=owner.clinic_name, time_zone=owner.time_zone) for s in staff]
    patient_ids = [p["id"] for p in await Patient.select(Patient.id).where(Patient.clinic == owner.clinic_id)
                   .order_by(Patient.id)][1:26]
    await accounts.share_account(owner, patient_ids[1], patient_ids[0])  # a parent pays for a child
    for n, patient_id in enumerate(patient_ids):
        account = await accounts.account_id_of(owner.clinic_id, patient_id)
        for _visit in range(rng.randint(1, 4)):
            code = rng.choice(codes)
            provider = rng.choice(providers)
            at = now - timedelta(days=rng.randint(3, 180), hours=rng.randint(0, 8))
            async with transaction():
                await ledger.append(provider, account, patient_id, "charge", code["fee"], code=code["code"],
                                    description=code["description"], vat_rate=code["vat_rate"],
                                    provider=provider.id, at=at)
        if n % 7 == 6:
            continue  # not yet invoiced
        await invoices.issue(owner, patient_id)
        owed = sum((e["amount"] for e in await ledger.entries(account)), Decimal("0.00"))
        share = {0: Decimal("1"), 1: Decimal("1"), 2: Decimal("0.5"), 3: Decimal("1.2")}.get(n % 5, Decimal("0"))
        amount = (owed * share).quantize(Decimal("0.01"))
        if amount > 0:
            await payments.take_payment(owner, patient_id, payments.PaymentForm(
                amount=str(amount), method=rng.choice(list(ledger.METHODS)[:3]),
                reference=f"Demo {n + 1:03d}"))
