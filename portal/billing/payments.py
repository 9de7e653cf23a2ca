"""Money in and out of an account: payments (split across invoices), refunds, and the owner's adjustments.

A payment is applied to the invoices it names, then to the oldest open invoices; what is left is credit,
which the next invoice draws on (`apply_credit`). Allocations are append-only like the entries they join.
"""

from dataclasses import dataclass
from decimal import Decimal

from portal.billing import accounts, ledger
from portal.billing.ledger import ZERO
from portal.charts.fee_schedule import parse_fee
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.forms import collect, too_long
from portal.i18n import _
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.tables import Invoice, LedgerEntry, PaymentAllocation


@dataclass(frozen=True)
class PaymentForm:
    amount: str = ""
    method: str = "card"
    reference: str = ""


@dataclass(frozen=True)
class RefundForm:
    refund_amount: str = ""
    refund_method: str = "bank_transfer"


@dataclass(frozen=True)
class AdjustmentForm:
    kind: str = "adjustment"  # adjustment | write_off
    adjust_amount: str = ""
    direction: str = "down"  # down (less owed) | up (more owed); a write-off is always down
    reason: str = ""


def _amount(text: str) -> Decimal | None:
    value = parse_fee(text or "")
    return value if value is not None and value > 0 else None


def _amount_message() -> str:
    return _("Enter an amount like 75.00 (more than zero, at most two decimals).")


async def open_invoices(account_id: int) -> list[dict]:
    """Issued invoices not yet paid or credited, oldest first, with what is still open on each."""
    return await Invoice.raw(
        "SELECT i.id, i.number, i.issued_at, i.due_on, i.total, i.currency, "
        "i.total - coalesce((SELECT sum(a.amount) FROM payment_allocation a WHERE a.invoice = i.id), 0) AS open "
        "FROM invoice i WHERE i.account = {} AND i.kind = 'invoice' "
        "AND NOT EXISTS (SELECT 1 FROM invoice c WHERE c.corrects = i.id) "
        "AND i.total > coalesce((SELECT sum(a.amount) FROM payment_allocation a WHERE a.invoice = i.id), 0) "
        "ORDER BY i.id", account_id)


def still_open(listed: list[dict]) -> list[dict]:
    """`open_invoices` worked out from `invoices.list_for_account`'s rows (the account page has them already)."""
    return [{**i, "open": i["total"] - i["paid"]} for i in sorted(listed, key=lambda i: i["id"])
            if i["kind"] == "invoice" and not i["credited_by"] and i["total"] > i["paid"]]


async def _unallocated(account_id: int) -> list[dict]:
    """Payments with money not yet applied to a live invoice (a credited invoice gives its allocations back),
    oldest first, capped by what refunds have already returned."""
    rows = await LedgerEntry.raw(
        "SELECT e.id, -e.amount - coalesce((SELECT sum(a.amount) FROM payment_allocation a WHERE a.payment = e.id "
        "AND NOT EXISTS (SELECT 1 FROM invoice c WHERE c.corrects = a.invoice)), 0) AS free "
        "FROM ledger_entry e WHERE e.account = {} AND e.kind = 'payment' ORDER BY e.at, e.id", account_id)
    refunded = (await LedgerEntry.raw("SELECT coalesce(sum(amount), 0) AS s FROM ledger_entry WHERE account = {} "
                                      "AND kind = 'refund'", account_id))[0]["s"]
    free = []
    for row in rows:  # refunds came out of the oldest free money
        take = min(row["free"], refunded)
        refunded -= take
        if row["free"] - take > 0:
            free.append({"id": row["id"], "free": row["free"] - take})
    return free


async def allocate(actor: Actor, payment_id: int, invoice_id: int, amount: Decimal) -> None:
    await PaymentAllocation.insert(PaymentAllocation(clinic=actor.clinic_id, payment=payment_id, invoice=invoice_id,
                                                     amount=amount))


