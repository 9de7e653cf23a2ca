"""Lab cases: what is made for a patient, by which lab, for which seating; their statuses (one function changes
them, each change dated and by whom in an append-only history), the due date and whether it is in time.

The due date is derived: the day the work (last) went to the lab plus the lab's turnaround in working days
(today for a draft). A case is late when its due date is not before the day of its seating appointment, and
it stops being late once it is back (received, checked, seated). Nothing of this is stored, so moving the
appointment re-checks it on the next read.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from portal import audit, clock, display
from portal.calendar import statuses as appointment_statuses
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, too_long, whole_number
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext
from portal.imaging.images import parse_teeth
from portal.lab import directory
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, can, require
from portal.tables import Appointment, Clinic, LabCase, LabCaseEvent, LabInvoice, PatientImage

STATUSES = {"draft": lazy_gettext("Draft"), "sent": lazy_gettext("Sent to the lab"),
            "in_production": lazy_gettext("In production"), "shipped": lazy_gettext("Shipped"),
            "received": lazy_gettext("Received"), "checked": lazy_gettext("Checked"),
            "seated": lazy_gettext("Seated"), "remake": lazy_gettext("Remake")}
display.register_labels("lab_status", STATUSES)
# Which status may follow which; "sent" only through sending (portal/lab/sending.py), which mails the lab.
NEXT = {"draft": ("sent",), "sent": ("in_production", "shipped", "received"),
        "in_production": ("shipped", "received"), "shipped": ("received",), "received": ("checked", "remake"),
        "checked": ("seated", "remake"), "remake": ("in_production", "shipped", "received"), "seated": ()}
BACK = ("received", "checked", "seated")  # the work is in the practice: no longer late
# Front desk tracks the parcel; judging and fitting the work is clinical.
NEEDS = {"sent": Permission.WRITE_CLINICAL, "in_production": Permission.MANAGE_CALENDAR,
         "shipped": Permission.MANAGE_CALENDAR, "received": Permission.MANAGE_CALENDAR,
         "checked": Permission.WRITE_CLINICAL, "seated": Permission.WRITE_CLINICAL,
         "remake": Permission.WRITE_CLINICAL}
OPEN = tuple(s for s in STATUSES if s != "seated")


@dataclass(frozen=True)
class CaseForm:
    lab_id: str = ""
    items: str = ""  # item kinds, comma separated (checkboxes)
    teeth: str = ""
    shade: str = ""
    material: str = ""
    instructions: str = ""
    image_ids: str = ""  # comma separated (checkboxes)
    appointment_id: str = ""


@dataclass(frozen=True)
class StatusForm:
    status: str = ""
    carrier: str = ""
    tracking: str = ""
    reason: str = ""


@dataclass(frozen=True)
class InvoiceForm:
    amount: str = ""
    reference: str = ""


def add_working_days(start: date, days: int) -> date:
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def due_on(case: dict, zone: str, today: date | None = None) -> date:
    """When the work is due back: from the day it (last) went to the lab, or today for a draft."""
    start = clock.local(case["sent_at"], zone).date() if case["sent_at"] else (
        today or clock.local(datetime.now(timezone.utc), zone).date())
    return add_working_days(start, case["turnaround_days"])


def is_late(case: dict, seating_at: datetime | None, zone: str) -> bool:
    """Not back and due on or after the seating day."""
    if seating_at is None or case["status"] in BACK:
        return False
    return due_on(case, zone) >= clock.local(seating_at, zone).date()


def _ids(text: str) -> list[int] | None:
    parts = [p for p in text.replace(" ", "").split(",") if p]
    ids = [whole_number(p) for p in parts]
    return None if any(i is None for i in ids) else list(dict.fromkeys(ids))


async def seating_options(actor: Actor, patient_id: int) -> list[dict]:
    """The patient's coming open appointments, to choose the seating from."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    return await Appointment.select(Appointment.id, Appointment.starts_at, Appointment.appointment_type.name).where(
        (Appointment.clinic == actor.clinic_id) & (Appointment.patient == patient_id)
        & (Appointment.starts_at > datetime.now(timezone.utc))
        & Appointment.status.is_in(list(appointment_statuses.OPEN))).order_by(Appointment.starts_at)


