"""The clinic's billing settings: the tax id printed on invoices, payment terms, and the VAT rate of each fee code."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from portal import audit
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.forms import too_long, whole_number
from portal.i18n import _
from portal.permissions import Actor, Permission, require
from portal.tables import Clinic, ProcedureCode


@dataclass(frozen=True)
class BillingSettingsForm:
    tax_id: str = ""
    payment_terms_days: str = "30"


def _rate(text: str) -> Decimal | None:
    try:
        rate = Decimal((text or "0").strip().replace(",", ".") or "0")
    except InvalidOperation:
        return None
    if not rate.is_finite() or rate < 0 or rate >= 100 or rate != rate.quantize(Decimal("0.01")):
        return None
    return rate


async def settings_page(actor: Actor) -> dict:
    require(actor, Permission.MANAGE_CLINIC)
    clinic = await Clinic.select(Clinic.tax_id, Clinic.payment_terms_days, Clinic.currency).where(
        Clinic.id == actor.clinic_id).first()
    codes = await ProcedureCode.select(ProcedureCode.id, ProcedureCode.code, ProcedureCode.description,
                                       ProcedureCode.fee, ProcedureCode.vat_rate).where(
        ProcedureCode.clinic == actor.clinic_id).order_by(ProcedureCode.code)
    return {"clinic": clinic, "codes": codes}


async def save_settings(actor: Actor, form: BillingSettingsForm, rates: dict[int, str]) -> None:
    """Save the tax id, payment terms and VAT rates (new rates apply to procedures completed from now on)."""
    require(actor, Permission.MANAGE_CLINIC)
    tax_id = form.tax_id.strip()
    days = whole_number(form.payment_terms_days)
    errors = {}
    if problem := too_long(tax_id, 40):
        errors["tax_id"] = problem
    if days is None or not 0 <= days <= 365:
        errors["payment_terms_days"] = _("Enter a number of days from 0 to 365.")
    own = {c["id"] for c in await ProcedureCode.select(ProcedureCode.id).where(
        ProcedureCode.clinic == actor.clinic_id)}
    parsed = {}
    for code_id, text in rates.items():
        rate = _rate(text)
        if code_id not in own or rate is None:
            errors[f"vat_{code_id}"] = _("Enter a VAT rate in percent, like 21 or 0 for exempt care.")
        else:
            parsed[code_id] = rate
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        await Clinic.update({Clinic.tax_id: tax_id, Clinic.payment_terms_days: days}).where(
            Clinic.id == actor.clinic_id)
        for code_id, rate in parsed.items():
            await ProcedureCode.update({ProcedureCode.vat_rate: rate}).where(
                (ProcedureCode.id == code_id) & (ProcedureCode.clinic == actor.clinic_id))
        await audit.record(actor, "billing.settings_saved", object_type="clinic", object_id=actor.clinic_id,
                           detail={"tax_id": tax_id, "payment_terms_days": days,
                                   "vat": {str(k): str(v) for k, v in parsed.items()}})
