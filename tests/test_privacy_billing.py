"""Payment data in the privacy centre: on the access page, in the export (with invoice PDFs), kept through an
erasure request, and erased by the retention engine when the clinic's financial rule (NL: 7 years) says."""

import io
import zipfile
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from portal.billing import accounts, ledger
from portal.db import transaction
from portal.privacy import export, retention
from portal.privacy.retention import RuleForm, erasable_dates, run_retention
from portal.tables import BillingAccount, Invoice, LedgerEntry, Patient, PrivacyRequest
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.privacy_helpers import sign_in_patient

FINANCIAL = [r for r in retention.DEFAULT_RULES["NL"] if r.retention_class == "financial"][0]


async def test_the_patient_sees_and_exports_their_invoices_and_payments(client, other_client, clinic, mailbox):
    patient_id = await factories.make_patient(clinic, email="pay@example.org", date_of_birth="1990-01-01")
    invoice_id = await factories.make_invoice(clinic, patient_id)
    number = (await Invoice.select(Invoice.number).where(Invoice.id == invoice_id).first())["number"]
    await sign_in_patient(client, mailbox, "pay@example.org", "1990-01-01")
    page = (await client.get("/privacy/me")).text
    assert "Invoices and credit notes" in page and number in page and "Comprehensive examination" in page
    export_id = (await post_form(client, "/privacy/me/export")).headers["location"].rsplit("/", 1)[1]
    await export.build_export(int(export_id))
    archive = zipfile.ZipFile(io.BytesIO((await client.get(f"/privacy/me/exports/{export_id}/download")).content))
    assert archive.read(f"files/invoices/{number}.pdf").startswith(b"%PDF-")
    assert "EX01" in archive.read("csv/account_ledger.csv").decode()
    # An approved erasure keeps the books (tax law) with the isolated record.
    await post_form(client, "/privacy/me/ask/erasure", {})
    await sign_in_as(other_client, clinic)
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    await post_form(other_client, f"/privacy-requests/{request_id}/decide",
                    {"decision": "approved", "identity_check": "Passport seen at the desk"})
    assert (await Patient.select(Patient.isolated_at).where(Patient.id == patient_id).first())["isolated_at"]
    assert await LedgerEntry.count().where(LedgerEntry.patient == patient_id) == 1
    assert await Invoice.exists().where(Invoice.id == invoice_id)


async def _booked(clinic, years_ago: float) -> int:
    patient_id = await factories.make_patient(clinic)
    then = datetime.now(timezone.utc) - timedelta(days=int(365 * years_ago))
    await Patient.update({Patient.created_at: then}).where(Patient.id == patient_id)
    account = await accounts.account_id_of(clinic.clinic_id, patient_id)
    async with transaction():
        await ledger.append(clinic, account, patient_id, "charge", Decimal("60.00"), code="HY01",
                            description="Scale and polish", at=then)
        await ledger.append(clinic, account, patient_id, "payment", Decimal("-60.00"), method="cash", at=then)
    return patient_id


async def test_the_books_go_seven_years_after_the_last_entry_once_the_owner_confirms_the_rule(clinic):
    assert FINANCIAL.years == 7 and "AWR" in FINANCIAL.source
    old, recent = await _booked(clinic, 7.1), await _booked(clinic, 6.5)
    assert (await erasable_dates(clinic.clinic_id, old))["account_ledger"]["on"] is None  # not confirmed: kept
    await retention.confirm_rule(clinic, RuleForm("financial", "7", FINANCIAL.basis, FINANCIAL.source))
    dates = await erasable_dates(clinic.clinic_id, recent)
    assert dates["invoices"]["on"] > datetime.now(timezone.utc).date() and "AWR" in dates["invoices"]["text"]
    result = await run_retention()
    assert result["patients"] == 1
    assert not await LedgerEntry.exists().where(LedgerEntry.patient == old)
    assert not await BillingAccount.exists().where(BillingAccount.guarantor == old)
    assert await LedgerEntry.count().where(LedgerEntry.patient == recent) == 2
    assert await Patient.exists().where(Patient.id == old)  # the clinical record has its own rule