async def _clean(actor: Actor, patient_id: int, form: CaseForm) -> dict:
    lab_id = whole_number(form.lab_id)
    labs = {lab["id"]: lab for lab in await directory.list_labs(actor, active_only=True)}
    items = [i for i in form.items.split(",") if i]
    teeth = parse_teeth(form.teeth)
    image_ids = _ids(form.image_ids)
    errors = collect(
        lab_id=None if lab_id in labs else _("Choose a lab."),
        items=None if items and all(i in directory.ITEMS for i in items) else _("Choose at least one item."),
        teeth=None if teeth is not None else _("Write FDI tooth numbers, e.g. 11 21."),
        shade=too_long(form.shade, 40), material=too_long(form.material, 100),
        instructions=too_long(form.instructions, 4000),
        image_ids=None if image_ids is not None else _("Choose images of this patient."))
    if image_ids:
        owned = await PatientImage.count().where((PatientImage.id.is_in(image_ids))
                                                 & (PatientImage.patient == patient_id)
                                                 & (PatientImage.clinic == actor.clinic_id))
        if owned != len(image_ids):
            errors["image_ids"] = _("Choose images of this patient.")
    appointment_id = None
    if form.appointment_id.strip():
        appointment_id = whole_number(form.appointment_id)
        if appointment_id not in {a["id"] for a in await seating_options(actor, patient_id)}:
            errors["appointment_id"] = _("Choose one of the patient's coming appointments.")
    if errors:
        raise ValidationFailed(errors)
    lab = labs[lab_id]
    return {"lab": lab_id, "items": items, "teeth": " ".join(str(t) for t in teeth), "shade": form.shade.strip(),
            "material": form.material.strip(), "instructions": form.instructions.strip(), "image_ids": image_ids,
            "seating_appointment": appointment_id, "turnaround_days": directory.turnaround_for(lab, items)}


async def _event(actor: Actor, case_id: int, status: str, detail: dict, at: datetime) -> None:
    await LabCaseEvent.insert(LabCaseEvent(clinic=actor.clinic_id, lab_case=case_id, status=status, detail=detail,
                                           by_staff=actor.id, by_name=actor.name, at=at))


