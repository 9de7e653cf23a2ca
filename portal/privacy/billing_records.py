"""The patient account's data categories: ledger entries and invoices, kept under tax law ("financial").

A patient's financial data is what was booked for their treatment (entries naming them) and, on an account
they head, everything booked there, with the invoices addressed to them (the PDFs join the export). It is
isolated with the clinical record when an erasure is approved and erased by the retention engine when the
clinic's confirmed "financial" rule says (NL: seven years, AWR art. 52). Erasing deletes the accounts the
patient heads alone; on a shared family account their entries stay for the other members, without their name.
"""

from portal.i18n import lazy_gettext
from portal.privacy.categories import allow_erasure
from portal.privacy.registry import DataCategory, ExportFile, plain_rows, register
from portal.tables import BillingAccount, Invoice

TAX = lazy_gettext("GDPR Art. 6(1)(c): the legal duty to keep books and invoices (in NL AWR art. 52, Wet OB art. 35a)")
ENTRY_FIELDS = {
    "at": lazy_gettext("When it was booked"),
    "kind": lazy_gettext("Kind: charge, payment, refund, credit note, adjustment or write-off"),
    "amount": lazy_gettext("Amount (positive: owed; negative: paid or credited)"),
    "method": lazy_gettext("How it was paid"),
    "code": lazy_gettext("Procedure code"),
    "description": lazy_gettext("What it was for"),
    "vat_rate": lazy_gettext("VAT rate in percent"),
    "reference": lazy_gettext("Payment reference"),
    "reason": lazy_gettext("Reason of a correction"),
    "recorded_by_name": lazy_gettext("Who booked it"),
    "account_name": lazy_gettext("Account"),
}
INVOICE_FIELDS = {
    "number": lazy_gettext("Invoice number"),
    "kind": lazy_gettext("Invoice or credit note"),
    "issued_at": lazy_gettext("Issued"),
    "due_on": lazy_gettext("Due"),
    "total": lazy_gettext("Total"),
    "vat_total": lazy_gettext("VAT included"),
    "currency": lazy_gettext("Currency (ISO 4217)"),
    "bill_to": lazy_gettext("Addressed to"),
    "bill_to_address": lazy_gettext("Address"),
    "file": lazy_gettext("PDF in this export's files/ folder"),
}

_ACCOUNTS = "SELECT id FROM billing_account WHERE guarantor = {}"


async def _entries(patient_id: int) -> list[dict]:
    rows = await BillingAccount.raw(
        "SELECT e.*, a.name AS account_name FROM ledger_entry e JOIN billing_account a ON a.id = e.account "
        f"WHERE e.patient = {{}} OR e.account IN ({_ACCOUNTS}) ORDER BY e.at, e.id",
        patient_id,
        patient_id,
    )
    return plain_rows(rows, ENTRY_FIELDS)


async def _invoice_rows(patient_id: int) -> list[dict]:
    rows = await Invoice.raw(
        f"SELECT * FROM invoice i WHERE i.account IN ({_ACCOUNTS}) OR EXISTS (SELECT 1 FROM invoice_line l "
        "JOIN ledger_entry e ON e.id = l.entry WHERE l.invoice = i.id AND e.patient = {}) ORDER BY i.id",
        patient_id,
        patient_id,
    )
    for row in rows:
        row["file"] = f"{row['number']}.pdf"
    return rows


async def _invoices(patient_id: int) -> list[dict]:
    return plain_rows(await _invoice_rows(patient_id), INVOICE_FIELDS)


async def _invoice_files(patient_id: int) -> list[ExportFile]:
    from portal.billing import documents
    from portal.tables import InvoiceLine

    files = []
    for row in await _invoice_rows(patient_id):
        row["lines"] = await InvoiceLine.select().where(InvoiceLine.invoice == row["id"]).order_by(InvoiceLine.id)
        row["corrected"] = (
            await Invoice.select(Invoice.number).where(Invoice.id == row["corrects"]).first()
            if row["corrects"]
            else None
        )
        letterhead, clinic = await documents.clinic_letterhead(row["clinic"])
        files.append(
            ExportFile(row["file"], "application/pdf", documents.invoice_document(row, letterhead, clinic["time_zone"]))
        )
    return files


async def _erase(patient_id: int) -> int:
    """Delete the accounts the patient heads alone (entries, invoices and allocations go with them)."""
    await allow_erasure()
    return len(
        await BillingAccount.raw(
            "DELETE FROM billing_account a WHERE a.guarantor = {} AND NOT EXISTS (SELECT 1 FROM billing_member m "
            "WHERE m.account = a.id AND m.patient <> {}) RETURNING a.id",
            patient_id,
            patient_id,
        )
    )


async def _erase_invoices(patient_id: int) -> int:
    return 0  # invoices go with their account (see _erase, which runs with the ledger category)


register(
    DataCategory(
        name="account_ledger",
        title=lazy_gettext("Account: charges and payments"),
        order=47,
        retention="financial",
        basis="last_ledger_entry",
        purpose=lazy_gettext("What the treatment cost, what was paid and how, and any corrections."),
        legal_basis=TAX,
        recipients=("hosting",),
        fields=ENTRY_FIELDS,
        collect=_entries,
        erase=_erase,
    )
)
register(
    DataCategory(
        name="invoices",
        title=lazy_gettext("Invoices and credit notes"),
        order=48,
        retention="financial",
        basis="last_ledger_entry",
        purpose=lazy_gettext("The invoices we issued, as sent."),
        legal_basis=TAX,
        recipients=("hosting", "mail"),
        fields=INVOICE_FIELDS,
        collect=_invoices,
        erase=_erase_invoices,
        files=_invoice_files,
    )
)
