"""Patients' recalls: due dates moved forward by completed procedures, the front desk's list and contact log."""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from portal import audit, clock, display
from portal.calendar import statuses
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import parse_date, too_long, whole_number
from portal.i18n import _, lazy_gettext
from portal.patients import age_on, ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.recall import recall_types
from portal.tables import Patient, PatientRecall, RecallContact, RecallType

CONTACT_KINDS = {"called": lazy_gettext("Called"), "no_answer": lazy_gettext("No answer"),
                 "mailed": lazy_gettext("Mailed"), "texted": lazy_gettext("Texted"),
                 "declined": lazy_gettext("Declined"), "reminded": lazy_gettext("Reminder sent")}
display.register_labels("recall_contact", CONTACT_KINDS)
STAFF_CONTACT_KINDS = tuple(k for k in CONTACT_KINDS if k != "reminded")
VIEWS = {"due": lazy_gettext("Due this month"), "overdue": lazy_gettext("Overdue"),
         "scheduled": lazy_gettext("Scheduled"), "all": lazy_gettext("All")}
display.register_labels("recall_view", VIEWS)
CHANNELS = {"": lazy_gettext("Any channel"), "reminder_email": lazy_gettext("Email consent"),
            "reminder_sms": lazy_gettext("SMS consent"), "reminder_whatsapp": lazy_gettext("WhatsApp consent")}
LIST_LIMIT = 500


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter: 31 Aug + 6 = 28/29 Feb)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


async def procedure_completed(actor: Actor, patient_id: int, code: str, done_on: date) -> list[int]:
    """Move the patient's recalls reset by `code` forward from `done_on` (called in the completing transaction).

    The patient's own recalls that list the code move on; a patient with none of them gets the first matching
    type for their age group (child types under 18), so a first check-up starts the six-monthly cycle.
    """
    await recall_types.ensure_defaults(actor.clinic_id)
    matching = [t for t in await RecallType.select().where(
        (RecallType.clinic == actor.clinic_id) & (RecallType.active == True)).order_by(RecallType.id)  # noqa: E712
        if code.upper() in recall_types.codes(t["fee_codes"])]
    if not matching:
        return []
    own = {r["recall_type"]: r for r in await PatientRecall.select().where(
        (PatientRecall.patient == patient_id) & (PatientRecall.clinic == actor.clinic_id)
        & PatientRecall.recall_type.is_in([t["id"] for t in matching]))}
    if own:
        matching = [t for t in matching if t["id"] in own]
    else:
        born = (await Patient.select(Patient.date_of_birth).where(Patient.id == patient_id).first())["date_of_birth"]
        child = age_on(born, done_on) < 18
        fitting = [t for t in matching if t["for_children"] == child] or matching
        matching = fitting[:1]
    provider = actor.id if actor.is_staff and actor.role in ("dentist", "hygienist") else None
    now = datetime.now(timezone.utc)
    moved = []
    for kind in matching:
        due = add_months(done_on, kind["months"])
        if kind["id"] in own:
            await PatientRecall.update({PatientRecall.due_on: due, PatientRecall.last_done_on: done_on,
                                        PatientRecall.provider: provider or own[kind["id"]]["provider"],
                                        PatientRecall.updated_at: now}).where(
                PatientRecall.id == own[kind["id"]]["id"])
        else:
            await PatientRecall.insert(PatientRecall(clinic=actor.clinic_id, patient=patient_id,
                                                     recall_type=kind["id"], due_on=due, last_done_on=done_on,
                                                     provider=provider, updated_at=now))
        moved.append(kind["id"])
        await audit.record(actor, "recall.moved", patient_id=patient_id, object_type="recall_type",
                           object_id=kind["id"], detail={"due_on": due.isoformat(), "code": code})
    return moved


@dataclass(frozen=True)
class RecallForm:
    recall_type_id: str = ""
    due_on: str = ""


async def set_recall(actor: Actor, patient_id: int, form: RecallForm) -> None:
    """Put a patient on a recall type with a due date, or change its date (e.g. a perio diagnosis: perio type)."""
    require(actor, Permission.MANAGE_CALENDAR)
    await ensure_in_clinic(actor, patient_id)
    errors = {}
    type_id = whole_number(form.recall_type_id)
    kind = await RecallType.select().where((RecallType.id == (type_id or 0)) & (RecallType.clinic == actor.clinic_id)
                                           & (RecallType.active == True)).first()  # noqa: E712
    if kind is None:
        errors["recall_type_id"] = _("Choose a recall type.")
    due = parse_date(form.due_on)
    if due is None:
        errors["due_on"] = _("Give the due date, e.g. 2027-03-15.")
    if errors:
        raise ValidationFailed(errors)
    now = datetime.now(timezone.utc)
    async with transaction():
        await PatientRecall.raw(
            "INSERT INTO patient_recall (clinic, patient, recall_type, due_on, updated_at) "
            "VALUES ({}, {}, {}, {}, {}) ON CONFLICT (patient, recall_type) "
            "DO UPDATE SET due_on = EXCLUDED.due_on, updated_at = EXCLUDED.updated_at",
            actor.clinic_id, patient_id, kind["id"], due, now)
        await audit.record(actor, "recall.set", patient_id=patient_id, object_type="recall_type", object_id=kind["id"],
                           detail={"due_on": due.isoformat()})


