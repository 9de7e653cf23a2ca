"""Recall types per clinic: interval, the appointment type they book, the fee codes whose completion resets them."""

from dataclasses import dataclass
from datetime import datetime, timezone

from asyncpg.exceptions import UniqueViolationError

from portal import audit
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, required, too_long, whole_number
from portal.i18n import _
from portal.permissions import Actor, Permission, require
from portal.tables import AppointmentType, RecallType

# (name, months, fee codes, for children, appointment type names it books, first match wins)
DEFAULTS = (
    ("Check-up", 6, "EX01,EX02", False, ("check-up", "checkup", "examination")),
    ("Hygiene", 6, "HY01", False, ("hygiene", "cleaning", "scale and polish")),
    ("Perio maintenance", 3, "PM01", False, ("perio maintenance", "hygiene", "cleaning")),
    ("Child check-up", 6, "EX01,EX02", True, ("child check-up", "check-up", "checkup")),
)
PERIO_DEFAULT = "Perio maintenance"  # the starter type a perio diagnosis moves a patient to


@dataclass(frozen=True)
class RecallTypeForm:
    name: str = ""
    months: str = "6"
    appointment_type_id: str = ""
    fee_codes: str = ""
    for_children: bool = False


def codes(text: str) -> list[str]:
    """'ex01, EX02' -> ['EX01', 'EX02'] (the fee schedule keeps codes upper case)."""
    return [c.strip().upper() for c in text.replace(";", ",").split(",") if c.strip()]


async def ensure_defaults(clinic_id: int) -> None:
    """The four starter types, once per clinic (kept when renamed or switched off: matched by name)."""
    if await RecallType.exists().where(RecallType.clinic == clinic_id):
        return
    types = {r["name"].lower(): r["id"] for r in await AppointmentType.select(
        AppointmentType.id, AppointmentType.name).where((AppointmentType.clinic == clinic_id)
                                                        & (AppointmentType.active == True))}  # noqa: E712
    now = datetime.now(timezone.utc)
    for name, months, fee_codes, children, books in DEFAULTS:
        booked = next((types[n] for n in books if n in types), None)
        await RecallType.raw(
            "INSERT INTO recall_type (clinic, name, months, appointment_type, fee_codes, for_children, created_at, "
            "perio) VALUES ({}, {}, {}, {}, {}, {}, {}, {}) ON CONFLICT DO NOTHING",
            clinic_id, name, months, booked, fee_codes, children, now, name == PERIO_DEFAULT)


async def perio_type(clinic_id: int) -> dict | None:
    """The clinic's active perio maintenance type, if it keeps one."""
    await ensure_defaults(clinic_id)
    return await RecallType.select().where((RecallType.clinic == clinic_id) & (RecallType.perio == True)  # noqa: E712
                                           & (RecallType.active == True)).first()  # noqa: E712


async def list_types(actor: Actor, active_only: bool = False) -> list[dict]:
    require(actor, Permission.MANAGE_CALENDAR)
    await ensure_defaults(actor.clinic_id)
    query = RecallType.select(*RecallType.all_columns(), RecallType.appointment_type.name).where(
        RecallType.clinic == actor.clinic_id)
    if active_only:
        query = query.where(RecallType.active == True)  # noqa: E712
    return await query.order_by(RecallType.name)


async def get_type(actor: Actor, type_id: int) -> dict:
    row = await RecallType.select().where((RecallType.id == type_id) & (RecallType.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    return row


async def save_type(actor: Actor, form: RecallTypeForm, type_id: int | None = None) -> int:
    """Add a recall type, or change one (new intervals apply from the next completed procedure)."""
    require(actor, Permission.MANAGE_CLINIC)
    if type_id is not None:
        await get_type(actor, type_id)
    name = form.name.strip()
    months = whole_number(form.months)
    booked = whole_number(form.appointment_type_id)
    errors = collect(name=required(name, _("A name")) or too_long(name, 80),
                     months=None if months and 1 <= months <= 60 else _("Give the interval in months, 1 to 60."),
                     fee_codes=too_long(form.fee_codes.strip(), 200))
    if booked is not None and not await AppointmentType.exists().where(
            (AppointmentType.id == booked) & (AppointmentType.clinic == actor.clinic_id)):
        errors["appointment_type_id"] = _("Choose one of the practice's appointment types.")
    if errors:
        raise ValidationFailed(errors)
    values = {RecallType.name: name, RecallType.months: months, RecallType.appointment_type: booked,
              RecallType.fee_codes: ",".join(codes(form.fee_codes)), RecallType.for_children: form.for_children}
    try:
        async with transaction():
            if type_id is None:
                row = RecallType({**{c._meta.name: v for c, v in values.items()}, "clinic": actor.clinic_id,
                                  "created_at": datetime.now(timezone.utc)})
                await row.save()
                type_id = row.id
            else:
                await RecallType.update(values).where(RecallType.id == type_id)
            await audit.record(actor, "recall_type.saved", object_type="recall_type", object_id=type_id,
                               detail={"name": name, "months": months})
    except UniqueViolationError:
        raise ValidationFailed({"name": _("There is already a recall type with this name.")}) from None
    return type_id


async def set_active(actor: Actor, type_id: int, active: bool) -> None:
    require(actor, Permission.MANAGE_CLINIC)
    await get_type(actor, type_id)
    async with transaction():
        await RecallType.update({RecallType.active: active}).where(RecallType.id == type_id)
        await audit.record(actor, "recall_type.active" if active else "recall_type.inactive",
                           object_type="recall_type", object_id=type_id)
