"""The breach register (GDPR Art. 33/34): the owner records an incident, the 72-hour clock to tell the
supervisory authority runs from its discovery, the affected patients are chosen by a query over the window
(everyone whose record was read or written in it, from the audit trail), and when the risk is high they are told
in their language through the outbox. Every step is audited; the register exports as CSV.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from portal import audit, display, i18n
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, parse_date, required, too_long
from portal.i18n import _
from portal.messaging import outbox
from portal.permissions import Actor, Permission, require
from portal.privacy.registry import CATEGORIES
from portal.tables import Breach, BreachPatient, Clinic, Patient

AUTHORITY_HOURS = 72


@dataclass(frozen=True)
class BreachForm:
    what: str = ""
    discovered_at: str = ""  # <input type=datetime-local>, in the clinic's zone
    occurred_from: str = ""  # dates, in the clinic's zone
    occurred_to: str = ""
    categories: tuple[str, ...] = ()
    consequences: str = ""
    measures: str = ""
    high_risk: bool = False


@dataclass(frozen=True)
class AuthorityForm:
    reference: str = ""


def _local(value: str, zone: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))).astimezone(timezone.utc)


def _day(day: date, zone: str, end: bool = False) -> datetime:
    return datetime.combine(day + timedelta(days=1) if end else day, time.min, ZoneInfo(zone)).astimezone(timezone.utc)


def with_clock(row: dict, now: datetime) -> dict:
    row["authority_due"] = row["discovered_at"] + timedelta(hours=AUTHORITY_HOURS)
    row["hours_left"] = int((row["authority_due"] - now).total_seconds() // 3600)
    row["clock_running"] = row["authority_notified_at"] is None
    row["late"] = row["clock_running"] and row["authority_due"] < now
    row["category_titles"] = [CATEGORIES[c].title if c in CATEGORIES else c for c in row["categories"]]
    return row


async def record(actor: Actor, form: BreachForm) -> int:
    require(actor, Permission.MANAGE_CLINIC)
    discovered = _local(form.discovered_at, actor.time_zone)
    start, end = parse_date(form.occurred_from), parse_date(form.occurred_to)
    now = datetime.now(timezone.utc)
    errors = collect(
        what=required(form.what, _("What happened")) or too_long(form.what, 5000),
        discovered_at=None if discovered and discovered <= now + timedelta(minutes=5)
        else _("Enter when it was discovered (not in the future)."),
        occurred_from=None if start else _("Enter the first day it may have happened."),
        occurred_to=None if end and (not start or end >= start) else _("Enter the last day, on or after the first."),
        categories=None if form.categories and set(form.categories) <= set(CATEGORIES)
        else _("Choose the kinds of data concerned."),
        consequences=too_long(form.consequences, 5000), measures=too_long(form.measures, 5000))
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        row = Breach(clinic=actor.clinic_id, what=form.what.strip(), discovered_at=discovered,
                     occurred_from=_day(start, actor.time_zone), occurred_to=_day(end, actor.time_zone, end=True),
                     categories=list(form.categories), consequences=form.consequences.strip(),
                     measures=form.measures.strip(), high_risk=form.high_risk, recorded_by=actor.id, created_at=now)
        await row.save()
        found = await _affected(actor.clinic_id, row.occurred_from, row.occurred_to)
        if found:
            await BreachPatient.insert(*[BreachPatient(breach=row.id, patient_id=p) for p in found])
        await audit.record(actor, "privacy.breach_recorded", object_type="breach", object_id=row.id,
                           detail={"categories": list(form.categories), "patients": len(found),
                                   "high_risk": form.high_risk})
    return row.id


async def _affected(clinic_id: int, start: datetime, end: datetime) -> list[int]:
    """Patients whose record was read or written in the window (the audit trail says so), not isolated."""
    rows = await Patient.raw(
        "SELECT DISTINCT a.patient_id FROM audit_entry a JOIN patient p ON p.id = a.patient_id "
        "WHERE a.clinic_id = {} AND a.at >= {} AND a.at < {} AND p.isolated_at IS NULL ORDER BY 1",
        clinic_id, start, end)
    return [r["patient_id"] for r in rows]


async def register(actor: Actor) -> list[dict]:
    require(actor, Permission.MANAGE_CLINIC)
    rows = await Breach.raw(
        "SELECT b.*, (SELECT count(*) FROM breach_patient bp WHERE bp.breach = b.id) AS patients FROM breach b "
        "WHERE b.clinic = {} ORDER BY b.discovered_at DESC", actor.clinic_id)
    now = datetime.now(timezone.utc)
    return [with_clock(_loaded(r), now) for r in rows]


def _loaded(row: dict) -> dict:
    import json

    if isinstance(row.get("categories"), str):
        row["categories"] = json.loads(row["categories"])
    return row


async def open_clocks(actor: Actor) -> list[dict]:
    """Breaches whose authority has not been told yet, soonest due first (the owner's dashboard banner)."""
    rows = await Breach.select(Breach.id, Breach.discovered_at, Breach.authority_notified_at, Breach.categories).where(
        (Breach.clinic == actor.clinic_id) & Breach.authority_notified_at.is_null()).order_by(
        Breach.discovered_at).output(load_json=True)
    now = datetime.now(timezone.utc)
    return [with_clock(r, now) for r in rows]


async def get(actor: Actor, breach_id: int) -> dict:
    require(actor, Permission.MANAGE_CLINIC)
    row = await Breach.select().where((Breach.id == breach_id) & (Breach.clinic == actor.clinic_id)).output(
        load_json=True).first()
    if row is None:
        raise NotFound()
    row["patients"] = await BreachPatient.count().where(BreachPatient.breach == breach_id)
    async with transaction():
        await audit.record(actor, "privacy.breach_viewed", object_type="breach", object_id=breach_id)
    return with_clock(row, datetime.now(timezone.utc))


async def authority_told(actor: Actor, breach_id: int, form: AuthorityForm) -> None:
    row = await get(actor, breach_id)
    errors = collect(reference=too_long(form.reference, 200))
    if not row["clock_running"]:
        errors["reference"] = _("The authority has already been told.")
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        await Breach.update({Breach.authority_notified_at: datetime.now(timezone.utc),
                             Breach.authority_reference: form.reference.strip()}).where(Breach.id == breach_id)
        await audit.record(actor, "privacy.breach_authority_told", object_type="breach", object_id=breach_id,
                           detail={"reference": form.reference.strip(), "late": row["late"]})


async def tell_patients(actor: Actor, breach_id: int) -> int:
    """Art. 34: every affected patient with an address is mailed in their language, once; returns how many."""
    row = await get(actor, breach_id)
    if not row["high_risk"]:
        raise ValidationFailed({"notify": _("Only a breach likely to result in a high risk is told to patients.")})
    if row["patients_notified_at"] is not None:
        raise ValidationFailed({"notify": _("The patients have already been told.")})
    clinic = await Clinic.select(Clinic.name, Clinic.privacy_email, Clinic.locale, Clinic.country).where(
        Clinic.id == actor.clinic_id).first()
    patients = await Patient.raw(
        "SELECT p.id, p.email, p.preferred_language FROM breach_patient bp JOIN patient p ON p.id = bp.patient_id "
        "WHERE bp.breach = {} AND p.email <> '' AND p.isolated_at IS NULL", breach_id)
    async with transaction():
        for p in patients:
            with i18n.using(i18n.choose(p["preferred_language"], clinic["locale"]), clinic["country"]):
                subject = _("%(clinic)s: a personal data breach that concerns you", clinic=clinic["name"])
                text = _("We found a breach of the security of your personal data held by %(clinic)s.\n\n"
                         "What happened: %(what)s\n\nLikely consequences: %(consequences)s\n\n"
                         "What we have done and advise: %(measures)s\n\nQuestions: %(contact)s",
                         clinic=clinic["name"], what=row["what"], consequences=row["consequences"] or "—",
                         measures=row["measures"] or "—", contact=clinic["privacy_email"])
            await outbox.enqueue(outbox.Email(to=p["email"], subject=subject, text=text),
                                 key=f"breach:{breach_id}:{p['id']}", clinic_id=actor.clinic_id, patient_id=p["id"])
        await Breach.update({Breach.patients_notified_at: datetime.now(timezone.utc)}).where(Breach.id == breach_id)
        await audit.record(actor, "privacy.breach_patients_told", object_type="breach", object_id=breach_id,
                           detail={"mailed": len(patients)})
    return len(patients)


async def export_csv(actor: Actor) -> str:
    """The register for the authority or an auditor (no patient identifiers: counts only)."""
    rows = await register(actor)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "discovered_at", "occurred_from", "occurred_to", "what", "categories", "patients",
                     "consequences", "measures", "high_risk", "authority_notified_at", "authority_reference",
                     "patients_notified_at"])
    for r in rows:
        writer.writerow([r["id"], r["discovered_at"].isoformat(), r["occurred_from"].isoformat(),
                         r["occurred_to"].isoformat(), display.csv_cell(r["what"]), " ".join(r["categories"]),
                         r["patients"],
                         display.csv_cell(r["consequences"]), display.csv_cell(r["measures"]), r["high_risk"],
                         r["authority_notified_at"].isoformat() if r["authority_notified_at"] else "",
                         display.csv_cell(r["authority_reference"]),
                         r["patients_notified_at"].isoformat() if r["patients_notified_at"] else ""])
    async with transaction():
        await audit.record(actor, "privacy.breach_register_exported", object_type="breach")
    return out.getvalue()