async def switch_to_perio(actor: Actor, patient_id: int, diagnosed_on: date, reason: dict) -> dict:
    """Put the patient on the clinic's perio maintenance type, due its interval after the diagnosis, in place of
    their other recalls (perio maintenance visits take over hygiene and check-up); called by the perio
    chart in its transaction once a clinician confirmed a stage. Returns the type and the recalls it replaced."""
    require(actor, Permission.WRITE_CLINICAL)
    kind = await recall_types.perio_type(actor.clinic_id)
    if kind is None:
        raise ValidationFailed({"form": _("The practice keeps no active perio maintenance recall type.")})
    due = add_months(diagnosed_on, kind["months"])
    replaced = await PatientRecall.delete().where(
        (PatientRecall.patient == patient_id) & (PatientRecall.clinic == actor.clinic_id)
        & (PatientRecall.recall_type != kind["id"])).returning(PatientRecall.recall_type)
    await PatientRecall.raw(
        "INSERT INTO patient_recall (clinic, patient, recall_type, due_on, updated_at) VALUES ({}, {}, {}, {}, {}) "
        "ON CONFLICT (patient, recall_type) DO UPDATE SET due_on = EXCLUDED.due_on, updated_at = EXCLUDED.updated_at",
        actor.clinic_id, patient_id, kind["id"], due, datetime.now(timezone.utc))
    await audit.record(actor, "recall.switched_to_perio", patient_id=patient_id, object_type="recall_type",
                       object_id=kind["id"], detail={"due_on": due.isoformat(),
                                                     "replaced": [r["recall_type"] for r in replaced], **reason})
    return {"type": kind, "due_on": due, "replaced": [r["recall_type"] for r in replaced]}


async def on_perio(actor: Actor, patient_id: int) -> bool | None:
    """Whether the patient is on the clinic's perio maintenance type (None: the clinic keeps none)."""
    kind = await recall_types.perio_type(actor.clinic_id)
    if kind is None:
        return None
    return await PatientRecall.exists().where((PatientRecall.patient == patient_id)
                                              & (PatientRecall.recall_type == kind["id"]))


async def remove_recall(actor: Actor, patient_id: int, recall_id: int) -> None:
    require(actor, Permission.MANAGE_CALENDAR)
    async with transaction():
        gone = await PatientRecall.delete().where(
            (PatientRecall.id == recall_id) & (PatientRecall.patient == patient_id)
            & (PatientRecall.clinic == actor.clinic_id)).returning(PatientRecall.recall_type)
        if not gone:
            raise NotFound()
        await audit.record(actor, "recall.removed", patient_id=patient_id, object_type="recall_type",
                           object_id=gone[0]["recall_type"])


_SCHEDULED = (
    "(SELECT min(a.starts_at) FROM appointment a WHERE a.patient = r.patient AND a.clinic = r.clinic "
    f"AND a.status IN {statuses.sql_list(statuses.OPEN)} AND a.starts_at > now() "
    "AND (t.appointment_type IS NULL OR a.appointment_type = t.appointment_type))")
_ROWS = (
    "SELECT r.id, r.patient, r.recall_type, r.due_on, r.last_done_on, r.provider, t.name AS type_name, "
    "t.appointment_type, p.given_name, p.family_name, p.email, p.phone_mobile, s.name AS provider_name, "
    f"{_SCHEDULED} AS scheduled_at, "
    "chairside_may_contact(p.id, 'reminder_email') AS by_email, chairside_may_contact(p.id, 'reminder_sms') AS by_sms, "
    "chairside_may_contact(p.id, 'reminder_whatsapp') AS by_whatsapp, "
    "(SELECT c.kind FROM recall_contact c WHERE c.patient = r.patient AND c.clinic = r.clinic "
    "ORDER BY c.at DESC LIMIT 1) AS last_contact, "
    "(SELECT max(c.at) FROM recall_contact c WHERE c.patient = r.patient AND c.clinic = r.clinic) AS last_contact_at "
    "FROM patient_recall r JOIN recall_type t ON t.id = r.recall_type JOIN patient p ON p.id = r.patient "
    "LEFT JOIN staff s ON s.id = r.provider "
    "WHERE r.clinic = {} AND t.active AND p.isolated_at IS NULL ")


