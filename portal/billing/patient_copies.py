"""What a signed-in patient (or their guardian) downloads from the privacy centre: the invoices and statements
of the accounts they head, never another patient's.

"Their own" is what is addressed to them: every invoice on an account the patient heads (their own account and a
family account they are the guarantor of). A member of someone else's family account sees no family invoice here,
since it lists the other members' treatment; the account holder has it. Every list and download is audited.
"""

from portal import audit
from portal.billing import documents, invoices
from portal.errors import NotFound
from portal.permissions import Actor
from portal.privacy.centre import subject_of
from portal.tables import BillingAccount, Invoice


async def _headed(actor: Actor, patient_id: int) -> list[dict]:
    return await BillingAccount.select(BillingAccount.id, BillingAccount.name, BillingAccount.kind).where(
        (BillingAccount.guarantor == patient_id) & (BillingAccount.clinic == actor.clinic_id)).order_by(
        BillingAccount.id)


async def own_documents(actor: Actor) -> dict:
    """The accounts the patient heads, each with its invoices (newest first) and what is paid on them."""
    patient_id = subject_of(actor)
    headed = await _headed(actor, patient_id)
    for account in headed:
        account["invoices"] = await invoices.list_for_account(account["id"])
    await audit.record(actor, "account.documents_listed", patient_id=patient_id, object_type="patient",
                       object_id=patient_id, detail={"accounts": [a["id"] for a in headed]})
    return {"accounts": headed}


async def own_invoice_pdf(actor: Actor, invoice_id: int) -> tuple[str, bytes]:
    """One invoice or credit note of an account the patient heads, as PDF (anything else is 404)."""
    patient_id = subject_of(actor)
    row = await Invoice.select().where((Invoice.id == invoice_id) & (Invoice.clinic == actor.clinic_id)).first()
    if row is None or row["account"] not in {a["id"] for a in await _headed(actor, patient_id)}:
        raise NotFound()
    data = documents.invoice_document(await invoices.with_lines(row), *await _letterhead(actor))
    await audit.record(actor, "invoice.downloaded", patient_id=patient_id, object_type="invoice",
                       object_id=invoice_id)
    return f"{row['number']}.pdf", data


async def own_statement_pdf(actor: Actor, account_id: int) -> tuple[str, bytes]:
    """The statement of an account the patient heads, as of today (anything else is 404)."""
    patient_id = subject_of(actor)
    if account_id not in {a["id"] for a in await _headed(actor, patient_id)}:
        raise NotFound()
    name, data = await documents.statement_document(actor.clinic_id, account_id)
    await audit.record(actor, "account.statement_downloaded", patient_id=patient_id, object_type="billing_account",
                       object_id=account_id)
    return name, data


async def _letterhead(actor: Actor) -> tuple:
    letterhead, clinic = await documents.clinic_letterhead(actor.clinic_id)
    return letterhead, clinic["time_zone"]
