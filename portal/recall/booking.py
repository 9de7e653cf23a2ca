"""Online booking from a signed link: the owner's settings, the free slots offered, holds, confirm, cancel, move.

A patient acts as a patient `Actor` on their own record only. Slots come from the calendar's slot finder
(portal/calendar/availability.py) minus the slots other patients hold; a hold is a `booking_hold` row whose
exclusion constraints let PostgreSQL refuse a second hold of the same chair or provider time. Confirming books
through `scheduling.book_appointment` (or `move_appointment`) with the ONLINE requester: the appointment table's
own constraints decide as for staff, so there is one booking path. A staff booking is not blocked by a hold
(the front desk sees no holds); the patient's confirmation is then refused with the message to choose again.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from asyncpg.exceptions import ExclusionViolationError

from portal import audit, clock, links
from portal.calendar import availability, practice_setup, scheduling, statuses
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import whole_number
from portal.i18n import _
from portal.permissions import Actor, Permission, require
from portal.recall import tokens
from portal.settings import Settings
from portal.tables import Appointment, AppointmentType, BookingHold, Clinic, OnlineBooking, Patient

RECALL_LINK_DAYS = 60
CODE_LINK_HOURS = 2  # the booking page a right one-time code opens (portal/recall/booking_codes.py)
SLOTS_SHOWN = 12
WINDOW_DAYS = 7
CANCEL_REASON = "Cancelled online by the patient"


@dataclass(frozen=True)
class Visit:
    """Who came by a link: the patient acting on their own record, their clinic and its booking settings."""
    actor: Actor
    clinic: dict
    settings: dict
    appointment: dict | None = None


# --- The owner's settings ---------------------------------------------------------------------------------------

DEFAULTS = {"enabled": False, "appointment_types": [], "days_ahead": 42, "lead_hours": 12, "hold_minutes": 10,
            "cutoff_hours": 24, "reminder_days": [-14, 0, 21], "daily_cap": 200, "providers": [],
            "buffer_minutes": 0}


async def booking_settings(clinic_id: int) -> dict:
    row = await OnlineBooking.select().where(OnlineBooking.clinic == clinic_id).first()
    return {**DEFAULTS, **(row or {}), "clinic": clinic_id}


@dataclass(frozen=True)
class SettingsForm:
    enabled: bool = False
    appointment_types: str = ""  # ids joined by commas (the view joins the ticked boxes)
    days_ahead: str = "42"
    lead_hours: str = "12"
    hold_minutes: str = "10"
    cutoff_hours: str = "24"
    reminder_days: str = "-14, 0, 21"
    daily_cap: str = "200"
    providers: str = ""  # ids joined by commas (the view joins the ticked boxes); empty: every provider
    buffer_minutes: str = "0"


def _number(text: str, low: int, high: int) -> int | None:
    text = text.strip()
    value = int(text) if text.lstrip("-").isdigit() and len(text) < 8 else None
    return value if value is not None and low <= value <= high else None


async def save_settings(actor: Actor, form: SettingsForm) -> None:
    """Which appointment types patients may book online and with whom, how far ahead, lead time, buffer, hold,
    cutoff, reminders."""
    require(actor, Permission.MANAGE_CLINIC)
    errors = {}
    wanted = [n for n in (whole_number(t) for t in form.appointment_types.split(",") if t.strip()) if n]
    known = {r["id"] for r in await AppointmentType.select(AppointmentType.id).where(
        (AppointmentType.clinic == actor.clinic_id) & AppointmentType.id.is_in(wanted or [0]))}
    if set(wanted) - known:
        errors["appointment_types"] = _("Choose the practice's own appointment types.")
    chosen = [n for n in (whole_number(t) for t in form.providers.split(",") if t.strip()) if n]
    providers = {p["id"] for p in await practice_setup.list_providers(actor)} & set(chosen)
    if set(chosen) - providers:
        errors["providers"] = _("Choose the practice's own dentists and hygienists.")
    limits = {"days_ahead": (1, 365, _("Between 1 and 365 days.")),
              "lead_hours": (0, 720, _("Between 0 and 720 hours.")),
              "hold_minutes": (1, 60, _("Between 1 and 60 minutes.")),
              "cutoff_hours": (0, 720, _("Between 0 and 720 hours.")),
              "buffer_minutes": (0, 120, _("Between 0 and 120 minutes.")),
              "daily_cap": (0, 100000, _("Between 0 and 100000 messages."))}
    values: dict = {}
    for name, (low, high, message) in limits.items():
        typed = getattr(form, name)
        values[name] = _number(typed or "0" if name == "buffer_minutes" else typed, low, high)  # blank: no buffer
        if values[name] is None:
            errors[name] = message
    days = [_number(d, -365, 365) for d in form.reminder_days.replace(";", ",").split(",") if d.strip()]
    if None in days or len(days) > 5:
        errors["reminder_days"] = _("Up to five whole numbers of days from the due date, e.g. -14, 0, 21.")
    if errors:
        raise ValidationFailed(errors)
    values |= {"enabled": form.enabled, "appointment_types": sorted(known), "reminder_days": sorted(set(days)),
               "providers": sorted(providers),
               "updated_at": datetime.now(timezone.utc)}
    async with transaction():
        if await OnlineBooking.exists().where(OnlineBooking.clinic == actor.clinic_id):
            await OnlineBooking.update({getattr(OnlineBooking, k): v for k, v in values.items()}).where(
                OnlineBooking.clinic == actor.clinic_id)
        else:
            await OnlineBooking.insert(OnlineBooking(clinic=actor.clinic_id, **values))
        await audit.record(actor, "online_booking.settings", detail={k: v for k, v in values.items()
                                                                     if k != "updated_at"})


# --- Links --------------------------------------------------------------------------------------------------------

def recall_link(settings: Settings, clinic_id: int, patient_id: int, now: datetime | None = None) -> str:
    expires = (now or datetime.now(timezone.utc)) + timedelta(days=RECALL_LINK_DAYS)
    token = tokens.make(settings.secret_key, "recall", clinic_id, patient_id, expires)
    return links.absolute_url(settings, f"/book/{token}")


def code_path(secret: str, clinic_id: int, patient_id: int) -> str:
    """Where a right one-time code leads: the patient's booking page, by a link that lapses within hours."""
    expires = datetime.now(timezone.utc) + timedelta(hours=CODE_LINK_HOURS)
    return f"/book/{tokens.make(secret, 'recall', clinic_id, patient_id, expires)}"


