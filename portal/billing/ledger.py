"""The ledger of an account: append-only entries, the charge a completed procedure makes, balance and aging.

Amounts are signed by what they do to what the account owes: charges, refunds and upward adjustments add;
payments, credit notes, write-offs and downward adjustments subtract. The balance is their sum and aging
applies everything paid or credited to the oldest debts first; both are computed each time, never stored.
A negative balance is credit that later charges use up.
"""

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from portal import audit, display
from portal.billing import accounts
from portal.i18n import lazy_gettext
from portal.tables import LedgerEntry, ProcedureCode

KINDS = {"charge": lazy_gettext("Charge"), "payment": lazy_gettext("Payment"), "refund": lazy_gettext("Refund"),
         "credit_note": lazy_gettext("Credit note"), "adjustment": lazy_gettext("Adjustment"),
         "write_off": lazy_gettext("Write-off")}
METHODS = {"cash": lazy_gettext("Cash"), "card": lazy_gettext("Card terminal"),
           "bank_transfer": lazy_gettext("Bank transfer"), "online": lazy_gettext("Online")}
BUCKETS = {"current": lazy_gettext("Current"), "30": lazy_gettext("30 days"), "60": lazy_gettext("60 days"),
           "90": lazy_gettext("90+ days")}
display.register_labels("ledger_kind", KINDS)
display.register_labels("payment_method", METHODS)
display.register_labels("aging_bucket", BUCKETS)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Aging:
    current: Decimal = ZERO
    days_30: Decimal = ZERO
    days_60: Decimal = ZERO
    days_90: Decimal = ZERO
    credit: Decimal = ZERO  # paid in advance: what later charges will use

    @property
    def buckets(self) -> list[tuple[str, Decimal]]:
        return [("current", self.current), ("30", self.days_30), ("60", self.days_60), ("90", self.days_90)]


def balance(entries: list[dict]) -> Decimal:
    """What the account owes (negative: credit)."""
    return sum((e["amount"] for e in entries), ZERO)


def aging(entries: list[dict], today: date) -> Aging:
    """Open debt by age: credits settle the oldest debts first; the rest is bucketed by the debt's day."""
    debts = sorted(((e["at"], e["id"], e["amount"]) for e in entries if e["amount"] > 0))
    credit = -sum((e["amount"] for e in entries if e["amount"] < 0), ZERO)
    buckets = {"current": ZERO, "30": ZERO, "60": ZERO, "90": ZERO}
    for at, _id, amount in debts:
        settled = min(amount, credit)
        credit -= settled
        left = amount - settled
        if left <= 0:
            continue
        days = (today - at.date()).days
        key = "current" if days < 30 else "30" if days < 60 else "60" if days < 90 else "90"
        buckets[key] += left
    return Aging(buckets["current"], buckets["30"], buckets["60"], buckets["90"], credit)


async def entries(account_id: int) -> list[dict]:
    return await LedgerEntry.raw(
        "SELECT id, patient, kind, amount, method, plan_item, code, description, vat_rate, provider, invoice, "
        "reference, reason, recorded_by_name, at FROM ledger_entry WHERE account = {} ORDER BY at, id", account_id)


def with_running_balance(rows: list[dict]) -> list[dict]:
    running = ZERO
    for row in rows:
        running += row["amount"]
        row["running"] = running
    return rows


async def append(actor, account_id: int, patient_id: int | None, kind: str, amount: Decimal, **values) -> int:
    """Write one entry (inside the caller's transaction) and its audit row."""
    entry_id = (await LedgerEntry.insert(LedgerEntry(
        clinic=actor.clinic_id, account=account_id, patient=patient_id, kind=kind, amount=amount,
        recorded_by=actor.id if actor.kind == "staff" else None, recorded_by_name=actor.name,
        at=values.pop("at", None) or datetime.now(timezone.utc), **values)))[0]["id"]
    await audit.record(actor, f"ledger.{kind}", patient_id=patient_id, object_type="ledger_entry",
                       object_id=entry_id, detail={"account": account_id, "amount": str(amount),
                                                   **({"method": values["method"]} if values.get("method") else {})})
    return entry_id


async def charge_completed_item(actor, patient_id: int, item: dict) -> int | None:
    """Charge the patient's account for a completed procedure at the fee frozen on the plan item.

    Called by `treatment_plans.complete_item` inside its transaction, so the procedure and its charge commit
    together; a procedure with no fee charges nothing. A covered patient's payer share is recorded with it. The
    VAT rate is the fee code's at the time of supply.
    """
    if not item["fee"]:
        return None
    vat = ZERO
    if item.get("procedure_code"):
        code = await ProcedureCode.select(ProcedureCode.vat_rate).where(
            (ProcedureCode.id == item["procedure_code"]) & (ProcedureCode.clinic == actor.clinic_id)).first()
        vat = code["vat_rate"] if code else ZERO
    account_id = await accounts.account_id_of(actor.clinic_id, patient_id)
    where = f" {item['tooth']} {item['surfaces'] or ''}".rstrip() if item.get("tooth") else ""
    entry_id = await append(actor, account_id, patient_id, "charge", item["fee"], plan_item=item["id"],
                            code=item["code"], description=f"{item['description']}{where}"[:300], vat_rate=vat,
                            provider=actor.id if actor.kind == "staff" else None)
    from portal.billing import coverage  # the payer's share (coverage reads the ledger's aging)

    today = datetime.now(timezone.utc).astimezone(ZoneInfo(actor.time_zone)).date()
    await coverage.record_expected(actor, account_id, patient_id, entry_id, item["fee"], item.get("procedure_code"),
                                   today)
    return entry_id
