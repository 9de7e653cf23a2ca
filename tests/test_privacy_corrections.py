"""Corrections a patient asks for: only declared details, by their labels, cleaned by the same rule as a staff edit."""

import re
from datetime import datetime, timezone

import pytest

from portal import patient_fields
from portal.tables import ContactChange, MedicalHistory, Patient, PrivacyRequest
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.privacy_helpers import sign_in_patient


async def _signed_in(client, clinic, mailbox) -> int:
    patient_id = await factories.make_patient(clinic, given_name="Eva", family_name="Jansen",
                                              email="eva@example.org", date_of_birth="1980-02-03")
    await sign_in_patient(client, mailbox, "eva@example.org", "1980-02-03")
    return patient_id


async def _approve(staff_client, clinic, request_id: int):
    await sign_in_as(staff_client, clinic)
    return await post_form(staff_client, f"/privacy-requests/{request_id}/decide", {"decision": "approved"})


async def test_the_form_offers_only_declared_details_by_their_labels(client, clinic, mailbox):
    await _signed_in(client, clinic, mailbox)
    page = await client.get("/privacy/me/correction")
    offered = re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', page.text)
    assert ("contact.phone_mobile", "Mobile phone") in offered
    assert ("identity.date_of_birth", "Date of birth") in offered
    assert ("medical_history.allergies", "Allergies (nothing recorded yet)") in offered
    values = {value for value, _ in offered}
    assert "identity.created_at" not in values and not any(v.startswith("access_log.") for v in values)
    assert len(offered) == 16  # thirteen details on the patient record and three in the medical history (no records)
    refused = await post_form(client, "/privacy/me/correction", {"target": "identity.created_at", "proposed": "x"})
    assert refused.status_code == 422 and 'id="e-target"' in refused.text


async def test_an_approved_phone_correction_is_stored_in_e164(client, other_client, clinic, mailbox):
    patient_id = await _signed_in(client, clinic, mailbox)
    filed = await post_form(client, "/privacy/me/correction", {"target": "contact.phone_mobile",
                                                               "proposed": "06 1234 5678"})
    assert filed.status_code == 303
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    assert (await _approve(other_client, clinic, request_id)).status_code == 303
    # An approved correction of an address waits for its holder like any other change (portal/contacts).
    waiting = await ContactChange.select(ContactChange.address, ContactChange.origin).where(
        (ContactChange.patient == patient_id) & (ContactChange.status == "pending")).first()
    assert waiting == {"address": "+31612345678", "origin": "correction"}
    await factories.confirm_addresses(clinic, patient_id)
    stored = await Patient.select(Patient.phone_mobile).where(Patient.id == patient_id).first()
    assert stored["phone_mobile"] == "+31612345678"


async def test_an_over_long_correction_is_refused_beside_the_field_not_cut(client, clinic, mailbox):
    await _signed_in(client, clinic, mailbox)
    long_name = "J" * 121
    refused = await post_form(client, "/privacy/me/correction", {"target": "identity.family_name",
                                                                 "proposed": long_name})
    assert refused.status_code == 422
    assert 'id="e-proposed"' in refused.text and "at most 120 characters" in refused.text
    assert long_name in refused.text  # what was typed stays in the form
    assert await PrivacyRequest.count() == 0


async def test_approving_an_over_long_value_is_a_message_not_a_500(client, other_client, clinic, mailbox):
    """A request filed before the rule existed (or by staff) with a value longer than the column."""
    patient_id = await _signed_in(client, clinic, mailbox)
    now = datetime.now(timezone.utc)
    row = PrivacyRequest(clinic=clinic.clinic_id, patient_id=patient_id, kind="correction", status="received",
                         channel="privacy_centre", filed_by_kind="patient", filed_by_name="Eva",
                         identity_check="link", received_at=now, due_at=now,
                         details={"category": "identity", "field": "family_name", "proposed": "J" * 300})
    await row.save()
    decided = await _approve(other_client, clinic, row.id)
    assert decided.status_code == 422 and "at most 120 characters" in decided.text
    assert (await Patient.select(Patient.family_name).where(Patient.id == patient_id).first())["family_name"] \
        == "Jansen"
    assert (await PrivacyRequest.select(PrivacyRequest.status).first())["status"] == "received"


