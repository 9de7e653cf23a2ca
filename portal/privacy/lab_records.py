"""Lab cases, prescriptions, referrals and disclosures in the privacy registry: the work made for a patient, and who
received which of the patient's data and when (labs, specialists, pharmacies), recorded by `record_disclosure`.

Both are records of care: isolated when an erasure is approved and erased by the retention engine. An erasure or
correction must be passed on to the recipients listed here (GDPR Art. 19): the disclosures say who they are.
"""

import json
from datetime import datetime, timezone

from portal import audit
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext
from portal.messaging import outbox
from portal.permissions import Actor
from portal.privacy.categories import CARE, allow_erasure
from portal.privacy.registry import ID, DataCategory, plain_rows, register
from portal.tables import Disclosure, LabCase, LabCaseEvent, LabInvoice, Prescription, Referral

LIST = {"type": "array"}
DISCLOSURE_FIELDS = {
    "at": lazy_gettext("When the data was sent"),
    "recipient_kind": lazy_gettext("Lab, specialist, pharmacy or patient"),
    "recipient_name": lazy_gettext("Who received it"),
    "recipient_address": lazy_gettext("Where it was sent"),
    "data": lazy_gettext("Which data went"),
    "subject_type": lazy_gettext("What it concerned: lab case, prescription or referral"),
    "subject_id": lazy_gettext("The case, prescription or referral"),
    "by_name": lazy_gettext("Who sent it"),
}
LAB_CASE_FIELDS = {
    "id": lazy_gettext("Case number"),
    "items": lazy_gettext("The work"),
    "teeth": lazy_gettext("Teeth (FDI)"),
    "shade": lazy_gettext("Shade"),
    "material": lazy_gettext("Material"),
    "instructions": lazy_gettext("Instructions to the lab"),
    "status": lazy_gettext("Status"),
    "dentist_name": lazy_gettext("Prescribing dentist"),
    "sent_at": lazy_gettext("When it went to the lab"),
    "created_at": lazy_gettext("When the case was made"),
    "history": lazy_gettext("Every status change: when and by whom"),
    "cost": lazy_gettext("The lab's invoices"),
}
PRESCRIPTION_FIELDS = {
    "signed_at": lazy_gettext("When signed"),
    "medicine": lazy_gettext("Medicine"),
    "strength": lazy_gettext("Strength"),
    "dose": lazy_gettext("Dose"),
    "quantity": lazy_gettext("Quantity"),
    "instructions": lazy_gettext("Instructions"),
    "repeats": lazy_gettext("Repeats"),
    "prescriber_name": lazy_gettext("Prescriber"),
    "registration": lazy_gettext("Prescriber's registration"),
    "content_hash": lazy_gettext("SHA-256 of what was signed"),
}

REFERRAL_FIELDS = {
    "created_at": lazy_gettext("When written or received"),
    "direction": lazy_gettext("Out (we referred you) or in (referred to us)"),
    "specialty": lazy_gettext("Specialty"),
    "other_party": lazy_gettext("The specialist, or who referred you"),
    "reason": lazy_gettext("Reason"),
    "body": lazy_gettext("The letter"),
    "status": lazy_gettext("Signed, sent, seen or report received"),
    "report": lazy_gettext("The specialist's report"),
    "signed_by_name": lazy_gettext("Who signed it"),
    "content_hash": lazy_gettext("SHA-256 of what was signed"),
}


async def record_disclosure(
    actor: Actor,
    patient_id: int,
    *,
    kind: str,
    name: str,
    address: str,
    data: list[str],
    subject_type: str,
    subject_id: int,
) -> None:
    """Note that `data` of the patient went to a recipient (call it in the transaction that sends)."""
    await Disclosure.insert(
        Disclosure(
            clinic=actor.clinic_id,
            patient=patient_id,
            recipient_kind=kind,
            recipient_name=name[:200],
            recipient_address=address[:320],
            data=data,
            subject_type=subject_type,
            subject_id=subject_id,
            by_staff=actor.id,
            by_name=actor.name,
            at=datetime.now(timezone.utc),
        )
    )


async def recipients_of(patient_id: int) -> list[dict]:
    """Everyone who received the patient's data, with the address: whom to tell of a correction or erasure."""
    return await Disclosure.raw(
        "SELECT recipient_kind, recipient_name, recipient_address, max(at) AS last_at FROM disclosure "
        "WHERE patient = {} GROUP BY 1, 2, 3 ORDER BY 4 DESC",
        patient_id,
    )


def _decoded(rows: list[dict], *keys: str) -> list[dict]:
    """JSONB columns as lists (Piccolo returns them as text)."""
    for row in rows:
        for key in keys:
            if isinstance(row.get(key), str):
                row[key] = json.loads(row[key])
    return rows


# Fields of the patient record every recipient got in some form (name on a slip or letter, age or date of birth).
PASSED_ON_FIELDS = ("given_name", "family_name", "date_of_birth")


