"""The patient account's ledger: charges from completed work, payments, credit, aging, owner-only corrections,
and entries that nobody can change or delete."""

import asyncio
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import asyncpg
import pytest

from portal.billing import accounts, invoices, ledger, payments
from portal.charts import fee_schedule, treatment_plans
from portal.db import transaction
from portal.errors import Forbidden, ValidationFailed
from portal.permissions import Role
from portal.privacy.categories import allow_erasure
from portal.tables import Invoice, LedgerEntry, ProcedureCode
from tests import factories


async def completed_filling(owner, dentist, patient_id: int, code: str = "FI2", tooth: str = "36") -> int:
    """A two-surface filling planned, accepted and completed; returns the plan item's id."""
    if not await ProcedureCode.exists().where(ProcedureCode.clinic == owner.clinic_id):
        await fee_schedule.load_demo_schedule(owner)
    code_id = [c["id"] for c in await fee_schedule.list_codes(owner) if c["code"] == code][0]
    plan_id = await treatment_plans.create_plan(dentist, patient_id, treatment_plans.PlanForm(title="Fillings"))
    item_id = await treatment_plans.add_item(dentist, patient_id, plan_id, treatment_plans.ItemForm(
        procedure_code_id=str(code_id), tooth=tooth, s_m=True, s_o=True))
    await treatment_plans.accept(dentist, patient_id, plan_id, treatment_plans.AcceptanceForm(
        accepted_by="Anna", method="written"))
    await treatment_plans.complete_item(dentist, patient_id, plan_id, item_id)
    return item_id


async def _entries(clinic, patient_id):
    return await ledger.entries(await accounts.account_id_of(clinic.clinic_id, patient_id))


async def test_completing_a_procedure_charges_the_fee_frozen_on_the_plan(clinic, cal):
    patient = await factories.make_patient(clinic)
    await fee_schedule.load_demo_schedule(clinic)
    code = [c for c in await fee_schedule.list_codes(clinic) if c["code"] == "FI2"][0]
    plan_id = await treatment_plans.create_plan(cal["dentist"], patient, treatment_plans.PlanForm(title="Filling"))
    item_id = await treatment_plans.add_item(cal["dentist"], patient, plan_id, treatment_plans.ItemForm(
        procedure_code_id=str(code["id"]), tooth="36", s_m=True, s_o=True))
    await treatment_plans.accept(cal["dentist"], patient, plan_id, treatment_plans.AcceptanceForm(
        accepted_by="A", method="written"))
    # The schedule changes after the plan was agreed: the patient pays what was agreed.
    await fee_schedule.save_code(clinic, fee_schedule.ProcedureForm(
        code="FI2", description=code["description"], fee="150.00", charts_as="filling", material="composite"),
        code["id"])
    await treatment_plans.complete_item(cal["dentist"], patient, plan_id, item_id)
    entries = await _entries(clinic, patient)
    assert [(e["kind"], e["amount"], e["code"], e["plan_item"]) for e in entries] == [
        ("charge", Decimal("105.00"), "FI2", item_id)]
    assert entries[0]["provider"] == cal["dentist"].id
    assert ledger.balance(entries) == Decimal("105.00")


async def test_ledger_entries_cannot_be_changed_or_deleted_except_under_an_erasure_grant(clinic, cal):
    patient = await factories.make_patient(clinic)
    await completed_filling(clinic, cal["dentist"], patient)
    for sql in ("UPDATE ledger_entry SET amount = 1", "DELETE FROM ledger_entry"):
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await LedgerEntry.raw(sql)
    assert (await LedgerEntry.select(LedgerEntry.amount).first())["amount"] == Decimal("105.00")
    async with transaction():
        await allow_erasure()
        await LedgerEntry.raw("DELETE FROM ledger_entry")
    assert await LedgerEntry.count() == 0


def _entry(n, amount, days_ago, today):
    return {"id": n, "amount": Decimal(amount), "at": datetime.combine(today - timedelta(days=days_ago),
                                                                       datetime.min.time(), timezone.utc)}


