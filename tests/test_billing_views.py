"""The account page as the front desk and the owner use it: payments, invoices, PDFs, mail, refusals, roles."""

from decimal import Decimal

from portal.permissions import Role
from portal.tables import AuditEntry, LedgerEntry, OutboxMessage
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.test_billing_ledger import completed_filling


async def _desk_with_filling(client, clinic, cal):
    patient = await factories.make_patient(clinic, given_name="Lotte")
    await completed_filling(clinic, cal["dentist"], patient)
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    return patient, desk


async def test_the_front_desk_invoices_takes_a_card_payment_and_sees_the_balance(client, clinic, cal):
    patient, desk = await _desk_with_filling(client, clinic, cal)
    page = await client.get(f"/patients/{patient}")
    assert f"/patients/{patient}/account" in page.text
    page = await client.get(f"/patients/{patient}/account")
    assert page.status_code == 200 and "FI2" in page.text and "105" in page.text
    assert page.headers["cache-control"].startswith("private") or "no-store" in page.headers["cache-control"]
    issued = await post_form(client, f"/patients/{patient}/account/invoices")
    assert issued.status_code == 303
    invoice_page = await client.get(issued.headers["location"])
    assert invoice_page.status_code == 200 and "-00001" in invoice_page.text
    paid = await post_form(client, f"/patients/{patient}/account/payments",
                           {"amount": "105.00", "method": "card", "reference": "Terminal 4711"})
    assert paid.status_code == 303
    page = await client.get(f"/patients/{patient}/account")
    assert "Terminal 4711" in page.text and "Card terminal" in page.text
    balance = page.text.split('id="balance">', 1)[1].split("</p>", 1)[0]
    assert "0,00" in balance and "Nothing owed." in balance, balance  # the NL clinic writes euros the Dutch way
    actions = {r["action"] for r in await AuditEntry.select(AuditEntry.action).where(AuditEntry.patient_id == patient)}
    assert {"account.viewed", "invoice.issued", "ledger.payment", "invoice.viewed"} <= actions


async def test_a_wrong_amount_is_refused_beside_the_field_with_what_was_typed_and_nothing_booked(client, clinic, cal):
    patient, _ = await _desk_with_filling(client, clinic, cal)
    response = await post_form(client, f"/patients/{patient}/account/payments",
                               {"amount": "12,345", "method": "card", "reference": "kept"})
    assert response.status_code == 422
    assert 'aria-invalid="true" aria-describedby="e-amount"' in response.text
    assert 'value="12,345"' in response.text and 'value="kept"' in response.text
    assert await LedgerEntry.count().where(LedgerEntry.kind == "payment") == 0


async def test_only_the_owner_may_correct_and_a_write_off_needs_a_reason(client, clinic, cal):
    patient, _ = await _desk_with_filling(client, clinic, cal)
    page = await client.get(f"/patients/{patient}/account")
    assert "billing" not in page.text or "/adjustments" not in page.text
    refused = await post_form(client, f"/patients/{patient}/account/adjustments",
                              {"kind": "write_off", "adjust_amount": "5.00", "reason": "Goodwill"})
    assert refused.status_code == 403
    await sign_in_as(client, clinic)
    missing = await post_form(client, f"/patients/{patient}/account/adjustments",
                              {"kind": "write_off", "adjust_amount": "5.00", "reason": ""})
    assert missing.status_code == 422 and 'aria-describedby="e-reason"' in missing.text
    done = await post_form(client, f"/patients/{patient}/account/adjustments",
                           {"kind": "write_off", "adjust_amount": "5.00", "direction": "down", "reason": "Goodwill"})
    assert done.status_code == 303
    assert (await LedgerEntry.select(LedgerEntry.amount).where(LedgerEntry.kind == "write_off").first()
            )["amount"] == Decimal("-5.00")


async def test_invoice_and_statement_download_as_pdf_and_the_invoice_is_mailed_as_an_attachment(client, clinic,
                                                                                                   cal):
    patient, _ = await _desk_with_filling(client, clinic, cal)
    invoice_id = await factories.make_invoice(clinic, patient)
    pdf = await client.get(f"/patients/{patient}/account/invoices/{invoice_id}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and "attachment" in pdf.headers["content-disposition"]
    statement = await client.get(f"/patients/{patient}/account/statement")
    assert statement.status_code == 200 and statement.content.startswith(b"%PDF-")
    mailed = await post_form(client, f"/patients/{patient}/account/invoices/{invoice_id}/mail")
    assert mailed.status_code == 303
    message = await OutboxMessage.select().where(OutboxMessage.patient_id == patient).first().output(load_json=True)
    assert message["recipient"].startswith("anna") and message["attachments"][0]["content_type"] == "application/pdf"
    assert message["attachments"][0]["filename"].endswith("-00001.pdf")
    actions = {r["action"] for r in await AuditEntry.select(AuditEntry.action).where(AuditEntry.patient_id == patient)}
    assert {"invoice.printed", "account.statement_printed", "invoice.mailed"} <= actions


async def test_a_credit_note_from_the_invoice_page_refuses_a_missing_reason(client, clinic, cal):
    patient = await factories.make_patient(clinic)
    invoice_id = await factories.make_invoice(clinic, patient)
    await sign_in_as(client, clinic)
    missing = await post_form(client, f"/patients/{patient}/account/invoices/{invoice_id}/credit", {"reason": ""})
    assert missing.status_code == 422 and 'aria-describedby="e-reason"' in missing.text
    done = await post_form(client, f"/patients/{patient}/account/invoices/{invoice_id}/credit",
                           {"reason": "Billed twice"})
    assert done.status_code == 303
    note = await client.get(done.headers["location"])
    assert "-00002" in note.text and "-00001" in note.text


async def test_the_account_page_reads_in_seven_statements_and_a_foreign_patient_is_unknown(client, clinic, cal,
                                                                                        other_clinic, monkeypatch):
    from piccolo.engine.postgres import PostgresEngine

    patient, desk = await _desk_with_filling(client, clinic, cal)
    assert (await post_form(client, f"/patients/{patient}/account/invoices")).status_code == 303
    await completed_filling(clinic, cal["dentist"], patient)  # one charge not yet invoiced
    statements: list[str] = []
    original = PostgresEngine.run_querystring

    async def counted(self, querystring, in_pool=True):
        statements.append(str(querystring))
        return await original(self, querystring, in_pool)

    monkeypatch.setattr(PostgresEngine, "run_querystring", counted)
    page = await client.get(f"/patients/{patient}/account")
    assert page.status_code == 200 and "Issue an invoice for 1 charges" in page.text and "-00001" in page.text
    assert len(statements) <= 7, statements  # session, account, ledger, invoices, plan, payer side, audit
    monkeypatch.setattr(PostgresEngine, "run_querystring", original)
    foreign = await factories.make_patient(other_clinic)
    assert (await client.get(f"/patients/{foreign}/account")).status_code == 404
