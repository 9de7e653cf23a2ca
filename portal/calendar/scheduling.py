"""Appointments: book, move, change status, cancel. PostgreSQL's exclusion constraints make double booking
impossible; these functions turn a refusal into a clear message with the nearest free alternatives."""

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from asyncpg.exceptions import ExclusionViolationError

from portal import audit, clock, display
from portal.calendar import appointment_mail, availability, setup_cache, statuses
from portal.calendar.statuses import CANCELLABLE, Status, allowed_after, label
from portal.charts import medical_history
from portal.db import transaction
from portal.errors import Forbidden, NotFound, SlotTaken, ValidationFailed
from portal.forms import parse_date, whole_number
from portal.i18n import _, gettext, lazy_gettext
from portal.lab import cases as lab_cases
from portal.permissions import Actor, Permission, require
from portal.tables import Appointment, AppointmentChange, AppointmentType, Patient


@dataclass(frozen=True)
class Requester:
    """Who asks for a status change: staff at the calendar, the patient replying, or an approved erasure.

    A staff actor must hold `permission`; with no permission the actor must be the patient of the appointment.
    `name` is what the appointment's history shows as the changer ("" shows the staff member's own name).
    """
    name: str
    permission: Permission | None
    may_become: tuple[Status, ...]


CALENDAR = Requester("", Permission.MANAGE_CALENDAR, tuple(Status))
WHATSAPP_REPLY = Requester("Patient (WhatsApp)", None, (Status.CONFIRMED, Status.CANCELLED))
ERASURE = Requester("Erasure request", Permission.HANDLE_PRIVACY_REQUESTS, (Status.CANCELLED,))
# A patient booking, moving or cancelling their own appointment from a signed link (portal/recall/booking.py).
ONLINE = Requester("Patient (online)", None, (Status.BOOKED, Status.CANCELLED))
# The history keeps these names as written (a record); they are translated where shown, like staff see them.
display.register_labels("changer", {WHATSAPP_REPLY.name: lazy_gettext("Patient (WhatsApp)"),
                                    ONLINE.name: lazy_gettext("Patient (online)")})
display.register_labels("cancel_reason", {"Cancelled by the patient on WhatsApp": lazy_gettext(
    "Cancelled by the patient on WhatsApp")})


@dataclass(frozen=True)
class BookingForm:
    patient_id: str = ""
    appointment_type_id: str = ""
    provider_id: str = ""
    chair_id: str = ""
    date: str = ""
    time: str = ""
    minutes: str = ""
    notes: str = ""
    past_reason: str = ""  # a visit that already happened is recorded only with a reason (and no mail goes out)


def pick_alternative(form, pick: str):
    """A free start chosen from a list ('YYYY-MM-DD|HH:MM|chair|provider') overrides when, where and who."""
    parts = pick.split("|")
    if len(parts) != 4:
        return form
    return replace(form, date=parts[0], time=parts[1], chair_id=parts[2], provider_id=parts[3])


@dataclass(frozen=True)
class MoveForm:
    date: str = ""
    time: str = ""
    chair_id: str = ""
    provider_id: str = ""
    minutes: str = ""


# A walk-in may be booked into the slot that has just begun; anything earlier is a past visit.
WALK_IN_GRACE = timedelta(minutes=15)


def _int(text: str) -> int | None:
    return whole_number(text)


async def _slot(actor: Actor, day_text: str, time_text: str, errors: dict) -> datetime | None:
    day, at = parse_date(day_text), clock.parse_time(time_text)
    if day is None:
        errors["date"] = gettext("Choose a date.")
    if at is None:
        errors["time"] = gettext("Choose a start time, e.g. 09:30.")
    elif at.minute % 5:
        errors["time"] = gettext("Start times go in 5-minute steps.")
    if day is None or at is None or "time" in errors:
        return None
    try:
        return clock.to_utc(day, at, actor.time_zone)
    except clock.ImpossibleLocalTime:
        errors["time"] = f"{at:%H:%M} does not exist on {day:%d %b} (the clocks go forward). Choose another time."
    except clock.AmbiguousLocalTime:
        errors["time"] = f"{at:%H:%M} happens twice on {day:%d %b} (the clocks go back). Choose another time."
    return None