async def apply_credit(actor: Actor, account_id: int) -> Decimal:
    """Apply free payment money to the oldest open invoices (inside the caller's transaction, account locked)."""
    applied = ZERO
    free = await _unallocated(account_id)
    for invoice in await open_invoices(account_id):
        left = invoice["open"]
        while left > 0 and free:
            take = min(left, free[0]["free"])
            await allocate(actor, free[0]["id"], invoice["id"], take)
            left -= take
            applied += take
            free[0]["free"] -= take
            if free[0]["free"] <= 0:
                free.pop(0)
    return applied


async def take_payment(actor: Actor, patient_id: int, form: PaymentForm,
                       split: dict[int, str] | None = None) -> int:
    """Book a payment on the patient's account; `split` ({invoice id: amount}) says which invoices it pays first.

    The rest goes to the oldest open invoices, and anything beyond them stays as credit.
    """
    require(actor, Permission.HANDLE_PAYMENTS)
    await ensure_in_clinic(actor, patient_id)
    amount = _amount(form.amount)
    reference = form.reference.strip()
    errors = collect(amount=None if amount else _amount_message(),
                     method=None if form.method in ledger.METHODS else _("Choose how the patient paid."),
                     reference=too_long(reference, 100))
    account_id = await accounts.account_id_of(actor.clinic_id, patient_id)
    async with transaction():
        await accounts.lock(account_id)
        wanted = {}
        if not errors and split:
            open_by_id = {i["id"]: i for i in await open_invoices(account_id)}
            for invoice_id, text in split.items():
                if not (text or "").strip():
                    continue
                part = _amount(text)
                if invoice_id not in open_by_id:
                    errors["split"] = _("That invoice is paid or not on this account.")
                elif part is None or part > open_by_id[invoice_id]["open"]:
                    errors["split"] = _("Each part must be more than zero and at most what is open on its invoice.")
                else:
                    wanted[invoice_id] = part
            if sum(wanted.values(), ZERO) > amount:
                errors["split"] = _("The parts add up to more than the payment.")
        if errors:
            raise ValidationFailed(errors)
        entry_id = await ledger.append(actor, account_id, patient_id, "payment", -amount, method=form.method,
                                       reference=reference)
        for invoice_id, part in wanted.items():
            await allocate(actor, entry_id, invoice_id, part)
        await apply_credit(actor, account_id)
    return entry_id


async def refund(actor: Actor, patient_id: int, form: RefundForm) -> int:
    """Pay credit back to the patient (never more than the account's credit)."""
    require(actor, Permission.ADJUST_LEDGER)
    await ensure_in_clinic(actor, patient_id)
    amount = _amount(form.refund_amount)
    errors = collect(refund_amount=None if amount else _amount_message(),
                     refund_method=None if form.refund_method in ledger.METHODS
                     else _("Choose how the money goes back."))
    account_id = await accounts.account_id_of(actor.clinic_id, patient_id)
    async with transaction():
        await accounts.lock(account_id)
        free = sum((p["free"] for p in await _unallocated(account_id)), ZERO)
        if amount and amount > free:
            errors["refund_amount"] = _("Only unused credit can be refunded (%(free)s).", free=str(free))
        if errors:
            raise ValidationFailed(errors)
        return await ledger.append(actor, account_id, patient_id, "refund", amount, method=form.refund_method)


async def adjust(actor: Actor, patient_id: int, form: AdjustmentForm) -> int:
    """The owner's correction of what is owed (adjustment up or down, or a write-off), always with a reason."""
    require(actor, Permission.ADJUST_LEDGER)
    await ensure_in_clinic(actor, patient_id)
    amount = _amount(form.adjust_amount)
    reason = form.reason.strip()
    errors = collect(kind=None if form.kind in ("adjustment", "write_off") else _("Choose from the list."),
                     adjust_amount=None if amount else _amount_message(),
                     direction=None if form.direction in ("up", "down") else _("Choose from the list."),
                     reason=(None if reason else _("Say why; the reason is kept with the entry."))
                     or too_long(reason, 500))
    if errors:
        raise ValidationFailed(errors)
    signed = amount if form.kind == "adjustment" and form.direction == "up" else -amount
    account_id = await accounts.account_id_of(actor.clinic_id, patient_id)
    async with transaction():
        await accounts.lock(account_id)
        return await ledger.append(actor, account_id, patient_id, form.kind, signed, reason=reason)
