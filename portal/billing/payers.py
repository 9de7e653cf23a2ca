"""The clinic's third-party payers (insurers and funds) and what each reimburses per fee code; the owner's settings.

A payer's share of a charge comes from its rate for the charge's fee code, else from its default percentage.
A rate is typed as a percentage ("80 %") or a fixed amount ("250.00"): that is how insurers publish their
reimbursement tables, so a clinic copies them once per payer instead of deciding a share on every plan item.
"""

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from portal import audit
from portal.charts.fee_schedule import parse_fee
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, email_problem, required, too_long
from portal.i18n import _
from portal.permissions import Actor, Permission, require
from portal.tables import Payer, PayerRate, ProcedureCode

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


@dataclass(frozen=True)
class PayerForm:
    name: str = ""
    identifier: str = ""
    address: str = ""
    email: str = ""
    default_percent: str = "0"
    active: str = "1"


@dataclass(frozen=True)
class Rate:
    percent: Decimal | None = None
    amount: Decimal | None = None


def expected_share(charge: Decimal, rate: Rate | None) -> Decimal:
    """The payer's share of a charge: a percentage rounded half up to cents, or a fixed amount; never more than
    the charge and never below zero."""
    if rate is None or charge <= 0:
        return Decimal("0.00")
    if rate.percent is not None:
        share = (charge * rate.percent / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
    else:
        share = (rate.amount or Decimal("0")).quantize(CENT, rounding=ROUND_HALF_UP)
    return max(Decimal("0.00"), min(share, charge))


def parse_percent(text: str) -> Decimal | None:
    value = parse_fee((text or "").replace("%", "").strip() or "0")
    return value if value is not None and value <= HUNDRED else None


def parse_rate(text: str) -> Rate | None | bool:
    """"80 %" is a percentage, "250.00" a fixed amount, blank no rate of its own (None); False if unreadable."""
    text = (text or "").strip()
    if not text:
        return None
    if text.endswith("%"):
        percent = parse_percent(text)
        return Rate(percent=percent) if percent is not None else False
    amount = parse_fee(text)
    return Rate(amount=amount) if amount is not None else False


def rate_text(row: dict) -> str:
    if row.get("percent") is not None:
        return f"{row['percent'].normalize():f} %"
    return f"{row['amount']:.2f}" if row.get("amount") is not None else ""


async def list_payers(actor: Actor, active_only: bool = False) -> list[dict]:
    """The clinic's payers by name (every role that bills reads them to choose one)."""
    query = Payer.select().where(Payer.clinic == actor.clinic_id)
    if active_only:
        query = query.where(Payer.active.eq(True))
    return await query.order_by(Payer.name)


async def get_payer(actor: Actor, payer_id: int) -> dict:
    row = await Payer.select().where((Payer.id == payer_id) & (Payer.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    return row


def _clean(form: PayerForm) -> tuple[dict, dict]:
    percent = parse_percent(form.default_percent)
    errors = collect(name=required(form.name, _("Name")) or too_long(form.name.strip(), 200),
                     identifier=too_long(form.identifier.strip(), 60), address=too_long(form.address.strip(), 500),
                     email=email_problem(form.email, optional=True),
                     default_percent=None if percent is not None
                     else _("Enter a percentage from 0 to 100, like 80 or 0."))
    values = {"name": form.name.strip(), "identifier": form.identifier.strip(), "address": form.address.strip(),
              "email": form.email.strip().lower(), "default_percent": percent, "active": form.active == "1"}
    return values, errors


async def add_payer(actor: Actor, form: PayerForm) -> int:
    require(actor, Permission.MANAGE_CLINIC)
    values, errors = _clean(form)
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        payer_id = (await Payer.insert(Payer(clinic=actor.clinic_id, created_at=datetime.now(timezone.utc),
                                             **values)))[0]["id"]
        await audit.record(actor, "payer.added", object_type="payer", object_id=payer_id,
                           detail={"name": values["name"]})
    return payer_id


async def payer_page(actor: Actor, payer_id: int) -> dict:
    """One payer with the clinic's fee codes and the payer's rate for each."""
    require(actor, Permission.MANAGE_CLINIC)
    payer = await get_payer(actor, payer_id)
    codes = await ProcedureCode.select(ProcedureCode.id, ProcedureCode.code, ProcedureCode.description,
                                       ProcedureCode.fee).where(
        ProcedureCode.clinic == actor.clinic_id).order_by(ProcedureCode.code)
    rates = {r["procedure_code"]: rate_text(r) for r in await PayerRate.select().where(PayerRate.payer == payer_id)}
    return {"payer": payer, "codes": codes, "rates": rates}


async def save_payer(actor: Actor, payer_id: int, form: PayerForm, rates: dict[int, str]) -> None:
    """Save the payer's details and its rate per fee code (new rates apply to charges from now on)."""
    require(actor, Permission.MANAGE_CLINIC)
    await get_payer(actor, payer_id)
    values, errors = _clean(form)
    own = {c["id"] for c in await ProcedureCode.select(ProcedureCode.id).where(
        ProcedureCode.clinic == actor.clinic_id)}
    parsed = {}
    for code_id, text in rates.items():
        rate = parse_rate(text)
        if code_id not in own or rate is False:
            errors[f"rate_{code_id}"] = _(
                "Enter a percentage like %(percent)s, a fixed amount like %(amount)s, or nothing.",
                percent="80 %", amount="250.00")
        else:
            parsed[code_id] = rate
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        await Payer.update(values).where((Payer.id == payer_id) & (Payer.clinic == actor.clinic_id))
        for code_id, rate in parsed.items():
            await PayerRate.delete().where((PayerRate.payer == payer_id) & (PayerRate.procedure_code == code_id))
            if rate is not None:
                await PayerRate.insert(PayerRate(clinic=actor.clinic_id, payer=payer_id, procedure_code=code_id,
                                                 percent=rate.percent, amount=rate.amount))
        await audit.record(actor, "payer.saved", object_type="payer", object_id=payer_id,
                           detail={"name": values["name"], "default_percent": str(values["default_percent"]),
                                   "rates": {str(k): rate_text(vars(v)) if v else "" for k, v in parsed.items()}})


async def rate_for(payer: dict, procedure_code_id: int | None) -> Rate | None:
    """The payer's rate for a fee code, else its default percentage (None if that is zero)."""
    if procedure_code_id:
        row = await PayerRate.select(PayerRate.percent, PayerRate.amount).where(
            (PayerRate.payer == payer["id"]) & (PayerRate.procedure_code == procedure_code_id)).first()
        if row is not None:
            return Rate(row["percent"], row["amount"])
    return Rate(percent=payer["default_percent"]) if payer["default_percent"] else None
