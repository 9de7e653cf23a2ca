"""The owner's money reports and billing settings: figures from the ledger, a chart, CSV, refusals, roles."""

import csv
import io
from decimal import Decimal

from portal.billing import payments
from portal.permissions import Role
from portal.tables import Clinic, ProcedureCode
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.test_billing_ledger import completed_filling


async def test_the_owner_reads_the_months_production_by_provider_and_code_and_collections(client, clinic, cal):
    patient = await factories.make_patient(clinic)
    await completed_filling(clinic, cal["dentist"], patient)  # 105.00 by Dr. Dekker
    await completed_filling(clinic, cal["dentist"], patient, code="FI1", tooth="11")  # 75.00
    await payments.take_payment(clinic, patient, payments.PaymentForm(amount="100.00", method="card"))
    await sign_in_as(client, clinic)
    page = await client.get("/reports/money")
    assert page.status_code == 200 and '<rect x="' in page.text and "report-bar" in page.text
    assert "180" in page.text  # the month's production
    by_provider = await client.get("/reports/money?report=production_provider")
    assert "Dr. Dekker" in by_provider.text
    rows = list(csv.reader(io.StringIO((await client.get("/reports/money/export.csv?report=production_code")).text)))
    assert rows[0] == ["label", "amount", "count"]
    assert sorted(rows[1:]) == [["FI1", "75.00", "1"], ["FI2", "105.00", "1"]]
    collected = list(csv.reader(io.StringIO(
        (await client.get("/reports/money/export.csv?report=collections_month")).text)))
    assert collected[1][1:] == ["card", "100.00", "1"]
    aging = await client.get("/reports/money/export.csv?report=aging")
    assert "Current,80.00,1" in aging.text


async def test_a_bad_range_is_refused_beside_the_field_and_the_front_desk_sees_no_reports(client, clinic):
    await sign_in_as(client, clinic)
    bad = await client.get("/reports/money?start=2026-05-01&end=2026-01-01")
    assert bad.status_code == 422 and 'aria-describedby="e-end"' in bad.text and 'value="2026-05-01"' in bad.text
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    assert (await client.get("/reports/money")).status_code == 403
    assert "/reports/money" not in (await client.get("/")).text
    assert "/reports/money" not in (await client.get("/dashboard/figures")).text


async def test_the_owner_sets_tax_number_terms_and_vat_per_fee_code(client, clinic):
    from portal.charts import fee_schedule

    await fee_schedule.load_demo_schedule(clinic)
    code = await ProcedureCode.select().where(ProcedureCode.code == "CR1").first()
    await sign_in_as(client, clinic)
    assert "/settings/billing" in (await client.get("/settings")).text
    bad = await post_form(client, "/settings/billing", {"tax_id": "NL001234567B01", "payment_terms_days": "400",
                                                        f"vat_{code['id']}": "abc"})
    assert bad.status_code == 422 and 'id="e-payment_terms_days"' in bad.text and f'id="e-vat_{code["id"]}"' in bad.text
    assert 'value="abc"' in bad.text
    assert (await Clinic.select(Clinic.tax_id).first())["tax_id"] == ""
    done = await post_form(client, "/settings/billing", {"tax_id": "NL001234567B01", "payment_terms_days": "14",
                                                         f"vat_{code['id']}": "21"})
    assert done.status_code == 303
    clinic_row = await Clinic.select(Clinic.tax_id, Clinic.payment_terms_days).first()
    assert (clinic_row["tax_id"], clinic_row["payment_terms_days"]) == ("NL001234567B01", 14)
    assert (await ProcedureCode.select(ProcedureCode.vat_rate).where(ProcedureCode.id == code["id"]).first()
            )["vat_rate"] == Decimal("21.00")


async def test_the_demo_clinic_has_a_realistic_ledger():
    from portal import demo
    from portal.billing import ledger
    from portal.tables import BillingAccount, Invoice, LedgerEntry

    await demo.load_demo()
    assert await LedgerEntry.count().where(LedgerEntry.kind == "charge") >= 25
    assert await Invoice.count() >= 15
    assert {r["method"] for r in await LedgerEntry.select(LedgerEntry.method).where(
        LedgerEntry.kind == "payment")} >= {"cash", "card", "bank_transfer"}
    assert await BillingAccount.exists().where(BillingAccount.kind == "family")
    balances = []
    for account in await BillingAccount.select(BillingAccount.id):
        balances.append(ledger.balance(await ledger.entries(account["id"])))
    assert any(b > 0 for b in balances) and any(b < 0 for b in balances) and any(b == 0 for b in balances)
    from portal.tables import PayerClaimEvent, PayerShare

    assert await PayerShare.count().where(PayerShare.kind == "expected") >= 5  # an insurer pays part of some care
    assert [e["state"] for e in await PayerClaimEvent.select(PayerClaimEvent.state).order_by(PayerClaimEvent.id)] \
        == ["drafted", "sent"]
