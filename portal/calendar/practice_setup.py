"""What the practice sets up for its calendar: chairs, appointment types, opening hours, closures,
provider working hours and absences (the owner's job)."""

from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from babel.dates import get_day_names

from portal import audit, clock, i18n
from portal.calendar.statuses import OPEN
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, parse_date, required, too_long
from portal.i18n import gettext
from portal.permissions import Actor, Permission, Role, require
from portal.tables import (
    Appointment,
    AppointmentType,
    Chair,
    Clinic,
    Closure,
    OpeningHours,
    ProviderAbsence,
    ProviderHours,
    Staff,
)

# Type colours come from a fixed palette, so the CSP can stay free of inline styles (one class per colour).
PALETTE = {"#2f7d6d": "teal", "#1a6fd1": "blue", "#8e44ad": "purple", "#c0392b": "red", "#d35400": "orange",
           "#b7950b": "gold", "#27ae60": "green", "#5d6d7e": "slate", "#c2185b": "pink", "#00838f": "cyan"}


def weekday_names() -> tuple[str, ...]:
    """Monday..Sunday in the reader's language (CLDR), capitalised for labels."""
    names = get_day_names("wide", locale=i18n.babel_locale())
    return tuple(names[d][:1].upper() + names[d][1:] for d in range(7))


@dataclass(frozen=True)
class TypeForm:
    name: str = ""
    minutes: str = "30"
    colour: str = "#2f7d6d"
    provider_roles: str = "dentist,hygienist"


def colour_class(hex_colour: str) -> str:
    return "tc-" + PALETTE.get(hex_colour, "teal")


async def list_chairs(actor: Actor, include_retired: bool = False) -> list[dict]:
    query = Chair.select().where(Chair.clinic == actor.clinic_id)
    if not include_retired:
        query = query.where(Chair.retired == False)  # noqa: E712
    return await query.order_by(Chair.position).order_by(Chair.id)


async def add_chair(actor: Actor, name: str) -> int:
    require(actor, Permission.MANAGE_CLINIC)
    if problem := required(name, "Name") or too_long(name, 60) or await _chair_name_taken(actor, name):
        raise ValidationFailed({"name": problem})
    position = await Chair.count().where(Chair.clinic == actor.clinic_id)
    row = Chair(clinic=actor.clinic_id, name=name.strip(), position=position + 1,
                created_at=datetime.now(timezone.utc))
    async with transaction():
        await row.save()
        await audit.record(actor, "chair.added", object_type="chair", object_id=row.id)
    return row.id


async def _chair_name_taken(actor: Actor, name: str) -> str | None:
    """Two chairs in use may not share a name (case-insensitive): the desk books by name."""
    rows = await Chair.raw("SELECT 1 FROM chair WHERE clinic = {} AND NOT retired AND lower(name) = lower({})",
                           actor.clinic_id, name.strip())
    return "A chair with this name already exists." if rows else None


async def _type_name_taken(actor: Actor, name: str) -> str | None:
    rows = await AppointmentType.raw(
        "SELECT 1 FROM appointment_type WHERE clinic = {} AND active AND lower(name) = lower({})",
        actor.clinic_id, name.strip())
    return gettext("An appointment type with this name already exists.") if rows else None


async def retire_chair(actor: Actor, chair_id: int) -> None:
    """Retired chairs leave the day view but keep their history."""
    require(actor, Permission.MANAGE_CLINIC)
    updated = await Chair.update({Chair.retired: True}).where(
        (Chair.id == chair_id) & (Chair.clinic == actor.clinic_id)).returning(Chair.id)
    if not updated:
        raise NotFound()
    await audit.record(actor, "chair.retired", object_type="chair", object_id=chair_id)


async def list_types(actor: Actor) -> list[dict]:
    rows = await AppointmentType.select().where((AppointmentType.clinic == actor.clinic_id)
                                                & (AppointmentType.active == True)).order_by(  # noqa: E712
        AppointmentType.name)
    for row in rows:
        row["colour_class"] = colour_class(row["colour"])
    return rows


