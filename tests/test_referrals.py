"""Referral letters: the template pulls history, alerts and findings; signed as kept; mailed with its images to the
specialist, who is recorded as a recipient; statuses sent, seen, report received; referrals in."""

import pytest

from portal.charts import medical_history, odontogram
from portal.documents import referrals
from portal.errors import ValidationFailed
from portal.messaging import outbox
from portal.privacy.registry import CATEGORIES
from portal.tables import Referral, ReferralEvent
from tests import factories, image_samples


async def test_the_template_pulls_history_alerts_and_findings(clinic, cal):
    dentist = cal["dentist"]
    patient_id = await factories.make_patient(clinic)
    await medical_history.save_history(dentist, patient_id, medical_history.HistoryForm(
        medications="Warfarin", allergies="Latex"))
    await odontogram.record_finding(dentist, patient_id, 36, odontogram.FindingForm(kind="crown"))
    body = await referrals.draft_letter(dentist, patient_id, "oral_surgeon")
    assert "oral surgeon" in body and "Warfarin" in body and "Latex allergy" in body and "36: crown" in body


async def test_a_letter_is_signed_mailed_with_its_images_and_followed_up(clinic, cal, settings, mailbox):
    dentist = cal["dentist"]
    patient_id = await factories.make_patient(clinic)
    xray = await image_samples.stored(dentist, patient_id)
    with pytest.raises(ValidationFailed) as refused:
        await referrals.refer(dentist, patient_id, referrals.ReferralForm(other_party="", other_email="x"))
    assert {"other_party", "other_email", "reason"} <= set(refused.value.errors)
    referral_id = await referrals.refer(dentist, patient_id, referrals.ReferralForm(
        specialty="periodontist", other_party="Dr. Paro", other_email="paro@example.org", reason="Deep pockets",
        body="Please assess.", image_ids=str(xray)))
    with pytest.raises(Exception):  # the signed letter is kept as signed
        await Referral.update({Referral.body: "changed"}).where(Referral.id == referral_id)
    await referrals.mail_referral(dentist, patient_id, referral_id)
    assert await outbox.deliver_due(settings) == 1
    [message] = mailbox.to("paro@example.org")
    assert [p.get_filename() for p in message.iter_attachments()][0] == f"referral-{referral_id}.pdf"
    assert len(list(message.iter_attachments())) == 2
    [disclosed] = await CATEGORIES["disclosures"].collect(patient_id)
    assert disclosed["recipient_kind"] == "specialist" and disclosed["recipient_name"] == "Dr. Paro"
    with pytest.raises(ValidationFailed):
        await referrals.change_status(dentist, patient_id, referral_id, referrals.StatusForm(status="sent"))
    await referrals.change_status(dentist, patient_id, referral_id, referrals.StatusForm(status="seen"))
    await referrals.change_status(dentist, patient_id, referral_id, referrals.StatusForm(
        status="report_received", note="Scaling and root planing advised."))
    [row] = await referrals.list_referrals(dentist, patient_id)
    assert row["status"] == "report_received" and row["report"].startswith("Scaling")
    events = await ReferralEvent.select(ReferralEvent.status).where(ReferralEvent.referral == referral_id)
    assert [e["status"] for e in events] == ["signed", "sent", "seen", "report_received"]
    assert (await referrals.letter_pdf(dentist, patient_id, referral_id)).startswith(b"%PDF-")


async def test_a_referral_in_is_recorded_and_seen(clinic, cal):
    dentist = cal["dentist"]
    patient_id = await factories.make_patient(clinic)
    referral_id = await referrals.record_incoming(dentist, patient_id, referrals.ReferralForm(
        specialty="other", other_party="Practice West", reason="Second opinion on 46"))
    await referrals.change_status(dentist, patient_id, referral_id, referrals.StatusForm(status="seen"))
    [exported] = await CATEGORIES["referrals"].collect(patient_id)
    assert exported["direction"] == "in" and exported["status"] == "seen"


async def test_the_referral_pages_keep_what_was_typed(client, clinic, cal):
    patient_id = await factories.make_patient(clinic)
    await factories.sign_in_as(client, cal["dentist"])
    page = await client.get(f"/patients/{patient_id}/referrals/new?specialty=orthodontist")
    assert page.status_code == 200 and "Dear colleague" in page.text
    refused = await factories.post_form(client, f"/patients/{patient_id}/referrals/",
                                        {"specialty": "orthodontist", "other_party": "Dr. Typed", "reason": ""})
    assert refused.status_code == 422 and 'value="Dr. Typed"' in refused.text
    signed = await factories.post_form(client, f"/patients/{patient_id}/referrals/", {
        "specialty": "orthodontist", "other_party": "Dr. Ortho", "other_email": "ortho@example.org",
        "reason": "Crowding", "body": "Please see."})
    assert signed.status_code == 303
    listing = await client.get(f"/patients/{patient_id}/referrals/")
    assert "Dr. Ortho" in listing.text and "Mail to ortho@example.org" in listing.text
