"""The account's printable documents (invoice, credit note, statement) composed from the shared PDF renderer,
and an invoice sent by mail as an attachment through the outbox."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from portal import audit, display
from portal.billing import accounts, invoices, ledger
from portal.db import transaction
from portal.documents import pdf
from portal.errors import ValidationFailed
from portal.i18n import _
from portal.messaging import outbox
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.tables import Clinic


async def clinic_letterhead(clinic_id: int) -> tuple[pdf.Letterhead, dict]:
    clinic = await Clinic.select().where(Clinic.id == clinic_id).first()
    lines = tuple(line for line in (clinic["address"], clinic["contact_email"],
                                    _("VAT number: %(id)s", id=clinic["tax_id"]) if clinic["tax_id"] else "") if line)
    return pdf.Letterhead(name=clinic["name"], lines=lines), clinic


def _percent(rate) -> str:
    return f"{display.number(rate)} %" if rate else _("exempt")


def invoice_document(invoice: dict, letterhead: pdf.Letterhead, zone: str) -> bytes:
    money = invoice["currency"]
    title = (_("Credit note %(number)s", number=invoice["number"]) if invoice["kind"] == "credit_note"
             else _("Invoice %(number)s", number=invoice["number"]))
    facts = [(_("Bill to"), "\n".join(p for p in (invoice["bill_to"], invoice["bill_to_address"]) if p)),
             (_("Number"), invoice["number"]),
             (_("Date"), display.format_instant(invoice["issued_at"], zone, "date")),
             (_("Due"), display.format_day(invoice["due_on"]))]
    if invoice.get("corrected"):
        facts.append((_("Corrects invoice"), invoice["corrected"]["number"]))
    if invoice["seller_tax_id"]:
        facts.append((_("Our VAT number"), invoice["seller_tax_id"]))
    rows = [(display.format_day(line["performed_on"]), line["code"], line["description"], line["patient_name"],
             _percent(line["vat_rate"]), display.money(line["amount"], money)) for line in invoice["lines"]]
    blocks = [pdf.Facts(facts),
              pdf.Table((_("Date"), _("Code"), _("Treatment"), _("Patient"), _("VAT"), _("Amount")), rows,
                        align_right=(4, 5), widths=(0.14, 0.1, 0.34, 0.18, 0.1, 0.14),
                        total=("", "", _("Total"), "", "", display.money(invoice["total"], money))),
              pdf.Text(_("Included VAT: %(vat)s. Dental care is exempt from VAT; cosmetic treatment is not.",
                         vat=display.money(invoice["vat_total"], money)), small=True)]
    if invoice["kind"] == "invoice":
        blocks.append(pdf.Text(_("Please pay by %(due)s, quoting invoice %(number)s.",
                                 due=display.format_day(invoice["due_on"]), number=invoice["number"])))
    return pdf.render(letterhead, title, blocks, footer=f"{invoice['seller_name']} · {invoice['number']}")


async def invoice_pdf(actor: Actor, patient_id: int, invoice_id: int) -> tuple[str, bytes]:
    """The invoice as PDF with its file name; printing it is audited."""
    invoice = await invoices.get(actor, patient_id, invoice_id, audited=False)
    letterhead, clinic = await clinic_letterhead(actor.clinic_id)
    data = invoice_document(invoice, letterhead, clinic["time_zone"])
    await audit.record(actor, "invoice.printed", patient_id=patient_id, object_type="invoice", object_id=invoice_id)
    return f"{invoice['number']}.pdf", data


async def statement_pdf(actor: Actor, patient_id: int) -> tuple[str, bytes]:
    """The account's statement: every entry with the running balance, what is owed, and its aging."""
    require(actor, Permission.HANDLE_PAYMENTS)
    await ensure_in_clinic(actor, patient_id)
    account_id = await accounts.account_id_of(actor.clinic_id, patient_id)
    name, data = await statement_document(actor.clinic_id, account_id)
    await audit.record(actor, "account.statement_printed", patient_id=patient_id, object_type="billing_account",
                       object_id=account_id)
    return name, data


async def statement_document(clinic_id: int, account_id: int) -> tuple[str, bytes]:
    """The statement of one account of the clinic as of today (file name, PDF); the caller checks and audits."""
    account = await accounts.account(clinic_id, account_id)
    letterhead, clinic = await clinic_letterhead(clinic_id)
    zone, money = clinic["time_zone"], clinic["currency"]
    entries = ledger.with_running_balance(await ledger.entries(account_id))
    today = datetime.now(timezone.utc).astimezone(ZoneInfo(zone)).date()
    aged = ledger.aging(entries, today)
    total = ledger.balance(entries)
    payer = account["payer"] or {}
    rows = [(display.format_instant(e["at"], zone, "date"), display.label(e["kind"], "ledger_kind"),
             " ".join(p for p in (e["code"], e["description"], display.label(e["method"], "payment_method"),
                                  e["reason"]) if p),
             display.money(e["amount"], money), display.money(e["running"], money)) for e in entries]
    blocks = [pdf.Facts([(_("Account"), account["name"]),
                         (_("Address"), payer.get("address", "") or ""),
                         (_("Date"), display.format_day(today))]),
              pdf.Table((_("Date"), _("Entry"), _("Details"), _("Amount"), _("Balance")), rows, align_right=(3, 4),
                        widths=(0.15, 0.15, 0.4, 0.15, 0.15),
                        total=("", "", _("Balance"), "", display.money(total, money))),
              pdf.Heading(_("Aging")),
              pdf.Table(tuple(str(display.label(k, "aging_bucket")) for k, _v in aged.buckets) + (_("Credit"),),
                        [tuple(display.money(v, money) for _k, v in aged.buckets)
                         + (display.money(aged.credit, money),)],
                        align_right=(0, 1, 2, 3, 4))]
    data = pdf.render(letterhead, _("Statement of account"), blocks, footer=clinic["name"])
    return f"statement-{today.isoformat()}.pdf", data


async def mail_invoice(actor: Actor, patient_id: int, invoice_id: int) -> str:
    """Queue the invoice PDF to the payer's email address (sent by the worker); returns the address."""
    invoice = await invoices.get(actor, patient_id, invoice_id, audited=False)
    account = await accounts.account(actor.clinic_id, invoice["account"])
    address = (account["payer"] or {}).get("email", "")
    if not address:
        raise ValidationFailed({"mail": _("The account holder has no email address on file.")})
    letterhead, clinic = await clinic_letterhead(actor.clinic_id)
    data = invoice_document(invoice, letterhead, clinic["time_zone"])
    subject = _("Invoice %(number)s from %(clinic)s", number=invoice["number"], clinic=clinic["name"])
    text = _("Dear %(name)s,\n\nPlease find invoice %(number)s attached.\n\n%(clinic)s\n",
             name=invoice["bill_to"], number=invoice["number"], clinic=clinic["name"])
    sent_at = datetime.now(timezone.utc).isoformat()
    async with transaction():
        await outbox.enqueue(outbox.Email(to=address, subject=subject, text=text, attachments=(
            outbox.Attachment(f"{invoice['number']}.pdf", "application/pdf", data),)),
            key=f"invoice:{invoice_id}:{sent_at}", clinic_id=actor.clinic_id, patient_id=patient_id)
        await audit.record(actor, "invoice.mailed", patient_id=patient_id, object_type="invoice",
                           object_id=invoice_id, detail={"to": address})
    return address
