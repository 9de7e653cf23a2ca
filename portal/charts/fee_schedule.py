"""The clinic's own fee schedule: procedure codes, descriptions, fees in the clinic's currency.

Plans copy code, description and fee when a procedure is planned, so editing the schedule never changes
a plan already made or accepted.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from asyncpg.exceptions import UniqueViolationError

from portal import audit
from portal.charts.odontogram import KINDS, MATERIALS
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, required, too_long
from portal.i18n import gettext, lazy_gettext
from portal.permissions import Actor, Permission, require
from portal.tables import Clinic, ProcedureCode

CHARTS_AS = {"": lazy_gettext("Nothing on the tooth chart"), **KINDS}

# An editable starter list with the clinic's own codes (not a copyrighted national code set).
DEMO_SCHEDULE = (
    ("EX01", "Comprehensive examination", "55.00", "", ""),
    ("EX02", "Periodic examination", "35.00", "", ""),
    ("XR01", "Bitewing radiographs (2)", "30.00", "", ""),
    ("XR02", "Panoramic radiograph", "65.00", "", ""),
    ("HY01", "Scale and polish", "60.00", "", ""),
    ("SE01", "Fissure sealant, per tooth", "30.00", "sealant", "composite"),
    ("FI1", "Filling, one surface (composite)", "75.00", "filling", "composite"),
    ("FI2", "Filling, two surfaces (composite)", "105.00", "filling", "composite"),
    ("FI3", "Filling, three or more surfaces (composite)", "135.00", "filling", "composite"),
    ("RC1", "Root canal treatment, incisor or canine", "380.00", "root_canal", ""),
    ("RC3", "Root canal treatment, molar", "620.00", "root_canal", ""),
    ("CR1", "Crown, ceramic", "780.00", "crown", "ceramic"),
    ("BR1", "Bridge unit, metal-ceramic", "720.00", "bridge", "metal_ceramic"),
    ("IM1", "Implant placement", "1450.00", "implant", "titanium"),
    ("XT1", "Extraction, simple", "95.00", "missing", ""),
)


@dataclass(frozen=True)
class ProcedureForm:
    code: str = ""
    description: str = ""
    fee: str = ""
    charts_as: str = ""
    material: str = ""
    active: bool = True


def parse_fee(text: str) -> Decimal | None:
    try:
        fee = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        return None
    if not fee.is_finite() or fee < 0 or fee >= Decimal("100000000") or fee != fee.quantize(Decimal("0.01")):
        return None
    return fee


def _clean(form: ProcedureForm) -> dict:
    fee = parse_fee(form.fee)
    errors = collect(
        code=required(form.code, "Code") or too_long(form.code.strip(), 20),
        description=required(form.description, gettext("Description")) or too_long(form.description.strip(), 200),
        fee=None if fee is not None else gettext("Enter a fee like 75.00 (zero or more, at most two decimals)."),
        charts_as=None if form.charts_as in CHARTS_AS else gettext("Choose from the list."),
        material=None if form.material in MATERIALS else "Choose from the list.")
    if errors:
        raise ValidationFailed(errors)
    return {"code": form.code.strip().upper(), "description": form.description.strip(), "fee": fee,
            "charts_as": form.charts_as, "material": form.material, "active": form.active}


async def currency(clinic_id: int) -> str:
    return (await Clinic.select(Clinic.currency).where(Clinic.id == clinic_id).first())["currency"]


async def list_codes(actor: Actor, active_only: bool = False) -> list[dict]:
    require(actor, Permission.READ_CLINICAL)
    query = ProcedureCode.select().where(ProcedureCode.clinic == actor.clinic_id)
    if active_only:
        query = query.where(ProcedureCode.active == True)  # noqa: E712 (Piccolo builds SQL from ==)
    return await query.order_by(ProcedureCode.code)


async def get_code(actor: Actor, code_id: int) -> dict:
    require(actor, Permission.READ_CLINICAL)
    row = await ProcedureCode.select().where(
        (ProcedureCode.id == code_id) & (ProcedureCode.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    return row


async def save_code(actor: Actor, form: ProcedureForm, code_id: int | None = None) -> int:
    """Add a code, or change one (fee changes apply to procedures planned from now on)."""
    require(actor, Permission.MANAGE_CLINIC)
    if code_id is not None:
        await get_code(actor, code_id)
    values = _clean(form)
    try:
        async with transaction():
            if code_id is None:
                code_id = (await ProcedureCode.insert(ProcedureCode(clinic=actor.clinic_id, **values)))[0]["id"]
            else:
                await ProcedureCode.update(values).where(
                    (ProcedureCode.id == code_id) & (ProcedureCode.clinic == actor.clinic_id))
            await audit.record(actor, "fee_schedule.saved", object_type="procedure_code", object_id=code_id,
                               detail={"code": values["code"], "fee": str(values["fee"])})
    except UniqueViolationError:
        raise ValidationFailed({"code": f"The code {values['code']} is already in the schedule."}) from None
    return code_id


async def load_demo_schedule(actor: Actor) -> int:
    """Add the starter list's codes the clinic does not have yet; returns how many were added."""
    require(actor, Permission.MANAGE_CLINIC)
    async with transaction():
        rows = await ProcedureCode.raw(
            "INSERT INTO procedure_code (clinic, code, description, fee, charts_as, material) "
            "SELECT {}, d.code, d.description, d.fee::numeric, d.charts_as, d.material FROM unnest("
            "{}::text[], {}::text[], {}::text[], {}::text[], {}::text[]) AS d(code, description, fee, charts_as, "
            "material) ON CONFLICT (clinic, code) DO NOTHING RETURNING id",
            actor.clinic_id, *[list(column) for column in zip(*DEMO_SCHEDULE)])
        await audit.record(actor, "fee_schedule.demo_loaded", object_type="procedure_code",
                           detail={"added": len(rows)})
    return len(rows)
