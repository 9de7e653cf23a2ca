"""Invoices and credit notes: gapless numbers per clinic and year, VAT per fee code, immutable once issued.

The number comes from the clinic's `invoice_counter` row for the year, incremented in the issuing transaction:
its row lock makes concurrent issuers wait their turn, and a transaction that fails gives its number back with
everything else, so numbers have no gap and no duplicate. Invoice rows and lines are append-only (trigger); a
correction is a credit note that reverses an invoice's lines with new ledger entries.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from portal import audit
from portal.billing import accounts, coverage, ledger, payments
from portal.billing.ledger import ZERO
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import too_long
from portal.i18n import _
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.tables import Clinic, Invoice, InvoiceLine, LedgerEntry

CENT = Decimal("0.01")


@dataclass(frozen=True)
class CreditForm:
    reason: str = ""


def vat_included(amount: Decimal, rate: Decimal) -> Decimal:
    """The VAT inside a fee that includes it (fees are what the patient pays)."""
    if not rate:
        return ZERO
    return (amount * rate / (Decimal(100) + rate)).quantize(CENT, rounding=ROUND_HALF_UP)


async def next_number(clinic_id: int, year: int) -> int:
    """The next number of the clinic's year, taken inside the caller's transaction (see the module docstring)."""
    rows = await Invoice.raw(
        "INSERT INTO invoice_counter (clinic, year, last) VALUES ({}, {}, 1) ON CONFLICT (clinic, year) "
        "DO UPDATE SET last = invoice_counter.last + 1 RETURNING last", clinic_id, year)
    return rows[0]["last"]


async def uninvoiced_charges(account_id: int) -> list[dict]:
    return await LedgerEntry.raw(
        "SELECT e.*, coalesce(p.given_name || ' ' || p.family_name, '') AS patient_name FROM ledger_entry e "
        "LEFT JOIN patient p ON p.id = e.patient WHERE e.account = {} AND e.kind = 'charge' "
        "AND NOT EXISTS (SELECT 1 FROM invoice_line l WHERE l.entry = e.id) ORDER BY e.at, e.id", account_id)


async def _insert(actor: Actor, account: dict, kind: str, lines: list[dict], corrects: int | None = None) -> dict:
    clinic = await Clinic.select().where(Clinic.id == actor.clinic_id).first()
    now = datetime.now(timezone.utc)
    local_day = now.astimezone(ZoneInfo(clinic["time_zone"])).date()
    seq = await next_number(actor.clinic_id, local_day.year)
    payer = account["payer"] or {}
    total = sum((line["amount"] for line in lines), ZERO)
    vat_total = sum((line["vat_amount"] for line in lines), ZERO)
    row = (await Invoice.insert(Invoice(
        clinic=actor.clinic_id, account=account["id"], kind=kind, corrects=corrects, year=local_day.year, seq=seq,
        number=f"{local_day.year}-{seq:05d}", issued_at=now,
        due_on=local_day + timedelta(days=clinic["payment_terms_days"]), currency=clinic["currency"],
        total=total, vat_total=vat_total,
        bill_to=(f"{payer.get('given_name', '')} {payer.get('family_name', '')}".strip() or account["name"])[:200],
        bill_to_address=payer.get("address", "") or "", seller_name=clinic["name"], seller_address=clinic["address"],
        seller_tax_id=clinic["tax_id"], issued_by=actor.id, issued_by_name=actor.name)).returning(
        Invoice.id, Invoice.number))[0]
    for line in lines:
        if "entry" not in line:  # a credit note's line: its reversing entry names the credit note
            line["entry"] = await ledger.append(actor, account["id"], line.pop("patient"), "credit_note",
                                                line["amount"], code=line["code"], description=line["description"],
                                                vat_rate=line["vat_rate"], reason=line.pop("reason"),
                                                invoice=row["id"])
        await InvoiceLine.insert(InvoiceLine(clinic=actor.clinic_id, invoice=row["id"], **line))
    return row


def _line(entry: dict, amount: Decimal) -> dict:
    return {"entry": entry["id"], "code": entry["code"], "description": entry["description"],
            "patient_name": entry.get("patient_name", ""), "performed_on": entry["at"].date(), "amount": amount,
            "vat_rate": entry["vat_rate"], "vat_amount": vat_included(amount, entry["vat_rate"])}


async def issue(actor: Actor, patient_id: int, entry_ids: list[int] | None = None) -> int:
    """Invoice the account's charges not yet invoiced (all, or the chosen ones); credit on the account pays it."""
    require(actor, Permission.HANDLE_PAYMENTS)
    await ensure_in_clinic(actor, patient_id)
    account_id = await accounts.account_id_of(actor.clinic_id, patient_id)
    async with transaction():
        await accounts.lock(account_id)
        charges = await uninvoiced_charges(account_id)
        if entry_ids is not None:
            charges = [c for c in charges if c["id"] in set(entry_ids)]
        if not charges:
            raise ValidationFailed({"invoice": _("There is nothing to invoice: every charge is on an invoice.")})
        account = await accounts.account(actor.clinic_id, account_id)
        row = await _insert(actor, account, "invoice", [_line(c, c["amount"]) for c in charges])
        await payments.apply_credit(actor, account_id)
        await audit.record(actor, "invoice.issued", patient_id=patient_id, object_type="invoice", object_id=row["id"],
                           detail={"number": row["number"], "charges": [c["id"] for c in charges]})
    return row["id"]