async def add_type(actor: Actor, form: TypeForm) -> int:
    require(actor, Permission.MANAGE_CLINIC)
    roles = [r for r in form.provider_roles.split(",") if r]
    minutes = int(form.minutes) if form.minutes.isdigit() else 0
    errors = collect(
        name=required(form.name, "Name") or too_long(form.name, 80) or await _type_name_taken(actor, form.name),
        minutes=None if 5 <= minutes <= 480 and minutes % 5 == 0
        else gettext("Length goes in 5-minute steps, up to 8 hours."),
        colour=None if form.colour in PALETTE else gettext("Choose a colour from the list."),
        provider_roles=None if roles and all(r in (Role.DENTIST, Role.HYGIENIST, Role.OWNER) for r in roles)
        else gettext("Choose who can provide it."))
    if errors:
        raise ValidationFailed(errors)
    row = AppointmentType(clinic=actor.clinic_id, name=form.name.strip(), minutes=minutes, colour=form.colour,
                          provider_roles=",".join(roles))
    async with transaction():
        await row.save()
        await audit.record(actor, "appointment_type.added", object_type="appointment_type", object_id=row.id)
    return row.id


async def set_opening_hours(actor: Actor, weekday: int, windows: list[tuple[time, time]]) -> None:
    """Replace one weekday's opening hours (an empty list closes that weekday)."""
    require(actor, Permission.MANAGE_CLINIC)
    if any(opens >= closes for opens, closes in windows) or not 0 <= weekday <= 6:
        raise ValidationFailed({"hours": gettext("Each period must end after it starts.")})
    async with transaction():
        await OpeningHours.delete().where((OpeningHours.clinic == actor.clinic_id) & (OpeningHours.weekday == weekday))
        for opens, closes in windows:
            await OpeningHours.insert(OpeningHours(clinic=actor.clinic_id, weekday=weekday, opens=opens,
                                                   closes=closes))
        await audit.record(actor, "clinic.opening_hours_set", detail={"weekday": weekday})


async def add_closure(actor: Actor, first_day: str, last_day: str, reason: str) -> int:
    """A public holiday or a closed period (single day or range)."""
    require(actor, Permission.MANAGE_CLINIC)
    first, last = parse_date(first_day), parse_date(last_day or first_day)
    errors = collect(first_day=None if first else gettext("Choose the first closed day."),
                     last_day=None if last and (not first or last >= first)
                     else gettext("The last day comes after the first."),
                     reason=too_long(reason, 200))
    if errors:
        raise ValidationFailed(errors)
    row = Closure(clinic=actor.clinic_id, first_day=first, last_day=last, reason=reason.strip())
    await row.save()
    return row.id


async def remove_closure(actor: Actor, closure_id: int) -> None:
    """The practice opens on those days after all (a database trigger queues them for the waitlist's offers)."""
    require(actor, Permission.MANAGE_CLINIC)
    async with transaction():
        gone = await Closure.delete().where((Closure.id == closure_id) & (Closure.clinic == actor.clinic_id)
                                            ).returning(Closure.first_day, Closure.last_day)
        if not gone:
            raise NotFound()
        await audit.record(actor, "clinic.closure_removed", detail={"first_day": gone[0]["first_day"].isoformat(),
                                                                    "last_day": gone[0]["last_day"].isoformat()})