def test_aging_settles_the_oldest_debt_first_and_buckets_the_rest_by_age():
    today = date(2026, 11, 30)
    rows = [_entry(1, "100.00", 120, today), _entry(2, "50.00", 70, today), _entry(3, "80.00", 40, today),
            _entry(4, "60.00", 5, today), _entry(5, "-130.00", 1, today)]
    aged = ledger.aging(rows, today)
    # 130 paid: the 120-day debt (100) and 30 of the 70-day one.
    assert aged.buckets == [("current", Decimal("60.00")), ("30", Decimal("80.00")), ("60", Decimal("20.00")),
                            ("90", Decimal("0.00"))]
    assert aged.credit == 0 and ledger.balance(rows) == Decimal("160.00")
    overpaid = ledger.aging([_entry(1, "50.00", 100, today), _entry(2, "-80.00", 1, today)], today)
    assert overpaid.credit == Decimal("30.00") and all(v == 0 for _, v in overpaid.buckets)


async def test_an_overpayment_is_credit_that_the_next_invoice_uses(clinic, cal):
    patient = await factories.make_patient(clinic)
    await completed_filling(clinic, cal["dentist"], patient)  # 105.00
    first = await invoices.issue(clinic, patient)
    await payments.take_payment(clinic, patient, payments.PaymentForm(amount="150.00", method="cash"))
    assert (await invoices.get(clinic, patient, first))["paid"] == Decimal("105.00")
    entries = await _entries(clinic, patient)
    assert ledger.balance(entries) == Decimal("-45.00")
    await completed_filling(clinic, cal["dentist"], patient, code="FI1", tooth="11")  # 75.00
    second = await invoices.issue(clinic, patient)
    assert (await invoices.get(clinic, patient, second))["paid"] == Decimal("45.00")
    assert ledger.balance(await _entries(clinic, patient)) == Decimal("30.00")


async def test_a_payment_splits_across_the_invoices_it_names(clinic, cal):
    patient = await factories.make_patient(clinic)
    await completed_filling(clinic, cal["dentist"], patient)  # 105.00
    first = await invoices.issue(clinic, patient)
    await completed_filling(clinic, cal["dentist"], patient, code="FI1", tooth="11")  # 75.00
    second = await invoices.issue(clinic, patient)
    await payments.take_payment(clinic, patient, payments.PaymentForm(amount="100.00", method="card"),
                                split={second: "75.00", first: "25.00"})
    assert (await invoices.get(clinic, patient, first))["paid"] == Decimal("25.00")
    assert (await invoices.get(clinic, patient, second))["paid"] == Decimal("75.00")
    with pytest.raises(ValidationFailed) as refused:
        await payments.take_payment(clinic, patient, payments.PaymentForm(amount="10.00", method="card"),
                                    split={first: "20.00"})
    assert "split" in refused.value.errors
    assert await LedgerEntry.count().where(LedgerEntry.kind == "payment") == 1


async def test_only_the_owner_adjusts_or_writes_off_and_always_with_a_reason(clinic, cal):
    patient = await factories.make_patient(clinic)
    await completed_filling(clinic, cal["dentist"], patient)
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    with pytest.raises(Forbidden):
        await payments.adjust(desk, patient, payments.AdjustmentForm(kind="write_off", adjust_amount="5", reason="x"))
    with pytest.raises(ValidationFailed) as refused:
        await payments.adjust(clinic, patient, payments.AdjustmentForm(kind="write_off", adjust_amount="5.00"))
    assert "reason" in refused.value.errors
    await payments.adjust(clinic, patient, payments.AdjustmentForm(kind="write_off", adjust_amount="5.00",
                                                                   reason="Goodwill"))
    await payments.adjust(clinic, patient, payments.AdjustmentForm(
        kind="adjustment", adjust_amount="2.50", direction="up", reason="Material surcharge"))
    assert ledger.balance(await _entries(clinic, patient)) == Decimal("102.50")
    # A receptionist takes payments.
    await payments.take_payment(desk, patient, payments.PaymentForm(amount="102.50", method="bank_transfer"))
    assert ledger.balance(await _entries(clinic, patient)) == 0


async def test_a_refund_pays_back_credit_only(clinic, cal):
    patient = await factories.make_patient(clinic)
    await payments.take_payment(clinic, patient, payments.PaymentForm(amount="40.00", method="cash"))
    with pytest.raises(ValidationFailed):
        await payments.refund(clinic, patient, payments.RefundForm(refund_amount="40.01", refund_method="cash"))
    await payments.refund(clinic, patient, payments.RefundForm(refund_amount="40.00", refund_method="cash"))
    assert ledger.balance(await _entries(clinic, patient)) == 0