async def credit(actor: Actor, patient_id: int, invoice_id: int, form: CreditForm) -> int:
    """Correct an issued invoice: a credit note with its own number reverses every line (new ledger entries)."""
    require(actor, Permission.ADJUST_LEDGER)
    original = await get(actor, patient_id, invoice_id, audited=False)
    reason = form.reason.strip()
    errors = {}
    if original["kind"] != "invoice":
        errors["reason"] = _("A credit note cannot itself be credited.")
    elif original["credited_by"]:
        errors["reason"] = _("This invoice has already been credited.")
    if problem := (None if reason else _("Say why the invoice is corrected.")) or too_long(reason, 500):
        errors["reason"] = problem
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        await accounts.lock(original["account"])
        if await Invoice.exists().where(Invoice.corrects == invoice_id):
            raise ValidationFailed({"reason": _("This invoice has already been credited.")})
        account = await accounts.account(actor.clinic_id, original["account"])
        reversing = []
        for line in original["lines"]:
            entry = await LedgerEntry.select(LedgerEntry.patient).where(LedgerEntry.id == line["entry"]).first()
            reversing.append({"code": line["code"], "description": line["description"],
                              "patient_name": line["patient_name"], "performed_on": line["performed_on"],
                              "amount": -line["amount"], "vat_rate": line["vat_rate"],
                              "vat_amount": -line["vat_amount"], "patient": entry["patient"] if entry else None,
                              "reason": reason})
        row = await _insert(actor, account, "credit_note", reversing, corrects=invoice_id)
        await payments.apply_credit(actor, original["account"])
        await coverage.cancel_credited(actor, [line["entry"] for line in original["lines"]])
        await audit.record(actor, "invoice.credited", patient_id=patient_id, object_type="invoice",
                           object_id=row["id"], detail={"number": row["number"], "corrects": original["number"],
                                                        "reason": reason})
    return row["id"]


async def get(actor: Actor, patient_id: int, invoice_id: int, audited: bool = True) -> dict:
    """An invoice of the patient's account (any account the patient is or was billed on) with its lines."""
    require(actor, Permission.HANDLE_PAYMENTS)
    await ensure_in_clinic(actor, patient_id)
    row = await Invoice.select().where((Invoice.id == invoice_id) & (Invoice.clinic == actor.clinic_id)).first()
    if row is None or not await _patient_on_account(patient_id, row["account"]):
        raise NotFound()
    await with_lines(row)
    if audited:
        await audit.record(actor, "invoice.viewed", patient_id=patient_id, object_type="invoice",
                           object_id=invoice_id)
    return row


async def with_lines(row: dict) -> dict:
    """The invoice row completed with its lines, the credit note correcting it, what it corrects, what is paid."""
    invoice_id = row["id"]
    row["lines"] = await InvoiceLine.select().where(InvoiceLine.invoice == invoice_id).order_by(InvoiceLine.id)
    credited = await Invoice.select(Invoice.id, Invoice.number).where(Invoice.corrects == invoice_id).first()
    row["credited_by"] = credited
    row["corrected"] = (await Invoice.select(Invoice.number).where(Invoice.id == row["corrects"]).first()
                        if row["corrects"] else None)
    row["paid"] = (await Invoice.raw("SELECT coalesce(sum(amount), 0) AS s FROM payment_allocation "
                                     "WHERE invoice = {}", invoice_id))[0]["s"]
    return row


async def _patient_on_account(patient_id: int, account_id: int) -> bool:
    rows = await LedgerEntry.raw(
        "SELECT EXISTS (SELECT 1 FROM billing_member WHERE patient = {} AND account = {}) "
        "OR EXISTS (SELECT 1 FROM ledger_entry WHERE patient = {} AND account = {}) AS ok",
        patient_id, account_id, patient_id, account_id)
    return rows[0]["ok"]


async def list_for_account(account_id: int) -> list[dict]:
    return await Invoice.raw(
        "SELECT i.id, i.number, i.kind, i.issued_at, i.due_on, i.total, i.currency, "
        "coalesce((SELECT sum(a.amount) FROM payment_allocation a WHERE a.invoice = i.id), 0) AS paid, "
        "(SELECT c.number FROM invoice c WHERE c.corrects = i.id) AS credited_by "
        "FROM invoice i WHERE i.account = {} ORDER BY i.id DESC", account_id)
