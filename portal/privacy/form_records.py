"""Patient forms in the privacy registry: what was sent, answered and signed, on the access page, in the export
(the signed PDFs among the files) and erased with the rest."""

from portal.privacy.categories import CARE, allow_erasure
from portal.privacy.registry import DataCategory, ExportFile, plain_rows, register
from portal.tables import SentForm

FORM_FIELDS = {"title": "The form", "sent_at": "When the practice sent it", "submitted_at": "When you signed it",
               "answers": "Your answers", "signer_name": "The name you signed with",
               "signature_method": "How you signed (drawn or typed name)",
               "signed_sha256": "SHA-256 of what you signed", "decision": "Whether staff accepted it into your record",
               "decided_at": "When staff decided"}


async def _forms(patient_id: int) -> list[dict]:
    rows = await SentForm.select(*[getattr(SentForm, f) for f in FORM_FIELDS]).where(
        SentForm.patient == patient_id).order_by(SentForm.id)
    return plain_rows(rows, FORM_FIELDS)


async def _pdfs(patient_id: int) -> list[ExportFile]:
    rows = await SentForm.select(SentForm.id, SentForm.kind, SentForm.pdf).where(
        (SentForm.patient == patient_id) & SentForm.pdf.is_not_null()).order_by(SentForm.id)
    return [ExportFile(name=f"forms/form-{row['id']}-{row['kind']}.pdf", content_type="application/pdf",
                       data=bytes(row["pdf"])) for row in rows]


async def _erase_forms(patient_id: int) -> int:
    """Signed forms are final (trigger): they go only under the erasure grant."""
    await allow_erasure()
    return len(await SentForm.delete().where(SentForm.patient == patient_id).returning(SentForm.id))


register(DataCategory(
    name="forms", title="Forms you filled in and signed", order=66, retention="clinical", basis="end_of_treatment",
    purpose="Your answers to the practice's forms (medical history, consent, contact details) and your signature.",
    legal_basis=CARE, recipients=("hosting",), fields=FORM_FIELDS, collect=_forms, erase=_erase_forms,
    files=_pdfs))
