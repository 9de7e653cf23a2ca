"""Third-party payers in the privacy registry: the patient's cover (payer, member number, dates) and the payer
claims that named them, kept with the books under tax law ("financial").

Both are isolated when an erasure is approved and erased by the retention engine with the ledger. Each time a claim
naming the patient is produced or sent, the payer is recorded as a recipient (`disclosures`, see
`billing/claim_documents.disclose`), so a correction or erasure is passed on to it (GDPR Art. 19).
"""

from portal.i18n import lazy_gettext
from portal.privacy.billing_records import TAX
from portal.privacy.categories import allow_erasure
from portal.privacy.registry import DataCategory, plain_rows, register
from portal.tables import PayerClaimLine, PayerCoverage

COVERAGE_FIELDS = {
    "payer_name": lazy_gettext("Insurer or fund"),
    "member_number": lazy_gettext("Member or policy number"),
    "valid_from": lazy_gettext("Covered from"),
    "valid_to": lazy_gettext("Covered until"),
    "created_at": lazy_gettext("When it was recorded"),
}
CLAIM_FIELDS = {
    "number": lazy_gettext("Claim number"),
    "payer_name": lazy_gettext("Insurer or fund"),
    "created_at": lazy_gettext("When the claim was made"),
    "performed_on": lazy_gettext("Date of treatment"),
    "code": lazy_gettext("Procedure code"),
    "description": lazy_gettext("What it was for"),
    "member_number": lazy_gettext("Member or policy number"),
    "charged": lazy_gettext("Charged"),
    "amount": lazy_gettext("Claimed from the payer"),
    "state": lazy_gettext("Drafted, sent, paid, partly paid or rejected"),
}


async def _coverage(patient_id: int) -> list[dict]:
    rows = await PayerCoverage.raw(
        "SELECT c.*, p.name AS payer_name FROM payer_coverage c JOIN payer p ON p.id = c.payer WHERE c.patient = {} "
        "ORDER BY c.valid_from, c.id", patient_id)
    return plain_rows(rows, COVERAGE_FIELDS)


async def _claims(patient_id: int) -> list[dict]:
    rows = await PayerClaimLine.raw(
        "SELECT l.*, k.number, k.created_at, p.name AS payer_name, (SELECT v.state FROM payer_claim_event v "
        "WHERE v.claim = k.id ORDER BY v.id DESC LIMIT 1) AS state FROM payer_claim_line l "
        "JOIN payer_claim k ON k.id = l.claim JOIN payer p ON p.id = k.payer WHERE l.patient = {} "
        "ORDER BY l.claim, l.id", patient_id)
    return plain_rows(rows, CLAIM_FIELDS)


async def _erase_coverage(patient_id: int) -> int:
    return len(await PayerCoverage.delete().where(PayerCoverage.patient == patient_id).returning(PayerCoverage.id))


async def _erase_claims(patient_id: int) -> int:
    """The patient's claim lines (their member number and treatment); the claim's number and total stay with the
    payer's books, and the payer shares go with the account's ledger (billing_records)."""
    await allow_erasure()
    return len(await PayerClaimLine.raw("DELETE FROM payer_claim_line WHERE patient = {} RETURNING id", patient_id))


register(DataCategory(
    name="payer_coverage", title=lazy_gettext("Insurance and fund cover"), order=45, retention="financial",
    basis="last_ledger_entry", purpose=lazy_gettext("Which insurer or fund pays part of the treatment, so we can "
                                                    "claim its share."),
    legal_basis=TAX, recipients=("hosting",), fields=COVERAGE_FIELDS, collect=_coverage, erase=_erase_coverage))
register(DataCategory(
    name="payer_claims", title=lazy_gettext("Claims to the insurer or fund"), order=46, retention="financial",
    basis="last_ledger_entry", purpose=lazy_gettext("The treatment we claimed from the insurer or fund, and what it "
                                                    "paid or refused."),
    legal_basis=TAX, recipients=("hosting",), fields=CLAIM_FIELDS, collect=_claims, erase=_erase_claims))