async def _check_booking(actor: Actor, form: BookingForm | MoveForm, *, patient_id: int | None,
                         type_row: dict | None) -> dict:
    """Validate everything except the overlap itself, which PostgreSQL decides."""
    errors: dict[str, str] = {}
    # Provider, chair and hours from the clinic's set-up as this request's session read it (setup_cache): a
    # booking is the front desk's most frequent write, and these were three of its round trips.
    setup = await setup_cache.booking_rules(actor)
    provider = next((s for s in setup["staff"] if s["id"] == _int(form.provider_id)), None)
    if provider is None:
        errors["provider_id"] = gettext("Choose who provides the treatment.")
    elif type_row and provider["role"] not in type_row["provider_roles"].split(","):
        errors["provider_id"] = f"A {provider['role']} does not provide {type_row['name']}."
    chair = next((c for c in setup["chairs"] if c["id"] == _int(form.chair_id)), None)
    if chair is None:
        errors["chair_id"] = gettext("Choose a chair.")
    minutes = _int(form.minutes) or (type_row["minutes"] if type_row else None)
    if minutes is None or not 5 <= minutes <= 480 or minutes % 5:
        errors["minutes"] = gettext("Length goes in 5-minute steps, up to 8 hours.")
    starts = await _slot(actor, form.date, form.time, errors)
    past = bool(starts and starts < clock.now() - WALK_IN_GRACE)
    if past and not isinstance(form, BookingForm):
        errors["date"] = _("That time has passed: an appointment cannot be moved into the past.")
    elif past and not form.past_reason.strip():
        errors["past_reason"] = _("That time has passed. To record a visit that already happened, say why here.")
    elif past and len(form.past_reason) > 300:
        errors["past_reason"] = _("Use at most 300 characters.")
    if starts and minutes and provider and "minutes" not in errors:
        local = clock.local(starts, actor.time_zone)
        rules = availability.hours_rules(actor, setup, local.date(), local.date())
        if local.date() in rules.closed_days:
            errors["date"] = gettext("The practice is closed that day.")
        elif not availability.within_bookable_hours(rules, provider["id"], local.date(), local.time(), minutes):
            errors["time"] = f"{provider['name']} is not working at that time, or the practice is closed."
    if errors:
        raise ValidationFailed(errors)
    return {"provider": provider["id"], "chair": chair["id"], "starts_at": starts,
            "ends_at": starts + timedelta(minutes=minutes), "minutes": minutes, "patient": patient_id, "past": past}


async def _refused(actor: Actor, exc: ExclusionViolationError, slot: dict, type_row: dict,
                   ignore: int | None = None) -> SlotTaken:
    """Turn the database's refusal into the message and the nearest free starts for the same provider."""
    if exc.constraint_name == "appointment_chair_free":
        errors = {"chair_id": gettext("That chair is already booked at that time.")}
    else:
        errors = {"provider_id": gettext("That provider already has an appointment at that time.")}
    query = availability.SlotQuery(minutes=slot["minutes"], roles=tuple(type_row["provider_roles"].split(",")),
                                   provider_id=slot["provider"])
    return SlotTaken(errors, await availability.nearest_alternatives(actor, query, slot["starts_at"], ignore=ignore))


def _may_book(actor: Actor, by: Requester, patient_id: str) -> None:
    """Staff with the requester's permission, or (online) the patient booking for themself."""
    if by.permission is not None:
        require(actor, by.permission)
    elif actor.is_staff or actor.patient_id is None or str(actor.patient_id) != patient_id.strip():
        raise Forbidden("own appointments only")