async def appointments_during(actor: Actor, first: date, last: date, provider_id: int | None = None) -> list[dict]:
    """Active appointments on days from `first` to `last` (local), e.g. those a new closure or absence hits."""
    start, _ = clock.day_bounds(first, actor.time_zone)
    _, end = clock.day_bounds(last, actor.time_zone)
    query = Appointment.select(
        Appointment.id, Appointment.patient, Appointment.starts_at, Appointment.patient.given_name,
        Appointment.patient.family_name, Appointment.provider.name, Appointment.chair.name).where(
        (Appointment.clinic == actor.clinic_id) & (Appointment.starts_at >= start) & (Appointment.starts_at < end)
        & Appointment.status.is_in([s.value for s in OPEN]))
    if provider_id is not None:
        query = query.where(Appointment.provider == provider_id)
    return await query.order_by(Appointment.starts_at)


async def closure_impact(actor: Actor, closure_id: int) -> dict:
    """A closure and the booked appointments on its days, which the desk now reschedules or tells."""
    require(actor, Permission.MANAGE_CLINIC)
    closure = await Closure.select().where((Closure.id == closure_id) & (Closure.clinic == actor.clinic_id)).first()
    if closure is None:
        raise NotFound()
    hit = await appointments_during(actor, closure["first_day"], closure["last_day"])
    if hit:
        await audit.record_patients_shown(actor, "closure.appointments_listed", sorted({a["patient"] for a in hit}))
    return {"closure": closure, "appointments": hit}


async def set_provider_hours(actor: Actor, provider_id: int, weekday: int,
                             windows: list[tuple[time, time, int | None]]) -> None:
    """Replace one provider's working hours on a weekday, each period optionally in a fixed chair."""
    require(actor, Permission.MANAGE_CLINIC)
    if not await Staff.exists().where((Staff.id == provider_id) & (Staff.clinic == actor.clinic_id)):
        raise NotFound()
    if any(starts >= ends for starts, ends, _ in windows):
        raise ValidationFailed({"hours": gettext("Each period must end after it starts.")})
    async with transaction():
        await ProviderHours.delete().where((ProviderHours.clinic == actor.clinic_id)
                                           & (ProviderHours.provider == provider_id)
                                           & (ProviderHours.weekday == weekday))
        for starts, ends, chair in windows:
            await ProviderHours.insert(ProviderHours(clinic=actor.clinic_id, provider=provider_id, weekday=weekday,
                                                     starts=starts, ends=ends, chair=chair))


async def add_absence(actor: Actor, provider_id: int, first_day: str, last_day: str, reason: str = "") -> int:
    require(actor, Permission.MANAGE_CLINIC)
    if not await Staff.exists().where((Staff.id == provider_id) & (Staff.clinic == actor.clinic_id)):
        raise NotFound()
    first, last = parse_date(first_day), parse_date(last_day or first_day)
    if not first or not last or last < first:
        raise ValidationFailed({"first_day": gettext("Choose the days away.")})
    row = ProviderAbsence(clinic=actor.clinic_id, provider=provider_id, first_day=first, last_day=last,
                          reason=reason.strip()[:200])
    await row.save()
    return row.id


async def list_providers(actor: Actor) -> list[dict]:
    """Staff who treat patients (dentists and hygienists, and owners who are clinicians)."""
    return await Staff.select(Staff.id, Staff.name, Staff.role).where(
        (Staff.clinic == actor.clinic_id) & (Staff.active == True)  # noqa: E712
        & Staff.role.is_in([Role.DENTIST.value, Role.HYGIENIST.value])).order_by(Staff.name)


def weekday_hours(start: str, end: str) -> tuple[time, time] | None:
    opens, closes = clock.parse_time(start), clock.parse_time(end)
    return (opens, closes) if opens and closes and opens < closes else None