async def test_a_family_shares_one_account_once_the_patients_own_is_settled(clinic, cal):
    parent = await factories.make_patient(clinic, given_name="Mara")
    child = await factories.make_patient(clinic, given_name="Tim")
    await completed_filling(clinic, cal["dentist"], child)
    with pytest.raises(ValidationFailed):
        await accounts.share_account(clinic, child, parent)
    await payments.take_payment(clinic, child, payments.PaymentForm(amount="105.00", method="cash"))
    family = await accounts.share_account(clinic, child, parent)
    await completed_filling(clinic, cal["dentist"], child, code="FI1", tooth="11")
    await completed_filling(clinic, cal["dentist"], parent, code="FI1", tooth="21")
    assert ledger.balance(await ledger.entries(family)) == Decimal("150.00")
    invoice_id = await invoices.issue(clinic, parent)
    invoice = await invoices.get(clinic, child, invoice_id)
    assert invoice["bill_to"].startswith("Mara") and len(invoice["lines"]) == 2


async def test_twenty_concurrent_invoices_get_gapless_unique_numbers(clinic, cal):
    patients_ = [await factories.make_patient(clinic) for _ in range(20)]
    await fee_schedule.load_demo_schedule(clinic)
    for patient in patients_:
        account = await accounts.account_id_of(clinic.clinic_id, patient)
        async with transaction():
            await ledger.append(clinic, account, patient, "charge", Decimal("60.00"), code="HY01",
                                description="Scale and polish")
    # A failed issue inside a rolled-back transaction gives its number back.
    with pytest.raises(RuntimeError):
        async with transaction():
            await invoices.issue(clinic, patients_[0])
            raise RuntimeError("the request failed after numbering")
    await asyncio.gather(*(invoices.issue(clinic, p) for p in patients_))
    seqs = sorted(r["seq"] for r in await Invoice.select(Invoice.seq))
    assert seqs == list(range(1, 21))
    numbers = {r["number"] for r in await Invoice.select(Invoice.number)}
    assert len(numbers) == 20 and all(n.endswith(tuple(f"{i:05d}" for i in range(1, 21))) for n in numbers)


async def test_an_issued_invoice_is_immutable_and_corrected_by_a_credit_note(clinic, cal):
    patient = await factories.make_patient(clinic)
    await completed_filling(clinic, cal["dentist"], patient)
    invoice_id = await invoices.issue(clinic, patient)
    for sql in ("UPDATE invoice SET total = 0", "DELETE FROM invoice_line", "DELETE FROM invoice"):
        with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
            await Invoice.raw(sql)
    with pytest.raises(ValidationFailed):
        await invoices.issue(clinic, patient)  # nothing left to invoice
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    with pytest.raises(Forbidden):
        await invoices.credit(desk, patient, invoice_id, invoices.CreditForm(reason="Wrong tooth"))
    note_id = await invoices.credit(clinic, patient, invoice_id, invoices.CreditForm(reason="Wrong tooth"))
    note = await invoices.get(clinic, patient, note_id)
    assert note["kind"] == "credit_note" and note["total"] == Decimal("-105.00")
    assert note["corrected"]["number"] == (await invoices.get(clinic, patient, invoice_id))["number"]
    assert ledger.balance(await _entries(clinic, patient)) == 0
    with pytest.raises(ValidationFailed):
        await invoices.credit(clinic, patient, invoice_id, invoices.CreditForm(reason="Again"))


async def test_vat_follows_the_fee_code_and_the_invoice_carries_the_clinics_tax_id(clinic, cal):
    from portal.tables import Clinic

    await Clinic.update({Clinic.tax_id: "NL001234567B01", Clinic.payment_terms_days: 14}).where(
        Clinic.id == clinic.clinic_id)
    patient = await factories.make_patient(clinic)
    await fee_schedule.load_demo_schedule(clinic)
    await ProcedureCode.update({ProcedureCode.vat_rate: Decimal("21.00")}).where(ProcedureCode.code == "FI1")
    await completed_filling(clinic, cal["dentist"], patient, code="FI1", tooth="11")  # 75.00 incl. 21 % VAT
    await completed_filling(clinic, cal["dentist"], patient)  # 105.00, exempt
    invoice = await invoices.get(clinic, patient, await invoices.issue(clinic, patient))
    assert [(line["code"], line["vat_amount"]) for line in invoice["lines"]] == [("FI1", Decimal("13.02")),
                                                                                 ("FI2", Decimal("0.00"))]
    assert invoice["vat_total"] == Decimal("13.02") and invoice["seller_tax_id"] == "NL001234567B01"
    assert (invoice["due_on"] - invoice["issued_at"].date()).days in (13, 14, 15)