@dataclass(frozen=True)
class RecallFilter:
    view: str = "due"
    recall_type: str = ""
    provider: str = ""
    channel: str = ""


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


async def recall_list(actor: Actor, filters: RecallFilter) -> list[dict]:
    """The front desk's list: due this month, overdue or scheduled, by type, provider and consented channel."""
    require(actor, Permission.MANAGE_CALENDAR)
    await recall_types.ensure_defaults(actor.clinic_id)
    today = clock.today(actor.time_zone)
    sql, args = _ROWS, [actor.clinic_id]
    if (type_id := whole_number(filters.recall_type)) is not None:
        sql += "AND r.recall_type = {} "
        args.append(type_id)
    if (provider_id := whole_number(filters.provider)) is not None:
        sql += "AND r.provider = {} "
        args.append(provider_id)
    if filters.channel in CHANNELS and filters.channel:
        sql += "AND chairside_may_contact(p.id, {}) "
        args.append(filters.channel)
    view = filters.view if filters.view in VIEWS else "due"
    outer = {"due": "scheduled_at IS NULL AND due_on >= {} AND due_on <= {}",
             "overdue": "scheduled_at IS NULL AND due_on < {}", "scheduled": "scheduled_at IS NOT NULL",
             "all": "true"}[view]
    outer_args = {"due": [today, month_end(today)], "overdue": [today]}.get(view, [])
    rows = await PatientRecall.raw(f"SELECT * FROM ({sql}) x WHERE {outer} ORDER BY due_on, family_name LIMIT "
                                   f"{LIST_LIMIT}", *args, *outer_args)
    for row in rows:
        row["overdue"] = row["due_on"] < today and row["scheduled_at"] is None
    await audit.record_patients_shown(actor, "recall.list_viewed", [r["patient"] for r in rows])
    return rows


async def for_patient(actor: Actor, patient_id: int) -> dict:
    """The patient page's recall card: each recall with its due date, what is booked, and the contact log."""
    require(actor, Permission.MANAGE_CALENDAR)
    await ensure_in_clinic(actor, patient_id)
    await recall_types.ensure_defaults(actor.clinic_id)
    rows = await PatientRecall.raw(f"{_ROWS} AND r.patient = {{}} ORDER BY r.due_on", actor.clinic_id, patient_id)
    today = clock.today(actor.time_zone)
    for row in rows:
        row["overdue"] = row["due_on"] < today and row["scheduled_at"] is None
    contacts = await RecallContact.select().where(
        (RecallContact.patient == patient_id) & (RecallContact.clinic == actor.clinic_id)
    ).order_by(RecallContact.at, ascending=False).limit(10)
    await audit.record(actor, "recall.viewed", patient_id=patient_id, object_type="patient", object_id=patient_id)
    return {"recalls": rows, "contacts": contacts, "today": today,
            "types": await recall_types.list_types(actor, active_only=True)}


@dataclass(frozen=True)
class ContactForm:
    kind: str = ""
    recall_type_id: str = ""
    note: str = ""


async def log_contact(actor: Actor, patient_id: int, form: ContactForm) -> int:
    """One contact attempt: called, no answer, mailed, texted or declined."""
    require(actor, Permission.MANAGE_CALENDAR)
    await ensure_in_clinic(actor, patient_id)
    errors = {}
    if form.kind not in STAFF_CONTACT_KINDS:
        errors["kind"] = _("Choose what happened.")
    if problem := too_long(form.note.strip(), 300):
        errors["note"] = problem
    type_id = whole_number(form.recall_type_id)
    if type_id is not None and not await RecallType.exists().where(
            (RecallType.id == type_id) & (RecallType.clinic == actor.clinic_id)):
        type_id = None
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        row = RecallContact(clinic=actor.clinic_id, patient=patient_id, recall_type=type_id, kind=form.kind,
                            note=form.note.strip(), actor_id=actor.id, actor_name=actor.name,
                            at=datetime.now(timezone.utc))
        await row.save()
        await audit.record(actor, "recall.contact_logged", patient_id=patient_id, object_type="recall_contact",
                           object_id=row.id, detail={"kind": form.kind})
    return row.id


def book_hint(row: dict, today: date) -> str:
    """The date the one-tap booking opens the calendar on: the due date, or today when it has passed."""
    return max(row["due_on"], today + timedelta(days=0)).isoformat()
