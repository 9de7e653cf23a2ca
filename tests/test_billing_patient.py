"""The privacy centre's invoices: a signed-in patient downloads their own invoices and statements as PDF, never
another patient's (nor a family account's they do not head), and every download is audited."""

from portal.billing import accounts
from portal.tables import AuditEntry, Invoice
from tests import factories
from tests.privacy_helpers import sign_in_patient


async def _number_and_account(invoice_id: int) -> tuple[str, int]:
    row = await Invoice.select(Invoice.number, Invoice.account).where(Invoice.id == invoice_id).first()
    return row["number"], row["account"]


async def test_a_patient_downloads_their_own_invoice_and_statement_and_never_anothers(client, clinic, mailbox):
    mine = await factories.make_patient(clinic, email="own@example.org", date_of_birth="1980-02-02")
    other = await factories.make_patient(clinic, given_name="Stranger", email="other@example.org",
                                         date_of_birth="1981-03-03")
    my_number, my_account = await _number_and_account(await factories.make_invoice(clinic, mine))
    their_invoice = await factories.make_invoice(clinic, other)
    their_number, their_account = await _number_and_account(their_invoice)
    await sign_in_patient(client, mailbox, "own@example.org", "1980-02-02")
    page = await client.get("/privacy/me/account")
    assert page.status_code == 200 and my_number in page.text and their_number not in page.text
    my_invoice = (await Invoice.select(Invoice.id).where(Invoice.number == my_number).first())["id"]
    pdf = await client.get(f"/privacy/me/account/invoices/{my_invoice}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf" and "no-store" in pdf.headers["cache-control"]
    statement = await client.get(f"/privacy/me/account/statements/{my_account}/pdf")
    assert statement.status_code == 200 and statement.content.startswith(b"%PDF-")
    assert (await client.get(f"/privacy/me/account/invoices/{their_invoice}/pdf")).status_code == 404
    assert (await client.get(f"/privacy/me/account/statements/{their_account}/pdf")).status_code == 404
    audited = await AuditEntry.select(AuditEntry.action, AuditEntry.actor_kind, AuditEntry.object_id).where(
        AuditEntry.patient_id == mine)
    seen = {(r["action"], r["actor_kind"], r["object_id"]) for r in audited}
    assert ("invoice.downloaded", "patient", str(my_invoice)) in seen
    assert ("account.statement_downloaded", "patient", str(my_account)) in seen
    assert ("account.documents_listed", "patient", str(mine)) in seen
    assert not await AuditEntry.exists().where((AuditEntry.patient_id == other)
                                               & (AuditEntry.actor_kind == "patient"))


async def test_a_family_member_does_not_get_the_family_invoice_that_the_holder_gets(client, other_client, clinic,
                                                                                   mailbox):
    holder = await factories.make_patient(clinic, given_name="Holder", email="holder@example.org",
                                          date_of_birth="1970-01-01")
    member = await factories.make_patient(clinic, given_name="Member", email="member@example.org",
                                          date_of_birth="1972-01-01")
    await accounts.share_account(clinic, member, holder)
    number, family = await _number_and_account(await factories.make_invoice(clinic, member))
    invoice_id = (await Invoice.select(Invoice.id).where(Invoice.number == number).first())["id"]
    await sign_in_patient(client, mailbox, "member@example.org", "1972-01-01")
    page = await client.get("/privacy/me/account")
    assert page.status_code == 200 and number not in page.text and "account holder" in page.text
    assert (await client.get(f"/privacy/me/account/invoices/{invoice_id}/pdf")).status_code == 404
    assert (await client.get(f"/privacy/me/account/statements/{family}/pdf")).status_code == 404
    await sign_in_patient(other_client, mailbox, "holder@example.org", "1970-01-01")
    assert number in (await other_client.get("/privacy/me/account")).text
    assert (await other_client.get(f"/privacy/me/account/invoices/{invoice_id}/pdf")).content.startswith(b"%PDF-")
