"""Patient forms in the privacy registry: what was sent, answered and signed, on the access page, in the export
(the signed PDFs among the files) and erased with the rest."""

from portal.i18n import lazy_gettext
from portal.privacy.categories import CARE, allow_erasure
from portal.privacy.registry import DataCategory, ExportFile, plain_rows, register
from portal.tables import SentForm

FORM_FIELDS = {
    "title": lazy_gettext("The form"),
    "sent_at": lazy_gettext("When the practice sent it"),
    "submitted_at": lazy_gettext("When you signed it"),
    "answers": lazy_gettext("Your answers"),
    "signer_name": lazy_gettext("The name you signed with"),
    "signature_method": lazy_gettext("How you signed (drawn or typed name)"),
    "signed_sha256": lazy_gettext("SHA-256 of what you signed"),
    "decision": lazy_gettext("Whether staff accepted it into your record"),
    "decided_at": lazy_gettext("When staff decided"),
    "file": lazy_gettext("PDF in this export's files/ folder"),
}


async def _forms(patient_id: int) -> list[dict]:
    rows = (
        await SentForm.select(SentForm.id, SentForm.kind, SentForm.pdf,
                              *[getattr(SentForm, f) for f in FORM_FIELDS if f != "file"])
        .where(SentForm.patient == patient_id)
        .order_by(SentForm.id)
    )
    for row in rows:  # the signed PDF's name among the files (an unsigned form has none)
        row["file"] = _pdf_name(row) if row["pdf"] is not None else None
    return plain_rows(rows, FORM_FIELDS)


def _pdf_name(row: dict) -> str:
    return f"form-{row['id']}-{row['kind']}.pdf"


async def _pdfs(patient_id: int) -> list[ExportFile]:
    rows = (
        await SentForm.select(SentForm.id, SentForm.kind, SentForm.pdf)
        .where((SentForm.patient == patient_id) & SentForm.pdf.is_not_null())
        .order_by(SentForm.id)
    )
    return [
        ExportFile(
            name=_pdf_name(row), content_type="application/pdf", data=bytes(row["pdf"])
        )
        for row in rows
    ]


async def _erase_forms(patient_id: int) -> int:
    """Signed forms are final (trigger): they go only under the erasure grant."""
    await allow_erasure()
    return len(await SentForm.delete().where(SentForm.patient == patient_id).returning(SentForm.id))


register(
    DataCategory(
        name="forms",
        title=lazy_gettext("Forms you filled in and signed"),
        order=66,
        retention="clinical",
        basis="end_of_treatment",
        purpose=lazy_gettext("Answers to the practice's forms (medical history, consent, contact details) and the "
                             "signature."),
        legal_basis=CARE,
        recipients=("hosting",),
        fields=FORM_FIELDS,
        collect=_forms,
        erase=_erase_forms,
        files=_pdfs,
    )
)
