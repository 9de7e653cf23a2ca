"""A patient's cover by a third-party payer, the payer's expected share recorded with each charge, and the split of
an account into what the patient owes and what payers owe, each with its aging.

Shares are append-only (`payer_share`): `expected` (+) when the charge is booked, `paid` (-) when the payer pays
on a claim, `rejected` (-) when the payer refuses and the amount moves back to the patient, `credited` (-) when a
credit note reverses the charge and nobody owes its open share any more. The ledger's balance
is what patient and payers owe together; the payers' part is the sum of their shares, the patient's the rest.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

from portal import audit
from portal.billing import ledger, payers
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, parse_date, required, too_long, whole_number
from portal.i18n import _
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.tables import Payer, PayerCoverage, PayerShare

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class CoverageForm:
    payer: str = ""
    member_number: str = ""
    valid_from: str = ""
    valid_to: str = ""


@dataclass(frozen=True)
class Split:
    patient_balance: Decimal
    payer_balance: Decimal
    patient_aging: ledger.Aging
    payer_aging: ledger.Aging
    shares: list[dict]  # per charge with a payer share: expected, paid, rejected, open


def split(entries: list[dict], shares: list[dict], today: date) -> Split:
    """What the patient owes and what payers owe, from the ledger entries and the payer share rows of one account.

    A charge's patient part is the charge less the payer's expected share plus what the payer rejected and what a
    credit note cancelled of it (the credit note itself is the patient's); the
    payer's part is what of its share is still open, aged by the charge's day. Payments the payer made are on
    the ledger too; they settle the payer's part, not the patient's.
    """
    by_charge: dict[int, dict] = {}
    payer_payments = set()
    for s in shares:
        row = by_charge.setdefault(s["charge"], {"charge": s["charge"], "payer": s["payer"],
                                                 "payer_name": s.get("payer_name", ""), "expected": ZERO,
                                                 "paid": ZERO, "rejected": ZERO, "credited": ZERO})
        row[s["kind"]] += abs(s["amount"])
        if s["kind"] == "paid" and s.get("entry"):
            payer_payments.add(s["entry"])
    patient_side, payer_side = [], []
    for e in entries:
        if e["id"] in payer_payments:
            continue
        share = by_charge.get(e["id"]) if e["kind"] == "charge" else None
        if share is None:
            patient_side.append(e)
            continue
        share.update(at=e["at"], code=e["code"], description=e["description"], amount=e["amount"])
        share["open"] = share["expected"] - share["paid"] - share["rejected"] - share["credited"]
        patient_side.append({**e, "amount": e["amount"] - share["expected"] + share["rejected"] + share["credited"]})
        if share["open"]:
            payer_side.append({"id": e["id"], "at": e["at"], "amount": share["open"]})
    return Split(patient_balance=ledger.balance(patient_side), payer_balance=ledger.balance(payer_side),
                 patient_aging=ledger.aging(patient_side, today), payer_aging=ledger.aging(payer_side, today),
                 shares=[s for s in by_charge.values() if "open" in s])


async def shares_of(account_id: int) -> list[dict]:
    return await PayerShare.raw(
        "SELECT s.charge, s.kind, s.amount, s.entry, s.payer, p.name AS payer_name FROM payer_share s "
        "JOIN payer p ON p.id = s.payer WHERE s.account = {} ORDER BY s.id", account_id)


async def payer_side(clinic_id: int, account_id: int, patient_id: int) -> dict:
    """The account page's third-party part in one statement: the account's shares, the patient's covers (newest
    first) and the clinic's active payers to claim from. Amounts travel as text and dates as ISO strings, so money
    stays Decimal and dates stay dates."""
    [row] = await PayerShare.raw(_PAYER_SIDE, account_id, patient_id, clinic_id, clinic_id)
    shares = [{**s, "amount": Decimal(s["amount"])} for s in _json(row["shares"])]
    covers = [{**c, "valid_from": date.fromisoformat(c["valid_from"]),
               "valid_to": date.fromisoformat(c["valid_to"]) if c["valid_to"] else None} for c in _json(row["covers"])]
    return {"shares": shares, "coverage": covers, "payers": _json(row["payers"])}


def _json(value) -> list[dict]:
    return json.loads(value) if isinstance(value, str) else value


_PAYER_SIDE = (
    "SELECT (SELECT coalesce(json_agg(json_build_object('charge', s.charge, 'kind', s.kind, 'amount', s.amount::text, "
    "'entry', s.entry, 'payer', s.payer, 'payer_name', p.name) ORDER BY s.id), '[]'::json) "
    "FROM payer_share s JOIN payer p ON p.id = s.payer WHERE s.account = {}) AS shares, "
    "(SELECT coalesce(json_agg(json_build_object('id', c.id, 'member_number', c.member_number, "
    "'valid_from', c.valid_from, 'valid_to', c.valid_to, 'payer_name', p.name) "
    "ORDER BY c.valid_from DESC, c.id DESC), '[]'::json) "
    "FROM payer_coverage c JOIN payer p ON p.id = c.payer WHERE c.patient = {} AND c.clinic = {}) AS covers, "
    "(SELECT coalesce(json_agg(json_build_object('id', p.id, 'name', p.name) ORDER BY p.name), '[]'::json) "
    "FROM payer p WHERE p.clinic = {} AND p.active) AS payers")


async def coverage_in_force(clinic_id: int, patient_id: int, on: date) -> dict | None:
    """The patient's cover on a day (the latest started, if two overlap) with its payer."""
    rows = await PayerCoverage.raw(
        "SELECT c.id, c.member_number, p.id AS payer_id, p.name, p.default_percent FROM payer_coverage c "
        "JOIN payer p ON p.id = c.payer WHERE c.patient = {} AND c.clinic = {} AND p.active "
        "AND c.valid_from <= {} AND (c.valid_to IS NULL OR c.valid_to >= {}) ORDER BY c.valid_from DESC, c.id DESC "
        "LIMIT 1", patient_id, clinic_id, on, on)
    return rows[0] if rows else None