async def pass_on(actor: Actor, patient_id: int, kind: str, request_id: int, field: str | None = None) -> int:
    """GDPR Art. 19: tell every recipient of the patient's data of an approved erasure, or of a correction of a
    field they received; returns how many were told (call it in the approving transaction)."""
    if kind == "correction" and field not in PASSED_ON_FIELDS:
        return 0
    rows = await Disclosure.raw(
        "SELECT recipient_name, recipient_address, string_agg(DISTINCT subject_type || ' ' || subject_id, ', ') "
        "AS refs FROM disclosure WHERE patient = {} AND clinic = {} AND recipient_kind <> 'patient' "
        "AND recipient_address <> '' GROUP BY 1, 2",
        patient_id,
        actor.clinic_id,
    )
    for row in rows:
        text = (
            _(
                "The patient has had their data erased. Please erase the copies you received from us (%(refs)s).",
                refs=row["refs"],
            )
            if kind == "erasure"
            else _(
                "The patient's details were corrected. Please correct the copies you received from us "
                "(%(refs)s); ask us for the corrected details.",
                refs=row["refs"],
            )
        )
        await outbox.enqueue(
            outbox.Email(
                to=row["recipient_address"],
                subject=_("Data protection notice from %(clinic)s (GDPR Art. 19)", clinic=actor.clinic_name),
                text=text,
            ),
            key=f"art19:{request_id}:{row['recipient_address']}"[:200],
            clinic_id=actor.clinic_id,
        )
    if rows:
        await audit.record(
            actor,
            "privacy.passed_on",
            patient_id=patient_id,
            object_type="privacy_request",
            object_id=request_id,
            detail={"recipients": [r["recipient_name"] for r in rows]},
        )
    return len(rows)


async def _disclosures(patient_id: int) -> list[dict]:
    rows = await Disclosure.select().where(Disclosure.patient == patient_id).order_by(Disclosure.at)
    return plain_rows(_decoded(rows, "data"), DISCLOSURE_FIELDS)


async def _erase_disclosures(patient_id: int) -> int:
    await allow_erasure()
    return len(await Disclosure.delete().where(Disclosure.patient == patient_id).returning(Disclosure.id))


async def _lab_cases(patient_id: int) -> list[dict]:
    rows = _decoded(await LabCase.select().where(LabCase.patient == patient_id).order_by(LabCase.id), "items")
    for row in rows:
        events = (
            await LabCaseEvent.select(LabCaseEvent.status, LabCaseEvent.at, LabCaseEvent.by_name)
            .where(LabCaseEvent.lab_case == row["id"])
            .order_by(LabCaseEvent.at)
        )
        row["history"] = [{"status": e["status"], "at": e["at"].isoformat(), "by": e["by_name"]} for e in events]
        invoices = (
            await LabInvoice.select(LabInvoice.amount, LabInvoice.currency, LabInvoice.recorded_at)
            .where(LabInvoice.lab_case == row["id"])
            .order_by(LabInvoice.id)
        )
        row["cost"] = [
            {"amount": str(i["amount"]), "currency": i["currency"], "recorded_at": i["recorded_at"].isoformat()}
            for i in invoices
        ]
    return plain_rows(rows, LAB_CASE_FIELDS)


async def _erase_lab_cases(patient_id: int) -> int:
    await allow_erasure()
    return len(await LabCase.delete().where(LabCase.patient == patient_id).returning(LabCase.id))


async def _prescriptions(patient_id: int) -> list[dict]:
    rows = (
        await Prescription.select(*Prescription.all_columns(exclude=[Prescription.pdf]))
        .where(Prescription.patient == patient_id)
        .order_by(Prescription.signed_at)
    )
    return plain_rows(rows, PRESCRIPTION_FIELDS)


async def _erase_prescriptions(patient_id: int) -> int:
    await allow_erasure()
    return len(await Prescription.delete().where(Prescription.patient == patient_id).returning(Prescription.id))


async def _referrals(patient_id: int) -> list[dict]:
    rows = (
        await Referral.select(*Referral.all_columns(exclude=[Referral.pdf]))
        .where(Referral.patient == patient_id)
        .order_by(Referral.created_at)
    )
    return plain_rows(rows, REFERRAL_FIELDS)


async def _erase_referrals(patient_id: int) -> int:
    await allow_erasure()
    return len(await Referral.delete().where(Referral.patient == patient_id).returning(Referral.id))


register(
    DataCategory(
        name="referrals",
        title=lazy_gettext("Referral letters"),
        order=65,
        purpose=lazy_gettext("Letters referring the patient to a specialist, and referrals to us, with their "
                             "progress."),
        legal_basis=CARE,
        recipients=("hosting",),
        retention="clinical",
        basis="end_of_treatment",
        fields=REFERRAL_FIELDS,
        collect=_referrals,
        erase=_erase_referrals,
    )
)
register(
    DataCategory(
        name="lab_cases",
        title=lazy_gettext("Lab work"),
        order=66,
        purpose=lazy_gettext("Crowns, bridges, appliances and aligners made by a dental laboratory, and their "
                             "progress."),
        legal_basis=CARE,
        recipients=("hosting", "lab"),
        retention="clinical",
        basis="end_of_treatment",
        fields=LAB_CASE_FIELDS,
        # lists, not scalars: the export schema must say so or a case with work fails its own schema
        types={"id": ID, "items": LIST, "history": LIST, "cost": LIST},
        collect=_lab_cases,
        erase=_erase_lab_cases,
    )
)
register(
    DataCategory(
        name="prescriptions",
        title=lazy_gettext("Prescriptions"),
        order=67,
        purpose=lazy_gettext("Medicines prescribed, as signed."),
        legal_basis=CARE,
        recipients=("hosting",),
        retention="clinical",
        basis="end_of_treatment",
        fields=PRESCRIPTION_FIELDS,
        collect=_prescriptions,
        erase=_erase_prescriptions,
    )
)
register(
    DataCategory(
        name="disclosures",
        title=lazy_gettext("Who received your data"),
        order=68,
        purpose=lazy_gettext("A record of each time data from the record went to a laboratory, a specialist or a "
                             "pharmacy: who received what, and when."),
        legal_basis=CARE,
        recipients=("hosting",),
        retention="clinical",
        basis="end_of_treatment",
        fields=DISCLOSURE_FIELDS,
        collect=_disclosures,
        erase=_erase_disclosures,
    )
)
