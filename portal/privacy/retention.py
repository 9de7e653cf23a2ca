"""Retention: rules as data per country and class, confirmed by the owner; erasable dates; the daily run.

Defaults ship only where a source can be cited. With no confirmed rule for a class nothing in it is erased
automatically. `run_retention()` is a plain async function for the jobs worker to schedule daily.
"""

from dataclasses import dataclass
from datetime import date, datetime, timezone

from portal import audit, display
from portal.calendar import statuses
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.forms import collect, required, too_long, whole_number
from portal.i18n import gettext, lazy_gettext
from portal.permissions import Actor, Permission, require
from portal.privacy import traces
from portal.privacy.categories import allow_erasure
from portal.privacy.registry import all_categories
from portal.tables import Clinic, Patient, RetentionRule


@dataclass(frozen=True)
class RuleDefault:
    retention_class: str
    years: int
    basis: str
    source: str


DEFAULT_RULES = {
    "DE": [RuleDefault("clinical", 10, "end_of_treatment",
                       "BGB §630f Abs. 3: keep the patient record for ten years after the end of treatment")],
    "NL": [RuleDefault("clinical", 20, "end_of_treatment",
                       "WGBO, BW art. 7:454 lid 3: keep the medical file for twenty years from its making "
                       "(counted here from the end of treatment)"),
           RuleDefault("financial", 7, "last_ledger_entry",
                       "AWR art. 52 lid 4 and Wet OB art. 35a: keep books, invoices and payment records for seven "
                       "years (counted here from the account's newest entry)")],
}
CLASSES = {"clinical": lazy_gettext("Clinical records (treatment record, kept under a legal duty)"),
           "accountability": lazy_gettext("Privacy requests and the access log (proof of compliance)"),
           "financial": lazy_gettext("Invoices and payments (kept under tax law)")}
BASES = {"end_of_treatment": lazy_gettext("after the end of treatment (the last visit)"),
         "last_entry": lazy_gettext("after the newest entry"),
         "last_ledger_entry": lazy_gettext("after the newest entry on the patient's account"),
         "on_request": lazy_gettext("erasable on request")}
display.register_labels("retention_basis", BASES)


@dataclass(frozen=True)
class RuleForm:
    retention_class: str = ""
    years: str = ""
    basis: str = "end_of_treatment"
    source: str = ""


async def confirmed_rules(clinic_id: int) -> dict[str, dict]:
    rows = await RetentionRule.select().where(RetentionRule.clinic == clinic_id)
    return {r["retention_class"]: r for r in rows}


async def rules_page(actor: Actor) -> dict:
    require(actor, Permission.MANAGE_CLINIC)
    return {"confirmed": await confirmed_rules(actor.clinic_id), "defaults": DEFAULT_RULES.get(actor.country, []),
            "classes": CLASSES, "bases": {k: v for k, v in BASES.items() if k != "on_request"},
            "country": actor.country}


async def confirm_rule(actor: Actor, form: RuleForm) -> None:
    """The owner confirms (or sets) the rule for one class in their country, with its source."""
    require(actor, Permission.MANAGE_CLINIC)
    years = whole_number(form.years)
    errors = collect(retention_class=None if form.retention_class in CLASSES else gettext("Choose a class."),
                     years=None if years and 1 <= years <= 100
                     else gettext("Enter a number of years between 1 and 100."),
                     basis=None if form.basis in BASES and form.basis != "on_request" else gettext("Choose a basis."),
                     source=required(form.source, gettext("The legal source")) or too_long(form.source, 300))
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        await RetentionRule.raw(
            "INSERT INTO retention_rule (clinic, retention_class, years, basis, source, confirmed_by, confirmed_at) "
            "VALUES ({}, {}, {}, {}, {}, {}, now()) ON CONFLICT (clinic, retention_class) DO UPDATE SET "
            "years = excluded.years, basis = excluded.basis, source = excluded.source, "
            "confirmed_by = excluded.confirmed_by, confirmed_at = now()",
            actor.clinic_id, form.retention_class, years, form.basis, form.source.strip(), actor.id)
        await audit.record(actor, "retention.rule_confirmed", object_type="retention_rule",
                           object_id=form.retention_class, detail={"years": years, "source": form.source.strip()})


# Where a clinical entry's moment is kept: (table, column), each with a `patient` column.
CLINICAL_ENTRIES = (("clinical_note", "signed_at"), ("patient_image", "uploaded_at"), ("tooth_finding", "recorded_at"),
                    ("medical_history", "recorded_at"), ("medical_alert", "created_at"),
                    ("treatment_plan", "updated_at"), ("perio_exam", "created_at"), ("lab_case", "created_at"),
                    ("prescription", "signed_at"), ("referral", "created_at"), ("patient_form", "submitted_at"))


async def basis_date(basis: str, patient_id: int) -> date | None:
    """The day a category's retention counts from (None: erasable on request at any time)."""
    if basis == "end_of_treatment":
        # The last visit or the latest clinical entry, whichever is later (an X-ray taken today is never erasable
        # sooner than its rule says, visit or not); the record's creation only when it holds nothing newer.
        entries = ", ".join(f"(SELECT max({column}) FROM {table} WHERE patient = p.id)"
                            for table, column in CLINICAL_ENTRIES)
        rows = await Patient.raw(
            "SELECT greatest((SELECT max(starts_at) FROM appointment WHERE patient = p.id AND starts_at <= now() "
            f"AND status IN {statuses.sql_list(statuses.ACTIVE)}), {entries}, p.created_at) AS d "
            "FROM patient p WHERE p.id = {}", patient_id)
    elif basis == "last_entry":
        rows = await Patient.raw(
            "SELECT greatest((SELECT max(received_at) FROM privacy_request WHERE patient_id = {}), "
            "(SELECT max(at) FROM audit_entry WHERE patient_id = {})) AS d", patient_id, patient_id)
    elif basis == "last_ledger_entry":
        rows = await Patient.raw(
            "SELECT max(at) AS d FROM ledger_entry WHERE patient = {} OR account IN "
            "(SELECT id FROM billing_account WHERE guarantor = {})", patient_id, patient_id)
    else:
        return None
    value = rows[0]["d"] if rows else None
    return value.date() if value else None


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


