"""A payer claim as the payer reads it: a PDF from the shared renderer and a CSV of the same lines; producing or
sending one records the payer as a recipient of each patient's data on it."""

import csv
import io

from portal import audit, display
from portal.billing import claims
from portal.billing.documents import clinic_letterhead
from portal.documents import pdf
from portal.i18n import _
from portal.permissions import Actor
from portal.privacy.lab_records import record_disclosure

# What of each patient a claim carries (shown on the patient's access page under disclosures).
DISCLOSED = ["name", "date_of_birth", "member_number", "treatment_codes_and_dates", "amounts"]


async def disclose(actor: Actor, claim: dict) -> None:
    """Inside the producing or sending transaction: the payer received these patients' data."""
    for patient_id in claims.patients_of(claim):
        await record_disclosure(actor, patient_id, kind="payer", name=claim["payer_name"],
                                address=claim["payer_email"], data=DISCLOSED, subject_type="payer_claim",
                                subject_id=claim["id"])


def _header() -> tuple[str, ...]:
    return (_("Date"), _("Patient"), _("Date of birth"), _("Member number"), _("Code"), _("Treatment"),
            _("Charged"), _("Claimed"))


def _rows(claim: dict, currency: str | None) -> list[tuple]:
    def money(value):
        return display.money(value, currency) if currency else f"{value:.2f}"

    return [(display.format_day(line["performed_on"]) if currency else line["performed_on"].isoformat(),
             f"{line['given_name'] or ''} {line['family_name'] or ''}".strip(),
             (display.format_day(line["date_of_birth"]) if currency else line["date_of_birth"].isoformat())
             if line["date_of_birth"] else "",
             line["member_number"], line["code"], line["description"], money(line["charged"]), money(line["amount"]))
            for line in claim["lines"]]


def claim_blocks(claim: dict, clinic: dict) -> list:
    """What the claim PDF prints: the payer and claim facts, one line per claimed charge, the total."""
    currency = clinic["currency"]
    to = "\n".join(p for p in (claim["payer_name"], claim["payer_address"]) if p)
    facts = [(_("Claim to"), to), (_("Payer identifier"), claim["payer_identifier"] or "-"),
             (_("Claim number"), claim["number"]),
             (_("Date"), display.format_instant(claim["created_at"], clinic["time_zone"], "date"))]
    if claim["period_from"] or claim["period_to"]:
        facts.append((_("Treatment from"), display.format_day(claim["period_from"]) if claim["period_from"] else "-"))
        facts.append((_("Treatment to"), display.format_day(claim["period_to"]) if claim["period_to"] else "-"))
    if clinic.get("tax_id"):
        facts.append((_("Our VAT number"), clinic["tax_id"]))
    blocks = [pdf.Facts(facts),
              pdf.Table(_header(), _rows(claim, currency), align_right=(6, 7),
                        widths=(0.1, 0.17, 0.1, 0.13, 0.08, 0.22, 0.1, 0.1),
                        total=("", "", "", "", "", _("Total"), "", display.money(claim["total"], currency))),
              pdf.Text(_("Please pay the claimed amounts quoting claim %(number)s.", number=claim["number"]))]
    return blocks


def claim_pdf_document(claim: dict, letterhead: pdf.Letterhead, clinic: dict) -> bytes:
    blocks = claim_blocks(claim, clinic)
    return pdf.render(letterhead, _("Claim %(number)s", number=claim["number"]), blocks,
                      footer=f"{clinic['name']} · {claim['number']}")


def claim_csv(claim: dict) -> str:
    """Every line with plain ISO dates and amounts (what a payer's system imports); every cell spreadsheet-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([display.csv_cell(h) for h in (_("Claim number"),) + _header()])
    for row in _rows(claim, None):
        writer.writerow([display.csv_cell(v) for v in (claim["number"],) + row])
    return out.getvalue()


async def produce(actor: Actor, claim_id: int, fmt: str) -> tuple[str, bytes | str]:
    """The claim as `pdf` or `csv` with its file name; the payer is recorded as recipient of every patient on it."""
    from portal.db import transaction

    claim = await claims.read(actor, claim_id, audited=False)
    if fmt == "pdf":
        letterhead, clinic = await clinic_letterhead(actor.clinic_id)
        data = claim_pdf_document(claim, letterhead, clinic)
    else:
        data = claim_csv(claim)
    async with transaction():
        await disclose(actor, claim)
        await audit.record_patients_shown(actor, f"payer_claim.{fmt}", claims.patients_of(claim))
    return f"{claim['number']}.{fmt}", data
