"""A wrongly filed image: re-labelled with a reason, or withdrawn (kept, audited, off the chart, listed to the
patient as withdrawn); refusals keep what was typed."""

import json

import pytest

from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.imaging import filing
from portal.imaging import images as imaging
from portal.permissions import Role
from portal.privacy.registry import CATEGORIES
from portal.tables import AuditEntry, PatientImage
from tests import factories, image_samples
from tests.factories import post_form, sign_in_as


@pytest.fixture
async def dentist(clinic):
    return await factories.make_staff(clinic, Role.DENTIST)


async def test_relabelling_corrects_the_labels_and_the_audit_keeps_what_they_were(clinic, dentist):
    patient = await factories.make_patient(clinic)
    image_id = await image_samples.stored(dentist, patient, teeth="36", caption="Bitewing left", taken_on="2026-01-05")
    await filing.relabel(dentist, patient, image_id, filing.RelabelForm(
        kind="photo", taken_on="2026-01-06", teeth="46", caption="Bitewing left", reason="Right side, day after"))
    row = await PatientImage.select().where(PatientImage.id == image_id).first()
    assert (row["kind"], row["taken_on"].isoformat(), row["teeth"]) == ("photo", "2026-01-06", "46")
    entry = await AuditEntry.select().where(AuditEntry.action == "image.relabelled").first()
    detail = json.loads(entry["detail"])
    assert detail["before"] == {"kind": "xray", "taken_on": "2026-01-05", "teeth": "36"}
    assert detail["after"] == {"kind": "photo", "taken_on": "2026-01-06", "teeth": "46"}
    assert detail["reason"] == "Right side, day after" and entry["patient_id"] == patient


async def test_a_relabelling_needs_a_reason_a_fitting_kind_and_a_change(clinic, dentist):
    patient = await factories.make_patient(clinic)
    dicom = await image_samples.stored(dentist, patient, name="bite.dcm", data=image_samples.dicom(), kind="")
    with pytest.raises(ValidationFailed) as refused:
        await filing.relabel(dentist, patient, dicom, filing.RelabelForm(kind="photo", taken_on="2026-01-06"))
    assert set(refused.value.errors) == {"kind", "reason"}
    row = await PatientImage.select().where(PatientImage.id == dicom).first()
    with pytest.raises(ValidationFailed) as unchanged:
        await filing.relabel(dentist, patient, dicom, filing.RelabelForm(
            kind="xray", taken_on=row["taken_on"].isoformat(), reason="no reason really"))
    assert "form" in unchanged.value.errors
    assert not await AuditEntry.exists().where(AuditEntry.action == "image.relabelled")


async def test_a_withdrawn_image_leaves_the_chart_but_is_kept_and_shown_to_the_patient(clinic, dentist):
    patient = await factories.make_patient(clinic)
    kept = await image_samples.stored(dentist, patient, caption="Right patient")
    wrong = await image_samples.stored(dentist, patient, caption="Somebody else's")
    await filing.withdraw(dentist, patient, wrong, filing.WithdrawForm(reason="Filed under the wrong patient"))
    _, shown = await imaging.list_images(dentist, patient)
    assert [r["id"] for r in shown] == [kept]
    total, recent = await imaging.recent_images(dentist, patient)
    assert total == 1 and [r["id"] for r in recent] == [kept]
    _, withdrawn = await imaging.list_images(dentist, patient, withdrawn=True)
    assert [r["id"] for r in withdrawn] == [wrong]
    assert await PatientImage.count() == 2  # kept
    access = {r["id"]: r for r in await CATEGORIES["images"].collect(patient)}
    assert access[wrong]["withdrawn_reason"] == "Filed under the wrong patient" and access[wrong]["withdrawn_at"]
    assert not access[kept]["withdrawn_at"]
    assert await AuditEntry.exists().where((AuditEntry.action == "image.withdrawn")
                                           & (AuditEntry.object_id == str(wrong)))
    with pytest.raises(NotFound):  # once withdrawn, it stays as it was withdrawn
        await filing.withdraw(dentist, patient, wrong, filing.WithdrawForm(reason="again"))


async def test_only_clinical_staff_correct_filing_and_another_clinic_finds_nothing(clinic, other_clinic, dentist):
    patient = await factories.make_patient(clinic)
    image_id = await image_samples.stored(dentist, patient)
    with pytest.raises(Forbidden):
        await filing.withdraw(await factories.make_staff(clinic, Role.RECEPTIONIST), patient, image_id,
                              filing.WithdrawForm(reason="x"))
    with pytest.raises(NotFound):
        await filing.withdraw(other_clinic, patient, image_id, filing.WithdrawForm(reason="x"))
    assert (await PatientImage.select().where(PatientImage.id == image_id).first())["withdrawn_at"] is None


async def test_the_viewer_offers_corrections_and_a_refusal_keeps_what_was_typed(client, clinic, dentist):
    patient = await factories.make_patient(clinic)
    image_id = await image_samples.stored(dentist, patient, caption="Bitewing")
    await sign_in_as(client, dentist)
    url = f"/patients/{patient}/images/{image_id}"
    page = await client.get(url)
    assert "Correct the labels" in page.text and "Withdraw this image" in page.text
    refused = await post_form(client, f"{url}/relabel", {"kind": "xray", "taken_on": "2026-02-30",
                                                         "teeth": "36", "caption": "Typed caption", "reason": ""})
    assert refused.status_code == 422 and 'value="Typed caption"' in refused.text and 'id="e-taken_on"' in refused.text
    no_reason = await post_form(client, f"{url}/withdraw", {"reason": ""})
    assert no_reason.status_code == 422 and 'id="e-reason"' in no_reason.text
    done = await post_form(client, f"{url}/withdraw", {"reason": "Wrong patient"})
    assert done.status_code == 303
    gallery = await client.get(f"/patients/{patient}/images")
    assert f"/images/{image_id}/thumbnail" not in gallery.text
    listed = await client.get(f"/patients/{patient}/images", params={"withdrawn": "1"})
    assert f"/images/{image_id}/thumbnail" in listed.text and "Withdrawn: Wrong patient" in listed.text
    viewer = await client.get(url)
    assert "as wrongly filed: Wrong patient" in viewer.text and "Correct the labels" not in viewer.text