async def erasable_dates(clinic_id: int, patient_id: int, rules: dict | None = None) -> dict[str, dict]:
    """For each category: the day it becomes erasable and how that was worked out, in words."""
    rules = rules if rules is not None else await confirmed_rules(clinic_id)
    bases: dict[str, date | None] = {}
    answer = {}
    for category in all_categories():
        if category.retention == "administrative":
            answer[category.name] = {"on": None, "text": gettext("Erasable at any time, on request")}
            continue
        rule = rules.get(category.retention)
        if rule is None:
            answer[category.name] = {"on": None, "text": gettext(
                "Kept: the clinic has not yet confirmed a retention rule")}
            continue
        basis = rule["basis"]
        if basis not in bases:
            bases[basis] = await basis_date(basis, patient_id)
        start = bases[basis] or date.today()
        on = _add_years(start, rule["years"])
        answer[category.name] = {"on": on, "text": gettext(
            "%(day)s (%(years)s years %(basis)s; %(source)s)", day=on.isoformat(), years=rule["years"],
            basis=BASES[basis], source=rule["source"])}
    return answer


def _system(clinic_id: int) -> Actor:
    return Actor(kind="system", id=0, clinic_id=clinic_id, name="Retention engine")


async def run_retention(today: date | None = None) -> dict[str, int]:
    """Erase every category of every patient whose date has come; one audit row per patient says what went."""
    today = today or date.today()
    totals = {"patients": 0, "categories": 0}
    clinics = await RetentionRule.select(RetentionRule.clinic).distinct()
    for clinic_row in clinics:
        clinic_id = clinic_row["clinic"]
        rules = await confirmed_rules(clinic_id)
        shortest = min(r["years"] for r in rules.values())
        horizon = datetime.combine(_add_years(today, -shortest), datetime.min.time(), timezone.utc)
        candidates = await Patient.select(Patient.id).where((Patient.clinic == clinic_id)
                                                            & (Patient.created_at <= horizon))
        for candidate in candidates:
            erased = await _erase_due(clinic_id, candidate["id"], rules, today)
            if erased:
                totals["patients"] += 1
                totals["categories"] += len(erased)
        if "accountability" in rules:
            totals["categories"] += await _erase_orphaned_accountability(clinic_id, rules["accountability"], today)
    return totals


async def _erase_orphaned_accountability(clinic_id: int, rule: dict, today: date) -> int:
    """Requests and access-log rows outlive an erased patient row; they go when their own rule says so."""
    horizon = datetime.combine(_add_years(today, -rule["years"]), datetime.min.time(), timezone.utc)
    async with transaction():
        await allow_erasure()
        requests = await Patient.raw(
            "DELETE FROM privacy_request r WHERE r.clinic = {} AND r.received_at < {} AND r.patient_id IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM patient p WHERE p.id = r.patient_id) RETURNING r.id", clinic_id, horizon)
        entries = await Patient.raw(
            "DELETE FROM audit_entry a WHERE a.clinic_id = {} AND a.at < {} AND a.patient_id IS NOT NULL "
            "AND a.action <> 'retention.erased' AND NOT EXISTS (SELECT 1 FROM patient p WHERE p.id = a.patient_id) "
            "RETURNING a.id", clinic_id, horizon)
        if requests or entries:
            await audit.record(_system(clinic_id), "retention.erased_orphans", object_type="clinic",
                               object_id=clinic_id, detail={"requests": len(requests), "access_log": len(entries),
                                                            "source": rule["source"]})
    return int(bool(requests)) + int(bool(entries))


async def _erase_due(clinic_id: int, patient_id: int, rules: dict, today: date) -> list[str]:
    dates = await erasable_dates(clinic_id, patient_id, rules)
    due = {name for name, d in dates.items() if d["on"] is not None and d["on"] <= today}
    categories = all_categories()
    if "identity" in due:  # the record itself goes: so does everything erasable on request
        due |= {c.name for c in categories if c.retention == "administrative"}
    if not due:
        return []
    erased = []
    async with transaction():
        await Patient.raw("SELECT id FROM patient WHERE id = {} FOR UPDATE", patient_id)
        await allow_erasure()
        found = await traces.addresses_of(patient_id) if "contact" in due else None
        for category in categories:
            if category.name in due:
                await category.erase(patient_id)
                erased.append(category.name)
        if found:
            await traces.forget(found)
        await audit.record(_system(clinic_id), "retention.erased", patient_id=patient_id, object_type="patient",
                           object_id=patient_id, detail={"categories": erased,
                                                         "rules": {k: r["source"] for k, r in rules.items()}})
    return erased


async def clinic_country(clinic_id: int) -> str:
    row = await Clinic.select(Clinic.country).where(Clinic.id == clinic_id).first()
    return row["country"] if row else ""