def manage_path(secret: str, clinic_id: int, appointment_id: int, starts_at: datetime) -> str:
    """The patient's page for one appointment (valid until an hour after it starts)."""
    token = tokens.make(secret, "appointment", clinic_id, appointment_id, starts_at + timedelta(hours=1))
    return f"/my-appointment/{token}"


def manage_link(settings: Settings, clinic_id: int, appointment_id: int, starts_at: datetime) -> str:
    return links.absolute_url(settings, manage_path(settings.secret_key, clinic_id, appointment_id, starts_at))


async def manage_path_for(secret: str, visit: Visit, appointment_id: int) -> str:
    row = await Appointment.select(Appointment.starts_at).where(
        (Appointment.id == appointment_id) & (Appointment.clinic == visit.actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    return manage_path(secret, visit.actor.clinic_id, appointment_id, row["starts_at"])


async def _visit(clinic_id: int, patient_id: int, appointment: dict | None = None) -> Visit:
    clinic = await Clinic.select().where(Clinic.id == clinic_id).first()
    patient = await Patient.select(Patient.id, Patient.given_name, Patient.family_name, Patient.preferred_language,
                                   Patient.isolated_at).where(
        (Patient.id == patient_id) & (Patient.clinic == clinic_id)).first()
    settings = await booking_settings(clinic_id)
    if clinic is None or patient is None or patient["isolated_at"] is not None or not settings["enabled"]:
        raise NotFound()
    actor = Actor(kind="patient", id=patient_id, clinic_id=clinic_id, name="Patient (online)",
                  clinic_name=clinic["name"], time_zone=clinic["time_zone"], country=clinic["country"],
                  patient_id=patient_id, language=patient["preferred_language"])
    return Visit(actor, {**clinic, "given_name": patient["given_name"]}, settings, appointment)


async def open_recall_link(secret: str, token: str) -> Visit:
    """The visit behind a recall link; NotFound for a bad, expired or switched-off one (the same answer for all)."""
    link = tokens.read(secret, token, "recall")
    return await _visit(link.clinic_id, link.subject_id)


async def open_manage_link(secret: str, token: str) -> Visit:
    link = tokens.read(secret, token, "appointment")
    row = await Appointment.select(*Appointment.all_columns(), Appointment.appointment_type.name,
                                   Appointment.provider.name).where(
        (Appointment.id == link.subject_id) & (Appointment.clinic == link.clinic_id)).first()
    if row is None:
        raise NotFound()
    return await _visit(link.clinic_id, row["patient"], row)


# --- Slots --------------------------------------------------------------------------------------------------------

async def bookable_types(visit: Visit) -> list[dict]:
    return await AppointmentType.select(AppointmentType.id, AppointmentType.name, AppointmentType.minutes,
                                        AppointmentType.provider_roles).where(
        (AppointmentType.clinic == visit.actor.clinic_id) & (AppointmentType.active == True)  # noqa: E712
        & AppointmentType.id.is_in(list(visit.settings["appointment_types"]) or [0])).order_by(AppointmentType.name)


def _horizon(visit: Visit, now: datetime) -> tuple[datetime, date, date]:
    """(earliest start, first day, last day) the clinic lets patients book."""
    earliest = now + timedelta(hours=visit.settings["lead_hours"])
    first = clock.local(earliest, visit.actor.time_zone).date()
    return earliest, first, clock.today(visit.actor.time_zone) + timedelta(days=visit.settings["days_ahead"] - 1)


async def _rules(visit: Visit, first: date, last: date, now: datetime) -> availability.Rules:
    """The finder's rules (a move ignores the appointment's own present time) plus other patients' holds."""
    rules = await availability.load_rules(visit.actor, first, last,
                                          ignore_appointment=visit.appointment["id"] if visit.appointment else None)
    start, _ = clock.day_bounds(first, visit.actor.time_zone)
    _, end = clock.day_bounds(last, visit.actor.time_zone)
    for hold in await BookingHold.select().where(
            (BookingHold.clinic == visit.actor.clinic_id) & (BookingHold.expires_at > now)
            & (BookingHold.starts_at < end) & (BookingHold.ends_at > start)
            & (BookingHold.patient != visit.actor.patient_id)):
        availability.add_busy(rules, hold["provider"], hold["chair"], hold["starts_at"], hold["ends_at"])
    return online_only(rules, visit.settings["providers"], visit.settings["buffer_minutes"])


def online_only(rules: availability.Rules, providers: list[int], buffer_minutes: int) -> availability.Rules:
    """What a patient may book online: only the providers the clinic chose (none chosen: everyone), and every
    taken time widened by the clinic's buffer on both sides (staff booking at the desk keeps the plain rules)."""
    if providers:
        rules.providers = {pid: v for pid, v in rules.providers.items() if pid in providers}
    if buffer_minutes:
        pad = timedelta(minutes=buffer_minutes)
        for table in (rules.busy_provider, rules.busy_chair):
            for key, spans in table.items():
                table[key] = [(start - pad, end + pad) for start, end in spans]
    return rules


def slot_value(slot: availability.FreeSlot) -> str:
    return f"{slot.starts_at.astimezone(timezone.utc).isoformat()}|{slot.provider_id}|{slot.chair_id}"


async def offered_slots(visit: Visit, type_id: str = "", from_day: str = "") -> dict:
    """The public list: the bookable types, the chosen one, and its next free starts from `from_day` on."""
    types = await bookable_types(visit)
    if visit.appointment is not None:  # moving keeps the appointment's own type
        type_id = str(visit.appointment["appointment_type"])
        types = [t for t in types if str(t["id"]) == type_id]
    chosen = next((t for t in types if str(t["id"]) == type_id), types[0] if types else None)
    now = datetime.now(timezone.utc)
    earliest, first, last = _horizon(visit, now)
    try:
        asked = date.fromisoformat(from_day) if from_day else first
    except ValueError:
        asked = first
    start = min(max(asked, first), last)
    slots: list = []
    window = start
    while chosen is not None and window <= last and len(slots) < SLOTS_SHOWN:
        # A week at a time: a busy clinic fills the list from the first days without loading six weeks.
        until = min(window + timedelta(days=WINDOW_DAYS - 1), last)
        rules = await _rules(visit, window, until, now)
        query = availability.SlotQuery(minutes=chosen["minutes"], roles=tuple(chosen["provider_roles"].split(",")),
                                       first_day=window, days=(until - window).days + 1,
                                       limit=SLOTS_SHOWN - len(slots))
        slots += availability.free_slots(rules, query, window, earliest)
        window = until + timedelta(days=1)
    later = None
    if len(slots) == SLOTS_SHOWN and slots[-1].local_start.date() < last:
        later = (slots[-1].local_start.date() + timedelta(days=1)).isoformat()
    return {"types": types, "chosen": chosen, "slots": slots, "later": later, "first": first, "last": last}


def _parse_pick(pick: str) -> tuple[datetime, int, int] | None:
    parts = pick.split("|")
    if len(parts) != 3:
        return None
    try:
        start = datetime.fromisoformat(parts[0])
    except ValueError:
        return None
    provider, chair = whole_number(parts[1]), whole_number(parts[2])
    if start.tzinfo is None or provider is None or chair is None:
        return None
    return start.astimezone(timezone.utc), provider, chair


def expired_message() -> str:
    return _("Your hold has expired. Please choose a time again.")


def cutoff_message() -> str:
    return _("It is too close to the appointment to change it online. Please call the practice.")


def _gone() -> ValidationFailed:
    return ValidationFailed({"slot": _("Someone else has just taken this time. Please choose another.")})


async def hold_slot(visit: Visit, type_id: str, pick: str) -> int:
    """Hold the chosen free start for the clinic's hold minutes; the database refuses a second holder."""
    types = {str(t["id"]): t for t in await bookable_types(visit)}
    if visit.appointment is not None:  # moving: the appointment's own type, if it is bookable online
        type_id = str(visit.appointment["appointment_type"])
    chosen, parsed = types.get(type_id), _parse_pick(pick)
    if chosen is None or parsed is None:
        raise ValidationFailed({"slot": _("Choose one of the times shown.")})
    start, provider_id, chair_id = parsed
    now = datetime.now(timezone.utc)
    earliest, first, last = _horizon(visit, now)
    day = clock.local(start, visit.actor.time_zone).date()
    if not first <= day <= last:
        raise ValidationFailed({"slot": _("Choose one of the times shown.")})
    rules = await _rules(visit, day, day, now)
    query = availability.SlotQuery(minutes=chosen["minutes"], roles=tuple(chosen["provider_roles"].split(",")),
                                   provider_id=provider_id, chair_id=chair_id, first_day=day, days=1, limit=500,
                                   step_minutes=5)
    if not any(s.starts_at == start for s in availability.free_slots(rules, query, day, earliest)):
        raise _gone()
    try:
        async with transaction():
            await BookingHold.delete().where((BookingHold.expires_at <= now)
                                             & (BookingHold.clinic == visit.actor.clinic_id))
            await BookingHold.delete().where(BookingHold.patient == visit.actor.patient_id)
            row = BookingHold(clinic=visit.actor.clinic_id, patient=visit.actor.patient_id,
                              appointment_type=chosen["id"], provider=provider_id, chair=chair_id, starts_at=start,
                              ends_at=start + timedelta(minutes=chosen["minutes"]),
                              expires_at=now + timedelta(minutes=visit.settings["hold_minutes"]),
                              moving=visit.appointment["id"] if visit.appointment else None, created_at=now)
            await row.save()
            await audit.record(visit.actor, "online_booking.held", patient_id=visit.actor.patient_id,
                               object_type="booking_hold", object_id=row.id)
    except ExclusionViolationError:
        raise _gone() from None
    return row.id


async def held(visit: Visit, hold_id: str) -> dict:
    """The patient's own live hold, with what it is for; NotFound when it expired or is not theirs."""
    row = await BookingHold.select(*BookingHold.all_columns(), BookingHold.appointment_type.name,
                                   BookingHold.provider.name).where(
        (BookingHold.id == (whole_number(hold_id) or 0)) & (BookingHold.patient == visit.actor.patient_id)
        & (BookingHold.clinic == visit.actor.clinic_id)
        & (BookingHold.expires_at > datetime.now(timezone.utc))).first()
    if row is None:
        raise NotFound()
    return row


async def confirm(visit: Visit, hold_id: str, app_settings: Settings) -> int:
    """Turn the hold into the appointment (or the move), through the calendar's one booking rule."""
    try:
        hold = await held(visit, hold_id)
    except NotFound:
        raise ValidationFailed({"slot": expired_message()}) from None
    local = clock.local(hold["starts_at"], visit.actor.time_zone)
    minutes = str(int((hold["ends_at"] - hold["starts_at"]).total_seconds() // 60))

    def manage_url(appointment_id: int) -> str:
        return manage_link(app_settings, visit.actor.clinic_id, appointment_id, hold["starts_at"])

    # Not inside one transaction with the hold's removal: the calendar's booking turns a refusal by the
    # database into SlotTaken, which needs its own transaction to have ended cleanly.
    try:
        if hold["moving"]:
            await _check_cutoff(visit, visit.appointment)
            await scheduling.move_appointment(
                visit.actor, hold["moving"], scheduling.MoveForm(
                    date=local.date().isoformat(), time=f"{local:%H:%M}", chair_id=str(hold["chair"]),
                    provider_id=str(hold["provider"]), minutes=minutes), by=scheduling.ONLINE, manage_url=manage_url)
            appointment_id = hold["moving"]
        else:
            appointment_id = await scheduling.book_appointment(visit.actor, scheduling.BookingForm(
                patient_id=str(visit.actor.patient_id), appointment_type_id=str(hold["appointment_type"]),
                provider_id=str(hold["provider"]), chair_id=str(hold["chair"]), date=local.date().isoformat(),
                time=f"{local:%H:%M}", minutes=minutes, notes="Booked online"), by=scheduling.ONLINE,
                manage_url=manage_url)
    except ValidationFailed as exc:
        await BookingHold.delete().where(BookingHold.id == hold["id"])
        if "cutoff" in exc.errors:
            raise
        raise _gone() from None
    await BookingHold.delete().where(BookingHold.id == hold["id"])
    return appointment_id


async def _check_cutoff(visit: Visit, appointment: dict | None) -> None:
    if appointment is None:
        raise NotFound()
    if appointment["status"] not in statuses.CANCELLABLE:
        raise ValidationFailed({"cutoff": _("This appointment can no longer be changed online.")})
    if appointment["starts_at"] - datetime.now(timezone.utc) < timedelta(hours=visit.settings["cutoff_hours"]):
        raise ValidationFailed({"cutoff": cutoff_message()})


def still_open(visit: Visit) -> bool:
    """The appointment is still to come (booked or confirmed), whether or not it may still change online."""
    return bool(visit.appointment and visit.appointment["status"] in statuses.OPEN)


def may_change(visit: Visit) -> bool:
    appointment = visit.appointment
    return bool(appointment and appointment["status"] in statuses.CANCELLABLE and appointment["starts_at"]
                - datetime.now(timezone.utc) >= timedelta(hours=visit.settings["cutoff_hours"]))


async def cancel(visit: Visit) -> None:
    """Cancel by the patient's link, up to the clinic's cutoff (the calendar's set_status does the rest)."""
    await _check_cutoff(visit, visit.appointment)
    await scheduling.set_status(visit.actor, visit.appointment["id"], statuses.Status.CANCELLED, CANCEL_REASON,
                                by=scheduling.ONLINE)