async def overview(actor: Actor) -> dict:
    """Everything on the set-up page: chairs, types, the week's hours, closures, providers with schedules."""
    require(actor, Permission.MANAGE_CLINIC)
    hours = {r["weekday"]: r for r in await OpeningHours.select().where(OpeningHours.clinic == actor.clinic_id)}
    providers = await list_providers(actor)
    schedule: dict[int, dict[int, dict]] = {p["id"]: {} for p in providers}
    for row in await ProviderHours.select().where(ProviderHours.clinic == actor.clinic_id):
        schedule.setdefault(row["provider"], {})[row["weekday"]] = row
    absences: dict[int, list] = {p["id"]: [] for p in providers}
    for row in await ProviderAbsence.select().where(ProviderAbsence.clinic == actor.clinic_id).order_by(
            ProviderAbsence.first_day):
        absences.setdefault(row["provider"], []).append(row)
    return {"chairs": await list_chairs(actor, include_retired=True), "types": await list_types(actor),
            "hours": hours, "weekdays": weekday_names(), "palette": PALETTE, "providers": providers,
            "schedule": schedule, "absences": absences,
            "closures": await Closure.select().where(Closure.clinic == actor.clinic_id).order_by(Closure.first_day)}


def _week_windows(posted: dict, prefix: str) -> tuple[dict[int, tuple[time, time] | None], dict[str, str]]:
    """Read `<prefix>opens_<d>`/`<prefix>closes_<d>` pairs: both empty = closed that day."""
    windows, errors = {}, {}
    for weekday, name in enumerate(weekday_names()):
        opens, closes = str(posted.get(f"opens_{weekday}", "")), str(posted.get(f"closes_{weekday}", ""))
        if not opens and not closes:
            windows[weekday] = None
        elif (window := weekday_hours(opens, closes)) is None:
            errors[f"{prefix}{weekday}"] = gettext(
                "%(day)s: enter a start and a later end, e.g. 08:00 and 17:30.", day=name)
        else:
            windows[weekday] = window
    return windows, errors


async def set_week_hours(actor: Actor, posted: dict) -> None:
    """The clinic's opening hours for the whole week from the set-up form (all or nothing)."""
    require(actor, Permission.MANAGE_CLINIC)
    windows, errors = _week_windows(posted, "hours_")
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        for weekday, window in windows.items():
            await set_opening_hours(actor, weekday, [window] if window else [])


async def set_provider_week(actor: Actor, provider_id: int, posted: dict) -> None:
    """A provider's weekly hours from the set-up form; a weekday left empty means not working."""
    require(actor, Permission.MANAGE_CLINIC)
    windows, errors = _week_windows(posted, "hours_")
    chairs = {str(c["id"]): c["id"] for c in await list_chairs(actor)}
    names = weekday_names()
    open_days = {r["weekday"]: r for r in await OpeningHours.select().where(OpeningHours.clinic == actor.clinic_id)}
    for weekday, window in windows.items():
        chair_text = str(posted.get(f"chair_{weekday}", ""))
        if chair_text and chair_text not in chairs:
            errors[f"chair_{weekday}"] = gettext("%(day)s: choose a chair of this clinic.", day=names[weekday])
        if window and weekday not in open_days:
            errors[f"hours_{weekday}"] = gettext("%(day)s: the clinic is closed that day.", day=names[weekday])
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        for weekday, window in windows.items():
            chair = chairs.get(str(posted.get(f"chair_{weekday}", "")))
            await set_provider_hours(actor, provider_id, weekday, [(*window, chair)] if window else [])


async def clinic_language(actor: Actor) -> str:
    """The clinic's language: what its staff read unless they chose their own, and patients without one."""
    row = await Clinic.select(Clinic.locale).where(Clinic.id == actor.clinic_id).first()
    return i18n.choose(row["locale"])


async def set_clinic_language(actor: Actor, language: str) -> None:
    """The owner sets the clinic's language (one of the shipped catalogues)."""
    require(actor, Permission.MANAGE_CLINIC)
    if language not in i18n.LANGUAGES:
        raise ValidationFailed({"clinic_language": gettext("Choose from the list.")})
    async with transaction():
        await Clinic.update({Clinic.locale: language}).where(Clinic.id == actor.clinic_id)
        await audit.record(actor, "clinic.language", object_type="clinic", object_id=actor.clinic_id,
                           detail={"language": language})
