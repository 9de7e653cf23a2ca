"""Prescriptions: warnings from the medical history, signing by a registered prescriber, the PDF kept as signed,
mailing through the outbox with a pharmacy recorded as a recipient."""

import pytest

from portal.charts import medical_history
from portal.documents import prescriptions
from portal.errors import Forbidden, ValidationFailed
from portal.messaging import outbox
from portal.permissions import Role
from portal.privacy.registry import CATEGORIES
from portal.tables import Prescription
from tests import factories

AMOXICILLIN = prescriptions.PrescriptionForm(medicine="Amoxicillin", strength="500 mg", dose="1 capsule 3× daily",
                                             quantity="21 capsules", instructions="Finish the course.")


def test_penicillin_allergy_and_nsaid_with_anticoagulant_warn():
    history = {"allergies": "Penicillin (rash)", "medications": "Apixaban 5 mg"}
    assert len(prescriptions.warnings_for("Amoxicillin", history)) == 1
    assert "anticoagulant" in prescriptions.warnings_for("Ibuprofen 400", history)[0]
    assert prescriptions.warnings_for("Clindamycin", history) == []
    assert prescriptions.warnings_for("Paracetamol", {"allergies": "", "medications": ""}) == []
    assert prescriptions.warnings_for("Amoxicillin", None) == []


async def test_a_warned_prescription_is_signed_only_when_acknowledged(clinic, cal):
    dentist = cal["dentist"]
    patient_id = await factories.make_patient(clinic)
    await medical_history.save_history(dentist, patient_id, medical_history.HistoryForm(allergies="penicillin"))
    assert await prescriptions.check(dentist, patient_id, "Amoxicillin")
    with pytest.raises(ValidationFailed) as refused:
        await prescriptions.sign_prescription(dentist, patient_id, AMOXICILLIN)
    assert "acknowledged" in refused.value.errors
    assert await Prescription.count() == 0
    from dataclasses import replace

    prescription_id = await prescriptions.sign_prescription(dentist, patient_id, replace(AMOXICILLIN,
                                                                                          acknowledged=True))
    [row] = await prescriptions.list_prescriptions(dentist, patient_id)
    assert row["id"] == prescription_id and row["registration"].endswith("BIG-" + row["registration"][-5:])
    assert len(row["warnings"]) == 1 and len(row["content_hash"]) == 64
    document = await prescriptions.signed_pdf(dentist, patient_id, prescription_id)
    assert document.startswith(b"%PDF-")
    with pytest.raises(Exception):  # kept as signed
        await Prescription.update({Prescription.medicine: "Other"}).where(Prescription.id == prescription_id)


async def test_only_a_registered_clinician_signs(clinic, cal):
    patient_id = await factories.make_patient(clinic)
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    with pytest.raises(Forbidden):
        await prescriptions.sign_prescription(desk, patient_id, AMOXICILLIN)
    with pytest.raises(ValidationFailed) as refused:  # the owner has no registration number
        await prescriptions.sign_prescription(clinic, patient_id, AMOXICILLIN)
    assert "form" in refused.value.errors


async def test_mailing_to_a_pharmacy_records_it_as_a_recipient(clinic, cal, settings, mailbox):
    dentist = cal["dentist"]
    patient_id = await factories.make_patient(clinic)
    prescription_id = await prescriptions.sign_prescription(dentist, patient_id, AMOXICILLIN)
    with pytest.raises(ValidationFailed):
        await prescriptions.mail_prescription(dentist, patient_id, prescription_id,
                                              prescriptions.MailForm(to="not an address"))
    await prescriptions.mail_prescription(dentist, patient_id, prescription_id,
                                          prescriptions.MailForm(to="apotheek@example.org"))
    assert await outbox.deliver_due(settings) == 1
    [message] = mailbox.to("apotheek@example.org")
    assert [p.get_filename() for p in message.iter_attachments()] == [f"prescription-{prescription_id}.pdf"]
    [disclosed] = await CATEGORIES["disclosures"].collect(patient_id)
    assert disclosed["recipient_kind"] == "pharmacy" and disclosed["data"] == ["prescription"]
    [exported] = await CATEGORIES["prescriptions"].collect(patient_id)
    assert exported["medicine"] == "Amoxicillin"