async def record_expected(actor: Actor, account_id: int, patient_id: int, charge_id: int, amount: Decimal,
                          procedure_code_id: int | None, on: date) -> Decimal:
    """Inside the charge's transaction: the payer's expected share of the charge, if the patient is covered."""
    cover = await coverage_in_force(actor.clinic_id, patient_id, on)
    if cover is None:
        return ZERO
    payer = {"id": cover["payer_id"], "default_percent": cover["default_percent"]}
    share = payers.expected_share(amount, await payers.rate_for(payer, procedure_code_id))
    if share <= 0:
        return ZERO
    await PayerShare.insert(PayerShare(clinic=actor.clinic_id, account=account_id, patient=patient_id,
                                       payer=cover["payer_id"], charge=charge_id, kind="expected", amount=share,
                                       recorded_by_name=actor.name, at=datetime.now(timezone.utc)))
    await audit.record(actor, "payer_share.expected", patient_id=patient_id, object_type="ledger_entry",
                       object_id=charge_id, detail={"payer": cover["payer_id"], "amount": str(share)})
    return share


async def cancel_credited(actor: Actor, charge_ids: list[int]) -> None:
    """Inside a credit note's transaction: the open payer share of each reversed charge is owed by nobody now."""
    if not charge_ids:
        return
    rows = await PayerShare.raw(
        "SELECT charge, min(account) AS account, min(patient) AS patient, min(payer) AS payer, sum(amount) AS open "
        "FROM payer_share WHERE charge = ANY({}) AND clinic = {} GROUP BY charge HAVING sum(amount) > 0",
        charge_ids, actor.clinic_id)
    for row in rows:
        await PayerShare.insert(PayerShare(clinic=actor.clinic_id, account=row["account"], patient=row["patient"],
                                           payer=row["payer"], charge=row["charge"], kind="credited",
                                           amount=-row["open"], recorded_by_name=actor.name,
                                           at=datetime.now(timezone.utc)))


async def add_coverage(actor: Actor, patient_id: int, form: CoverageForm) -> int:
    """Record the patient's cover (from the insurance card); charges from `valid_from` get the payer's share."""
    require(actor, Permission.HANDLE_PAYMENTS)
    await ensure_in_clinic(actor, patient_id)
    payer_id = whole_number(form.payer or "")
    payer = await Payer.select(Payer.id).where((Payer.id == (payer_id or 0)) & (Payer.clinic == actor.clinic_id)
                                               & Payer.active.eq(True)).first()
    member = form.member_number.strip()
    start = parse_date(form.valid_from or "")
    end = parse_date(form.valid_to) if (form.valid_to or "").strip() else None
    errors = collect(payer=None if payer else _("Choose a payer from the list."),
                     member_number=required(member, _("Member or policy number")) or too_long(member, 60),
                     valid_from=None if start else _("Enter the first day of cover."),
                     valid_to=None if not (form.valid_to or "").strip() or (end and (not start or end >= start))
                     else _("Enter a last day on or after the first."))
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        coverage_id = (await PayerCoverage.insert(PayerCoverage(
            clinic=actor.clinic_id, patient=patient_id, payer=payer["id"], member_number=member, valid_from=start,
            valid_to=end, created_by=actor.id, created_at=datetime.now(timezone.utc))))[0]["id"]
        await audit.record(actor, "payer_coverage.added", patient_id=patient_id, object_type="payer_coverage",
                           object_id=coverage_id, detail={"payer": payer["id"]})
    return coverage_id


async def end_coverage(actor: Actor, patient_id: int, coverage_id: int, last_day: date) -> None:
    """End a cover on a day (charges after it get no payer share; those before keep theirs)."""
    require(actor, Permission.HANDLE_PAYMENTS)
    await ensure_in_clinic(actor, patient_id)
    row = await PayerCoverage.select(PayerCoverage.valid_from).where(
        (PayerCoverage.id == coverage_id) & (PayerCoverage.patient == patient_id)
        & (PayerCoverage.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    async with transaction():
        await PayerCoverage.update({PayerCoverage.valid_to: max(last_day, row["valid_from"])}).where(
            PayerCoverage.id == coverage_id)
        await audit.record(actor, "payer_coverage.ended", patient_id=patient_id, object_type="payer_coverage",
                           object_id=coverage_id)