async def book_appointment(actor: Actor, form: BookingForm, *, by: Requester = CALENDAR,
                           manage_url: Callable[[int], str] | None = None) -> int:
    """Book; a refusal by the database becomes SlotTaken with the nearest free alternatives.

    `by` ONLINE lets a patient actor book for themself; `manage_url(appointment id)` puts the patient's
    cancel/reschedule link into the confirmation mail.
    """
    _may_book(actor, by, form.patient_id)
    errors: dict[str, str] = {}
    patient = await Patient.select(Patient.id).where((Patient.id == (_int(form.patient_id) or 0))
                                                     & (Patient.clinic == actor.clinic_id)
                                                     & Patient.isolated_at.is_null()).first()
    if patient is None:
        errors["patient_id"] = gettext("Choose a patient.")
    type_id = _int(form.appointment_type_id)
    type_row = next((t for t in await setup_cache.appointment_types(actor) if t["id"] == type_id), None)
    if type_row is None:
        errors["appointment_type_id"] = gettext("Choose the kind of appointment.")
    if len(form.notes) > 1000:
        errors["notes"] = gettext("Use at most 1000 characters.")
    try:
        slot = await _check_booking(actor, form, patient_id=patient["id"] if patient else None, type_row=type_row)
    except ValidationFailed as exc:
        raise ValidationFailed({**exc.errors, **errors}) from None
    if errors:
        raise ValidationFailed(errors)
    now = datetime.now(timezone.utc)
    try:
        async with transaction():
            row = Appointment(clinic=actor.clinic_id, patient=slot["patient"], provider=slot["provider"],
                              chair=slot["chair"], appointment_type=type_row["id"], starts_at=slot["starts_at"],
                              ends_at=slot["ends_at"], status=Status.BOOKED, notes=form.notes.strip(),
                              created_by=actor.id if actor.is_staff else None, created_at=now, updated_at=now)
            await row.save()
            await _history(actor, row.id, "booked", by, to_starts_at=slot["starts_at"], to_chair=slot["chair"],
                           to_status=Status.BOOKED, reason=form.past_reason.strip() if slot["past"] else "")
            detail = {"by": by.name} if by.name else {}
            if slot["past"]:
                detail["past_visit"] = True
            await audit.record(actor, "appointment.booked", patient_id=slot["patient"], object_type="appointment",
                               object_id=row.id, detail=detail or None)
            if not slot["past"]:  # nobody is told about a visit that already happened
                await appointment_mail.confirm_change(row.id, "booked", manage_url(row.id) if manage_url else "")
    except ExclusionViolationError as exc:
        raise await _refused(actor, exc, slot, type_row) from None
    return row.id


async def _history(actor: Actor, appointment_id: int, kind: str, by: Requester = CALENDAR, **values) -> None:
    await AppointmentChange.insert(AppointmentChange(
        clinic=actor.clinic_id, appointment=appointment_id, actor_id=actor.id if actor.is_staff else None,
        actor_name=_changer(actor, by), kind=kind, at=datetime.now(timezone.utc), **values))