async def create_case(actor: Actor, patient_id: int, form: CaseForm) -> int:
    """A draft case, prescribed by the acting dentist."""
    require(actor, Permission.WRITE_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    fields = await _clean(actor, patient_id, form)
    now = datetime.now(timezone.utc)
    async with transaction():
        rows = await LabCase.insert(LabCase(clinic=actor.clinic_id, patient=patient_id, dentist=actor.id,
                                            dentist_name=actor.name, status="draft", created_at=now, **fields))
        case_id = rows[0]["id"]
        await _event(actor, case_id, "draft", {}, now)
        await audit.record(actor, "lab_case.created", patient_id=patient_id, object_type="lab_case",
                           object_id=case_id)
    return case_id


async def _owned(actor: Actor, patient_id: int, case_id: int, lock: bool = False) -> dict:
    query = "SELECT * FROM lab_case WHERE id = {} AND patient = {} AND clinic = {}" + (" FOR UPDATE" if lock else "")
    rows = await LabCase.raw(query, case_id, patient_id, actor.clinic_id)
    if not rows:
        raise NotFound()
    await ensure_in_clinic(actor, patient_id)
    row = rows[0]
    row["items"] = json.loads(row["items"]) if isinstance(row["items"], str) else row["items"]
    return row


async def change_status(actor: Actor, patient_id: int, case_id: int, form: StatusForm, *,
                        _sending: bool = False) -> None:
    """The one way a case changes status: allowed steps only, by who may take them, dated in the history."""
    target = form.status
    if target not in NEEDS or (target == "sent" and not _sending):
        raise ValidationFailed({"status": _("Choose one of the offered steps.")})
    require(actor, NEEDS[target])
    errors = collect(carrier=too_long(form.carrier, 100), tracking=too_long(form.tracking, 100),
                     reason=(None if form.reason.strip() else _("Say why the work is remade.")) if target == "remake"
                     else None)
    if target == "remake" and not errors:
        errors = collect(reason=too_long(form.reason, 500))
    if errors:
        raise ValidationFailed(errors)
    now = datetime.now(timezone.utc)
    async with transaction():
        case = await _owned(actor, patient_id, case_id, lock=True)
        if target not in NEXT[case["status"]]:
            raise ValidationFailed({"status": _("A case that is %(status)s cannot become %(target)s.",
                                                status=display.label(case["status"], "lab_status"),
                                                target=display.label(target, "lab_status"))})
        changes: dict = {LabCase.status: target}
        detail: dict = {"from": case["status"]}
        if target == "shipped":
            changes.update({LabCase.carrier: form.carrier.strip(), LabCase.tracking: form.tracking.strip()})
            detail.update(carrier=form.carrier.strip(), tracking=form.tracking.strip())
        if target == "remake":
            changes.update({LabCase.remake_reason: form.reason.strip(), LabCase.sent_at: now})
            detail["reason"] = form.reason.strip()
        if target == "sent":
            changes[LabCase.sent_at] = now
        await LabCase.update(changes).where(LabCase.id == case_id)
        await _event(actor, case_id, target, detail, now)
        await audit.record(actor, f"lab_case.{target}", patient_id=patient_id, object_type="lab_case",
                           object_id=case_id)


def next_steps(actor: Actor, status: str) -> list[str]:
    """The steps this person may take from a status (sending is its own button)."""
    return [s for s in NEXT[status] if s != "sent" and can(actor, NEEDS[s])]


async def get_case(actor: Actor, patient_id: int, case_id: int) -> dict:
    """One case with its history, invoices and due date; clinical content only for clinical staff (audited)."""
    require(actor, Permission.MANAGE_CALENDAR)
    async with transaction():
        case = await _owned(actor, patient_id, case_id)
        await audit.record(actor, "lab_case.viewed", patient_id=patient_id, object_type="lab_case",
                           object_id=case_id)
    case["lab_row"] = await directory.get_lab(actor, case["lab"])
    case["history"] = await LabCaseEvent.select().where(LabCaseEvent.lab_case == case_id).order_by(LabCaseEvent.at)
    case["invoices"] = await LabInvoice.select().where(LabInvoice.lab_case == case_id).order_by(LabInvoice.id)
    case["cost"] = sum((row["amount"] for row in case["invoices"]), Decimal("0"))
    seating = None
    if case["seating_appointment"]:
        seating = await Appointment.select(Appointment.starts_at).where(
            Appointment.id == case["seating_appointment"]).first()
    case["seating_at"] = seating["starts_at"] if seating else None
    case["due_on"] = due_on(case, actor.time_zone)
    case["late"] = is_late(case, case["seating_at"], actor.time_zone)
    case["steps"] = next_steps(actor, case["status"])
    if not can(actor, Permission.READ_CLINICAL):  # front desk: status and dates, not the clinical content
        for key in ("teeth", "shade", "material", "instructions"):
            case[key] = None
        case["image_ids"] = []
    return case


_LIST = ("SELECT c.id, c.patient, c.status, c.items, c.sent_at, c.turnaround_days, c.seating_appointment, "
         "c.carrier, c.tracking, l.name AS lab_name, p.given_name, p.family_name, a.starts_at AS seating_at "
         "FROM lab_case c JOIN lab l ON l.id = c.lab JOIN patient p ON p.id = c.patient "
         "LEFT JOIN appointment a ON a.id = c.seating_appointment "
         f"AND a.status IN {appointment_statuses.sql_list(appointment_statuses.OPEN)} "
         "WHERE c.clinic = {} AND p.isolated_at IS NULL")


def _dress(rows: list[dict], zone: str) -> list[dict]:
    for row in rows:
        row["items"] = json.loads(row["items"]) if isinstance(row["items"], str) else row["items"]
        row["due_on"] = due_on(row, zone)
        row["late"] = is_late(row, row["seating_at"], zone)
    return rows


async def list_cases(actor: Actor, patient_id: int | None = None) -> list[dict]:
    """Open cases of the clinic (or every case of one patient), late ones first; the patients shown are audited."""
    require(actor, Permission.MANAGE_CALENDAR)
    if patient_id is not None:
        await ensure_in_clinic(actor, patient_id)
        rows = await LabCase.raw(_LIST + " AND c.patient = {} ORDER BY c.created_at DESC", actor.clinic_id,
                                 patient_id)
    else:
        rows = await LabCase.raw(_LIST + " AND c.status <> 'seated' ORDER BY c.created_at", actor.clinic_id)
    rows = _dress(rows, actor.time_zone)
    await audit.record_patients_shown(actor, "lab_case.listed", [r["patient"] for r in rows])
    return sorted(rows, key=lambda r: not r["late"]) if patient_id is None else rows


async def late_cases(actor: Actor) -> list[dict]:
    """Cases that will not be back before their seating, for the dashboard (names shown are audited)."""
    require(actor, Permission.MANAGE_CALENDAR)
    rows = await LabCase.raw(_LIST + " AND c.status NOT IN ('received', 'checked', 'seated') "
                             "AND a.id IS NOT NULL ORDER BY a.starts_at", actor.clinic_id)
    late = [r for r in _dress(rows, actor.time_zone) if r["late"]]
    await audit.record_patients_shown(actor, "lab_case.listed", [r["patient"] for r in late])
    return late


# The cases for one seating that are not back yet, as a JSON array (arguments: clinic, appointment): read on its own
# or inside the appointment card's statement; `late_among` then applies the one rule of lateness (`is_late`).
NOT_BACK_FOR_SEATING = ("(SELECT coalesce(json_agg(x), '[]')::text FROM (" + _LIST + " AND c.seating_appointment = {} "
                        "AND c.status NOT IN (" + ", ".join(f"'{s}'" for s in BACK) + ")) x)")


def late_among(cases_json: str, zone: str) -> list[dict]:
    """The cases of `NOT_BACK_FOR_SEATING` that will not be back in time."""
    rows = json.loads(cases_json)
    for row in rows:
        for key in ("sent_at", "seating_at"):
            if row[key] is not None:
                row[key] = datetime.fromisoformat(row[key])
    return [r for r in _dress(rows, zone) if r["late"]]


async def late_for_appointment(actor: Actor, appointment_id: int) -> list[dict]:
    """The cases for this seating that will not be back in time (the appointment card's warning)."""
    rows = await LabCase.raw(f"SELECT {NOT_BACK_FOR_SEATING} AS cases", actor.clinic_id, appointment_id)
    return late_among(rows[0]["cases"], actor.time_zone)


async def record_invoice(actor: Actor, patient_id: int, case_id: int, form: InvoiceForm) -> int:
    """The lab's invoice for the case (a credit is a negative amount: entries are never changed)."""
    require(actor, Permission.MANAGE_CALENDAR)
    try:
        amount = Decimal(form.amount.strip().replace(",", "."))
    except InvalidOperation:
        amount = None
    errors = collect(amount=None if amount is not None and amount.is_finite() and amount != 0
                     and abs(amount) < 100_000 else _("Enter the amount, e.g. 145.00."),
                     reference=too_long(form.reference, 100))
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        await _owned(actor, patient_id, case_id)
        currency = (await Clinic.select(Clinic.currency).where(Clinic.id == actor.clinic_id).first())["currency"]
        rows = await LabInvoice.insert(LabInvoice(
            clinic=actor.clinic_id, lab_case=case_id, amount=amount.quantize(Decimal("0.01")), currency=currency,
            reference=form.reference.strip(), recorded_by=actor.id, recorded_by_name=actor.name,
            recorded_at=datetime.now(timezone.utc)))
        await audit.record(actor, "lab_case.invoice_recorded", patient_id=patient_id, object_type="lab_case",
                           object_id=case_id, detail={"amount": str(amount)})
    return rows[0]["id"]
