"""The clinic's lab directory: who makes what, how fast, at what price, and which patient data each lab gets."""

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation

from portal import audit, display
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, email_problem, required, too_long, whole_number
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext
from portal.permissions import Actor, Permission, require
from portal.tables import Lab

ITEMS = {"crown": lazy_gettext("Crown"), "bridge": lazy_gettext("Bridge"), "inlay": lazy_gettext("Inlay"),
         "denture": lazy_gettext("Denture"), "night_guard": lazy_gettext("Night guard"),
         "retainer": lazy_gettext("Retainer"), "aligners": lazy_gettext("Aligner series")}
display.register_labels("lab_item", ITEMS)
DEFAULT_TURNAROUND = 10  # working days, for an item the lab has not given a turnaround for
MAX_TURNAROUND = 120


@dataclass(frozen=True)
class LabForm:
    """The lab's details; `turnaround`/`prices` are one line per item, e.g. "crown 7" and "crown 145.00"."""

    name: str = ""
    contact: str = ""
    email: str = ""
    address: str = ""
    turnaround: str = ""
    prices: str = ""
    shares_history: bool = False


def _per_item(text: str, read) -> tuple[dict, str | None]:
    """Lines "item value" into {item: value}; the message names the first line that is not one."""
    found = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        item, _sep, value = line.strip().partition(" ")
        parsed = read(value.strip()) if item in ITEMS else None
        if parsed is None:
            return found, _("Write one item and its value per line, e.g. “crown 7”: %(line)s", line=line.strip())
        found[item] = parsed
    return found, None


def _days(value: str) -> int | None:
    days = whole_number(value)
    return days if days is not None and 1 <= days <= MAX_TURNAROUND else None


def _price(value: str) -> str | None:
    try:
        amount = Decimal(value.replace(",", "."))
    except InvalidOperation:
        return None
    return f"{amount:.2f}" if amount.is_finite() and 0 <= amount < 100_000 else None


def _clean(form: LabForm) -> dict:
    turnaround, turnaround_problem = _per_item(form.turnaround, _days)
    prices, price_problem = _per_item(form.prices, _price)
    errors = collect(name=required(form.name, _("Name")) or too_long(form.name, 200),
                     contact=too_long(form.contact, 200), email=email_problem(form.email),
                     address=too_long(form.address, 500), turnaround=turnaround_problem, prices=price_problem)
    if errors:
        raise ValidationFailed(errors)
    return {"name": form.name.strip(), "contact": form.contact.strip(), "email": form.email.strip().lower(),
            "address": form.address.strip(), "turnaround": turnaround, "prices": prices,
            "shares_history": form.shares_history}


async def add_lab(actor: Actor, form: LabForm) -> int:
    require(actor, Permission.MANAGE_CLINIC)
    fields = _clean(form)
    async with transaction():
        rows = await Lab.insert(Lab(clinic=actor.clinic_id, created_at=datetime.now(timezone.utc), **fields))
        await audit.record(actor, "lab.added", object_type="lab", object_id=rows[0]["id"])
    return rows[0]["id"]


async def update_lab(actor: Actor, lab_id: int, form: LabForm) -> None:
    require(actor, Permission.MANAGE_CLINIC)
    fields = _clean(form)
    async with transaction():
        done = await Lab.update({getattr(Lab, k): v for k, v in fields.items()}).where(
            (Lab.id == lab_id) & (Lab.clinic == actor.clinic_id)).returning(Lab.id)
        if not done:
            raise NotFound()
        await audit.record(actor, "lab.updated", object_type="lab", object_id=lab_id)


def _decoded(row: dict) -> dict:
    for key in ("turnaround", "prices"):
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row


async def list_labs(actor: Actor, active_only: bool = False) -> list[dict]:
    """The clinic's labs (business contacts, not patient data: nothing to audit)."""
    require(actor, Permission.VIEW_DASHBOARD)
    query = Lab.select().where(Lab.clinic == actor.clinic_id)
    if active_only:
        query = query.where(Lab.active.eq(True))
    return [_decoded(row) for row in await query.order_by(Lab.name)]


async def get_lab(actor: Actor, lab_id: int) -> dict:
    require(actor, Permission.VIEW_DASHBOARD)
    row = await Lab.select().where((Lab.id == lab_id) & (Lab.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    return _decoded(row)


def form_from_lab(row: dict) -> LabForm:
    return LabForm(name=row["name"], contact=row["contact"], email=row["email"], address=row["address"],
                   turnaround="\n".join(f"{k} {v}" for k, v in row["turnaround"].items()),
                   prices="\n".join(f"{k} {v}" for k, v in row["prices"].items()),
                   shares_history=row["shares_history"])


def turnaround_for(lab: dict, items: list[str]) -> int:
    """Working days for a case: the slowest of its items (an item without a figure counts the default)."""
    return max((int(lab["turnaround"].get(item, DEFAULT_TURNAROUND)) for item in items), default=DEFAULT_TURNAROUND)
