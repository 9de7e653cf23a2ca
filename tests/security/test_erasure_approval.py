"""Erasure needs two people and evidence: only the owner approves, never the person who filed it when the clinic
has anyone else, and only with a recorded identity check; every refusal leaves the patient untouched."""

import pytest

from portal.errors import ValidationFailed
from portal.permissions import Role
from portal.privacy import request_decisions, requests
from portal.tables import AuditEntry, Patient, PrivacyRequest
from tests import factories

CHECKED = "Passport seen at the desk"


async def _filed_by(actor, patient_id: int) -> int:
    return await requests.file_on_behalf(actor, patient_id, requests.OnBehalfForm(
        kind="erasure", channel="front_desk", identity_check="none", details="Asked at the desk"))


async def _untouched(patient_id: int) -> bool:
    row = await Patient.select(Patient.email, Patient.isolated_at).where(Patient.id == patient_id).first()
    status = (await PrivacyRequest.select(PrivacyRequest.status).first())["status"]
    return row["email"] != "" and row["isolated_at"] is None and status == "received"


async def test_a_receptionist_can_file_but_never_approve_an_erasure(clinic):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    patient_id = await factories.make_patient(clinic, email="gone@example.org")
    request_id = await _filed_by(desk, patient_id)
    with pytest.raises(ValidationFailed) as refused:
        await request_decisions.decide(desk, request_id, request_decisions.DecisionForm(
            decision="approved", identity_check=CHECKED))
    assert "Only the practice owner" in refused.value.errors["decision"]
    assert await _untouched(patient_id)


@pytest.mark.parametrize("check", ["", "none", "N/A", "-"])
async def test_the_owner_must_record_how_identity_was_checked(clinic, check):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    patient_id = await factories.make_patient(clinic, email="gone@example.org")
    request_id = await _filed_by(desk, patient_id)
    with pytest.raises(ValidationFailed) as refused:
        await request_decisions.decide(clinic, request_id, request_decisions.DecisionForm(
            decision="approved", identity_check=check))
    assert "identity" in refused.value.errors["identity_check"]
    assert await _untouched(patient_id)


async def test_the_filer_may_not_approve_their_own_erasure_unless_alone(clinic):
    patient_id = await factories.make_patient(clinic, email="gone@example.org")
    request_id = await _filed_by(clinic, patient_id)  # the owner files it, alone in the clinic
    await factories.make_staff(clinic, Role.DENTIST)  # ... and now has a colleague
    with pytest.raises(ValidationFailed) as refused:
        await request_decisions.decide(clinic, request_id, request_decisions.DecisionForm(
            decision="approved", identity_check=CHECKED))
    assert "another person must approve" in refused.value.errors["decision"]
    assert await _untouched(patient_id)


async def test_a_sole_owner_may_approve_with_a_recorded_check(other_clinic):
    patient_id = await factories.make_patient(other_clinic, email="gone@example.org")
    request_id = await _filed_by(other_clinic, patient_id)
    await request_decisions.decide(other_clinic, request_id, request_decisions.DecisionForm(decision="approved",
                                                                          identity_check=CHECKED))
    assert (await Patient.select(Patient.email).where(Patient.id == patient_id).first())["email"] == ""
    row = await AuditEntry.select(AuditEntry.detail).where(
        AuditEntry.action == "privacy.request_approved").output(load_json=True).first()
    assert row["detail"]["identity_check"] == CHECKED
