"""The privacy centre: every kind of patient data registered once, and the rights, clocks and retention on top.

Adding a kind of patient data (charts, notes, images, medical history …) is one registration, e.g. in the
module that owns the data or in `portal/privacy/categories.py`:

    from portal.privacy.registry import DataCategory, register

    async def _collect_notes(patient_id: int) -> list[dict]:
        return await ClinicalNote.select(ClinicalNote.written_at, ClinicalNote.author_name, ClinicalNote.text)\
            .where(ClinicalNote.patient == patient_id).order_by(ClinicalNote.written_at)

    async def _erase_notes(patient_id: int) -> int:
        return len(await ClinicalNote.delete().where(ClinicalNote.patient == patient_id).returning(ClinicalNote.id))

    register(DataCategory(
        name="notes", title="Clinical notes", order=60,
        purpose="Record of your examinations and treatment.",
        legal_basis="GDPR Art. 9(2)(h) health care; legal duty to keep records (Art. 6(1)(c))",
        recipients=("hosting",), retention="clinical", basis="end_of_treatment",
        fields={"written_at": "When the note was written", "author_name": "Who wrote it", "text": "The note"},
        collect=_collect_notes, erase=_erase_notes))

That one call puts the category on the patient's "see everything" page, in the export (JSON document, its
published schema, a CSV file and the HTML summary), in the Art. 30 record, and in erasure: `retention=
"administrative"` is erased at once when staff approve an erasure; `"clinical"` is isolated then and erased by
the retention engine on the date its confirmed rule gives. `files(patient_id)` (optional) adds original files
(e.g. images) to the ZIP. `order` places it on the page; `identity` has the highest order and is erased last,
because it deletes the patient row itself (erase your rows in `erase`, before that). `correctable` ({field:
label}) declares what a patient may ask to correct; a field of the patient record (`portal/patient_fields.py`) is
cleaned by its one rule and written when staff approve, any other is decided and changed where it is kept.
"""

from portal.privacy import (
    aligner_records,  # noqa: E402,F401  (registers aligner series, refinements and batches)
    billing_records,  # noqa: E402,F401  (registers the patient account's categories)
    booking_records,  # noqa: E402,F401  (registers online booking by one-time code)
    call_records,  # noqa: E402,F401  (registers phone calls and their recordings)
    categories,  # noqa: E402,F401  (registers the built-in categories)
    clinical,  # noqa: E402,F401  (registers the chart's categories)
    contacts_records,  # noqa: E402,F401  (registers the address changes)
    family_records,  # noqa: E402,F401  (registers families and guardianship of children)
    form_records,  # noqa: E402,F401  (registers patient forms and their signed PDFs)
    import_records,  # noqa: E402,F401  (registers visit history imported from a previous clinic)
    lab_records,  # noqa: E402,F401  (registers lab cases, prescriptions and disclosures)
    money_records,  # noqa: E402,F401  (registers payment plans)
    payer_records,  # noqa: E402,F401  (registers insurance cover and payer claims)
    perio_records,  # noqa: E402,F401  (registers perio charts)
    recall_records,  # noqa: E402,F401  (registers recall and online booking)
    social_records,  # noqa: E402,F401  (registers lead-ads forms of converted leads)
)