async def _owned(actor: Actor, appointment_id: int) -> dict:
    row = await Appointment.select().where((Appointment.id == appointment_id)
                                           & (Appointment.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    return row


async def move_appointment(actor: Actor, appointment_id: int, form: MoveForm, *, by: Requester = CALENDAR,
                           manage_url: Callable[[int], str] | None = None) -> None:
    """Move to another time, chair or provider; the history keeps where it was (`by` ONLINE: the patient)."""
    if by.permission is not None:
        require(actor, by.permission)
    before = await _owned(actor, appointment_id)
    if by.permission is None:
        _authorise(actor, by, Status.BOOKED, before)
    if before["status"] not in CANCELLABLE:
        raise ValidationFailed({"date": f"A {label(before['status']).lower()} appointment cannot be moved."})
    type_row = await AppointmentType.select().where((AppointmentType.id == before["appointment_type"])
                                                    & (AppointmentType.clinic == actor.clinic_id)).first()
    form = MoveForm(date=form.date, time=form.time, chair_id=form.chair_id or str(before["chair"]),
                    provider_id=form.provider_id or str(before["provider"]),
                    minutes=form.minutes or str(int((before["ends_at"] - before["starts_at"]).total_seconds() // 60)))
    slot = await _check_booking(actor, form, patient_id=before["patient"], type_row=type_row)
    try:
        async with transaction():
            await Appointment.update({
                Appointment.starts_at: slot["starts_at"], Appointment.ends_at: slot["ends_at"],
                Appointment.chair: slot["chair"], Appointment.provider: slot["provider"],
                Appointment.sequence: Appointment.sequence + 1, Appointment.updated_at: datetime.now(timezone.utc),
            }).where(Appointment.id == appointment_id)
            await _history(actor, appointment_id, "moved", by, from_starts_at=before["starts_at"],
                           to_starts_at=slot["starts_at"], from_chair=before["chair"], to_chair=slot["chair"])
            await audit.record(actor, "appointment.moved", patient_id=before["patient"], object_type="appointment",
                               object_id=appointment_id, detail={"by": by.name} if by.name else None)
            await appointment_mail.confirm_change(appointment_id, "moved",
                                                  manage_url(appointment_id) if manage_url else "")
    except ExclusionViolationError as exc:
        raise await _refused(actor, exc, slot, type_row, ignore=appointment_id) from None


def _authorise(actor: Actor, by: Requester, status: str, appointment: dict) -> None:
    if by.permission is not None:
        require(actor, by.permission)  # staff only: `can` refuses every non-staff actor
    elif actor.is_staff or actor.patient_id != appointment["patient"]:
        raise Forbidden("own appointments only")
    if status in tuple(Status) and status not in by.may_become:  # an unknown status is a 422 below
        raise Forbidden(f"{by.name or 'calendar'} may not set {status}")


async def set_status(actor: Actor, appointment_id: int, status: str, reason: str = "", *,
                     by: Requester = CALENDAR) -> None:
    """Advance the status (confirmed, arrived, in chair, completed, no-show) or cancel with a reason.

    The only code that changes a status: every change writes its history row, bumps the iCal SEQUENCE and
    queues the cancellation mail, whoever asked (`by`: the calendar, the patient's reply, an erasure).
    """
    if by.permission is not None:
        require(actor, by.permission)  # before any read, as every staff call always did
    async with transaction():
        before = await _owned(actor, appointment_id)
        _authorise(actor, by, status, before)
        if status not in allowed_after(before["status"]):
            raise ValidationFailed({"status": f"A {label(before['status']).lower()} appointment cannot become "
                                              f"{label(status).lower()}."})
        if why := statuses.not_yet(status, before["starts_at"], clock.now(), actor.time_zone):
            raise ValidationFailed({"status": why})
        if status == Status.CANCELLED and not reason.strip():
            raise ValidationFailed({"reason": gettext("Say why the appointment is cancelled.")})
        await Appointment.update({Appointment.status: status, Appointment.cancel_reason: reason.strip()[:300],
                                  Appointment.sequence: Appointment.sequence + 1,
                                  Appointment.updated_at: datetime.now(timezone.utc)}).where(
            Appointment.id == appointment_id)
        await AppointmentChange.insert(AppointmentChange(
            clinic=actor.clinic_id, appointment=appointment_id, actor_id=actor.id if actor.is_staff else None,
            actor_name=_changer(actor, by), kind="cancelled" if status == Status.CANCELLED else "status",
            from_status=before["status"], to_status=status, reason=reason.strip()[:300],
            at=datetime.now(timezone.utc)))
        await audit.record(actor, f"appointment.{status}", patient_id=before["patient"], object_type="appointment",
                           object_id=appointment_id, detail={"by": by.name} if by.name else None)
        if status == Status.CANCELLED:
            await appointment_mail.confirm_change(appointment_id, "cancelled")


def _changer(actor: Actor, by: Requester) -> str:
    if not by.name:
        return actor.name
    return f"{by.name} ({actor.name})" if actor.is_staff else by.name


# The card's read, written out: Piccolo spent longer composing this joined select than PostgreSQL ran it. Its
# history, the patient's active alerts (`medical_history.ACTIVE_ALERTS`) and the seating's lab cases not yet back
# (`lab_cases.NOT_BACK_FOR_SEATING`) come in the same statement as JSON arrays: the card opens on a tap, and four
# statements cost more PostgreSQL and Python time than the rows they read.
_CARD = (
    "SELECT " + ", ".join(f'ap."{c._meta.db_column_name}"' for c in Appointment._meta.columns)
    + ', p.given_name AS "patient.given_name", p.family_name AS "patient.family_name", '
    'p.isolated_at AS "patient.isolated_at", s.name AS "provider.name", ch.name AS "chair.name", '
    't.name AS "appointment_type.name", t.colour AS "appointment_type.colour", '
    "(SELECT coalesce(json_agg(h ORDER BY h.at, h.id), '[]')::text FROM appointment_change h "
    "WHERE h.appointment = ap.id AND h.clinic = ap.clinic) AS history, "
    + medical_history.ACTIVE_ALERTS.format("ap.patient", "ap.clinic") + " AS alerts, "
    + lab_cases.NOT_BACK_FOR_SEATING.format("ap.clinic", "ap.id") + " AS lab_cases "
    "FROM appointment ap LEFT JOIN patient p ON p.id = ap.patient LEFT JOIN staff s ON s.id = ap.provider "
    "LEFT JOIN chair ch ON ch.id = ap.chair LEFT JOIN appointment_type t ON t.id = ap.appointment_type "
    "WHERE ap.id = {} AND ap.clinic = {}")
_CARD_VIEWED = audit.logged(_CARD)  # and its audit row, in the same statement
_CHANGE_TIMES = ("from_starts_at", "to_starts_at", "at")


async def get_appointment(actor: Actor, appointment_id: int) -> dict:
    """The appointment card: who, what, where, when, its history, the patient's alerts and the seating's late lab
    cases, and the audit row of reading it, in one statement."""
    require(actor, Permission.MANAGE_CALENDAR)
    rows = await Appointment.raw(_CARD_VIEWED, appointment_id, actor.clinic_id,
                                 *audit.logged_values(actor, "appointment.viewed", "appointment"))
    row = rows[0] if rows else None
    if row is None:
        raise NotFound()
    if row["patient.isolated_at"]:  # erased on request: the kept record shows as a placeholder
        row["patient.given_name"], row["patient.family_name"] = "Restricted", "record"
    zone = actor.time_zone
    history = json.loads(row["history"])
    for change in history:
        for key in _CHANGE_TIMES:
            if change[key]:
                change[key] = clock.local(datetime.fromisoformat(change[key]), zone)
    row["history"] = history
    row["alerts"] = medical_history.alert_labels(row["alerts"])
    row["lab_late"] = lab_cases.late_among(row.pop("lab_cases"), zone)
    row["local_start"] = clock.local(row["starts_at"], actor.time_zone)
    row["local_end"] = clock.local(row["ends_at"], actor.time_zone)
    row["minutes"] = int((row["ends_at"] - row["starts_at"]).total_seconds() // 60)
    now = clock.now()
    row["next_statuses"] = [s for s in allowed_after(row["status"]) if s != Status.CANCELLED
                            and not statuses.not_yet(s, row["starts_at"], now, actor.time_zone)]
    row["cancellable"] = row["status"] in CANCELLABLE
    row["cancel_status"], row["freeing"] = Status.CANCELLED, statuses.FREED
    return row