async def test_staff_edits_and_the_privacy_centre_refuse_what_is_too_long(client, other_client, clinic, mailbox):
    patient_id = await _signed_in(client, clinic, mailbox)
    address = "Kade " + "1" * 500
    mine = await post_form(client, "/privacy/me/contact", {"email": "eva@example.org", "address": address,
                                                           "preferred_language": "en"})
    assert mine.status_code == 422 and 'id="e-address"' in mine.text
    await sign_in_as(other_client, clinic)
    staff = await post_form(other_client, f"/patients/{patient_id}", {
        "given_name": "Eva", "family_name": "Jansen", "date_of_birth": "1980-02-03", "address": address,
        "preferred_language": "en"})
    assert staff.status_code == 422 and 'id="e-address"' in staff.text
    assert (await Patient.select(Patient.address).where(Patient.id == patient_id).first())["address"] == ""


@pytest.mark.parametrize(("name", "typed", "stored"), [
    ("given_name", "  Eva ", "Eva"), ("email", "Eva@Example.ORG ", "eva@example.org"),
    ("phone_other", "020 123 4567", "+31201234567"), ("gender", "Female", "female"),
    ("preferred_language", "nl", "nl"), ("national_id", " 123456782 ", "123456782")])
def test_each_field_has_one_rule(name, typed, stored):
    assert patient_fields.clean_one(name, typed, "NL") == stored


@pytest.mark.parametrize(("name", "typed"), [
    ("given_name", ""), ("given_name", "x" * 121), ("national_id", "1" * 41), ("email", "nope"),
    ("phone_mobile", "12"), ("date_of_birth", "soon"), ("date_of_birth", "2999-01-01"), ("gender", "maybe"),
    ("address", "a" * 501)])
def test_each_rule_refuses_rather_than_cuts(name, typed):
    with pytest.raises(patient_fields.FieldProblem):
        patient_fields.clean_one(name, typed, "NL")


async def test_an_approved_allergy_correction_without_a_history_starts_one(client, other_client, clinic, mailbox):
    """Nothing recorded yet: the entry is named without a version, and approving appends version 1 (the patient
    record itself is not written)."""
    patient_id = await _signed_in(client, clinic, mailbox)
    filed = await post_form(client, "/privacy/me/correction", {"target": "medical_history.allergies",
                                                               "proposed": "Latex, not penicillin"})
    assert filed.status_code == 303
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    await sign_in_as(other_client, clinic)
    detail = await other_client.get(f"/privacy-requests/{request_id}")
    assert "Allergies (nothing recorded yet)" in detail.text and "Medical history" in detail.text
    assert "adds a new version of the medical history" in detail.text
    assert (await _approve(other_client, clinic, request_id)).status_code == 303
    assert (await PrivacyRequest.select(PrivacyRequest.status).first())["status"] == "approved"
    history = await MedicalHistory.select(MedicalHistory.version, MedicalHistory.allergies).where(
        MedicalHistory.patient == patient_id)
    assert history == [{"version": 1, "allergies": "Latex, not penicillin"}]
    assert (await Patient.select(Patient.family_name).where(Patient.id == patient_id).first())["family_name"] \
        == "Jansen"


async def test_a_correction_staff_wrote_down_by_phone_can_be_decided(client, clinic):
    """Filed on the patient's behalf, in the staff member's words: no field to apply, and no 500 either."""
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, clinic)
    filed = await post_form(client, f"/privacy-requests/new/{patient_id}", {
        "kind": "correction", "channel": "phone", "identity_check": "Called back on the number on file",
        "details": "Surname is spelled with two s"})
    assert filed.status_code == 303
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    assert (await _approve(client, clinic, request_id)).status_code == 303
    assert (await PrivacyRequest.select(PrivacyRequest.status).first())["status"] == "approved"
