"""Patient forms: sent by a signed expiring link, filled and signed by the patient, reviewed against the record and
accepted into a new version (or not); signatures rendered on the server and hashed; the signed PDF."""

import hashlib
import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from portal.charts import medical_history
from portal.errors import ValidationFailed
from portal.patient_forms import filling, review, signatures
from portal.tables import AuditEntry, ContactChange, MedicalHistory, OutboxMessage, Patient, SentForm
from tests import factories
from tests.factories import post_form, sign_in_as

STROKES = [[[10, 10], [60, 40], [120, 30]], [[200, 100], [260, 150]]]


async def _sent(clinic, settings, patient_id: int, kind: str = "medical_history", procedure: str = "") -> str:
    """Send a form and return the token from the link in the queued mail."""
    await filling.send(clinic, settings, patient_id, filling.SendForm(kind=kind, procedure=procedure))
    mail = await OutboxMessage.select(OutboxMessage.text_body).where(
        OutboxMessage.patient_id == patient_id).order_by(OutboxMessage.id, ascending=False).first()
    return re.search(r"/form/([\w-]+)", mail["text_body"]).group(1)


def test_the_png_is_drawn_from_the_strokes_and_the_hash_covers_what_was_signed():
    png = signatures.render_png(STROKES)
    image = Image.open(io.BytesIO(png))
    assert image.size == (signatures.WIDTH, signatures.HEIGHT)
    assert image.getpixel((60, 40)) == (0, 0, 0) and image.getpixel((400, 40)) == (255, 255, 255)
    assert signatures.render_png(STROKES) == png  # same strokes, same bytes
    form = {"id": 1, "title": "Consent", "intro": "Extraction 38", "fields": [{"name": "consent"}]}
    sha = signatures.digest(form, {"consent": "yes"}, "Ann Smith", STROKES)
    assert sha == hashlib.sha256(signatures.signed_content(form, {"consent": "yes"}, "Ann Smith", STROKES)).hexdigest()
    assert signatures.digest(form, {"consent": ""}, "Ann Smith", STROKES) != sha
    assert signatures.digest({**form, "intro": "Extraction 48"}, {"consent": "yes"}, "Ann Smith", STROKES) != sha
    assert signatures.digest(form, {"consent": "yes"}, "Ann Smith", STROKES[:1]) != sha


@pytest.mark.parametrize("raw", ["{", "[[[1]]]", "[[[1, 2, 3]]]", "[[[-5, 10], [10, 10]]]", "[[[10, 9999], [1, 1]]]",
                                 '[[["a", 1], [1, 1]]]', "[[]]", "[[[true, 1], [1, 1]]]", "[[[5, 5]]]",
                                 json.dumps([[[1, 1]]] * 101)])
def test_malformed_strokes_are_refused_beside_the_signature(raw):
    with pytest.raises(ValidationFailed) as refused:
        signatures.read_strokes(raw)
    assert set(refused.value.errors) == {"signature"}


async def test_an_allergy_answer_is_a_difference_until_staff_accept_it_into_a_new_version(clinic, settings):
    patient_id = await factories.make_patient(clinic)
    await medical_history.save_history(clinic, patient_id, medical_history.HistoryForm(
        conditions="Asthma", allergies="", smoking="never"))
    token = await _sent(clinic, settings, patient_id)
    assert (await filling.open_link(token))["title"] == "Medical history questionnaire"
    form_id = await filling.submit(token, {"conditions": "Asthma", "allergies": "Penicillin (rash)",
                                           "smoking": "never", "pregnant": "", "medications": ""},
                                   "Anna Jansen", json.dumps(STROKES))
    # Nothing reached the record yet.
    assert await MedicalHistory.count().where(MedicalHistory.patient == patient_id) == 1
    shown = await review.show(clinic, patient_id, form_id)
    changed = [(d["name"], d["current"], d["proposed"]) for d in shown["differences"] if d["changed"]]
    assert changed == [("allergies", "", "Penicillin (rash)")]
    version = await review.accept(clinic, patient_id, form_id)
    assert version == 2
    newest = await medical_history.get_version(clinic, patient_id)
    assert newest["allergies"] == "Penicillin (rash)" and newest["conditions"] == "Asthma"
    assert newest["recorded_by"] == clinic.id
    row = await SentForm.select().where(SentForm.id == form_id).first()
    assert row["decision"] == "accepted" and row["decided_by"] == clinic.id and row["history_version"] == 2
    assert row["decided_at"] is not None
    assert "Penicillin allergy" in [a["label"] for a in await medical_history.active_alerts(clinic, patient_id)]
    with pytest.raises(ValidationFailed):  # decided once
        await review.decline(clinic, patient_id, form_id)


async def test_declining_keeps_the_record_and_contact_changes_go_through_the_patient_rules(clinic, settings):
    patient_id = await factories.make_patient(clinic, email="old@example.org")
    token = await _sent(clinic, settings, patient_id, "new_patient")
    form_id = await filling.submit(token, {"email": "new@example.org", "phone_mobile": "06 1234 5699",
                                           "address": ""}, "Anna Jansen", "")
    await review.decline(clinic, patient_id, form_id)
    assert (await Patient.select(Patient.email).where(Patient.id == patient_id).first())["email"] == "old@example.org"
    token = await _sent(clinic, settings, patient_id, "new_patient")
    form_id = await filling.submit(token, {"email": "new@example.org", "phone_mobile": "06 1234 5699",
                                           "address": ""}, "Anna Jansen", "")
    assert await review.accept(clinic, patient_id, form_id) is None  # no history change
    # A new address from a form is trusted only once its holder confirms it (portal/contacts): it waits.
    row = await Patient.select(Patient.email).where(Patient.id == patient_id).first()
    assert row["email"] == "old@example.org"
    waiting = await ContactChange.select(ContactChange.address).where(
        (ContactChange.patient == patient_id) & (ContactChange.status == "pending"))
    assert {w["address"] for w in waiting} >= {"new@example.org", "+31612345699"}


async def test_a_signed_form_is_final_and_its_link_ends(clinic, settings):
    patient_id = await factories.make_patient(clinic)
    token = await _sent(clinic, settings, patient_id, "consent", procedure="Extraction of 38")
    form_id = await filling.submit(token, {"understood": "yes", "consent": "yes", "questions": ""}, "Anna Jansen",
                                   "")
    row = await SentForm.select().where(SentForm.id == form_id).first()
    assert row["signature_method"] == "typed" and bytes(row["pdf"]).startswith(b"%PDF")
    assert row["signed_sha256"] == signatures.digest(
        {"id": form_id, "title": row["title"], "intro": row["intro"], "fields": json.loads(row["fields"])},
        {"understood": "yes", "consent": "yes", "questions": ""}, "Anna Jansen", [])
    with pytest.raises(Exception, match="final"):
        await SentForm.update({SentForm.answers: json.dumps({"consent": ""})}).where(SentForm.id == form_id)
    with pytest.raises(Exception, match="kept"):
        await SentForm.delete().where(SentForm.id == form_id)
    from portal.errors import NotFound
    with pytest.raises(NotFound):
        await filling.open_link(token)


async def test_an_expired_or_unknown_link_opens_nothing(client, clinic, settings):
    patient_id = await factories.make_patient(clinic)
    token = await _sent(clinic, settings, patient_id)
    await SentForm.update({SentForm.expires_at: datetime.now(timezone.utc) - timedelta(minutes=1)}).where(
        SentForm.patient == patient_id)
    assert (await client.get(f"/form/{token}")).status_code == 404
    assert (await client.get("/form/not-a-token")).status_code == 404


async def test_bad_answers_are_refused_beside_the_field_and_nothing_is_stored(client, clinic, settings):
    patient_id = await factories.make_patient(clinic)
    token = await _sent(clinic, settings, patient_id, "consent", procedure="Root canal treatment 36")
    page = await client.get(f"/form/{token}")
    assert page.status_code == 200 and "Root canal treatment 36" in page.text
    assert page.headers["cache-control"] == "no-store"
    refused = await post_form(client, f"/form/{token}", {"understood": "yes", "questions": "Does it hurt?",
                                                         "signer_name": "", "strokes": "[[[1, 2, 3]]]"})
    assert refused.status_code == 422
    for name in ("consent", "signer_name", "signature"):
        assert f'id="e-{name}"' in refused.text
    assert "Does it hurt?" in refused.text  # what was typed stays
    assert (await SentForm.select(SentForm.submitted_at).where(SentForm.patient == patient_id).first()
            )["submitted_at"] is None
    signed = await post_form(client, f"/form/{token}", {"understood": "yes", "consent": "yes",
                                                        "signer_name": "Anna Jansen", "strokes": json.dumps(STROKES)})
    assert signed.status_code == 200 and "Thank you" in signed.text
    assert await AuditEntry.exists().where((AuditEntry.action == "patient_form.signed")
                                           & (AuditEntry.patient_id == patient_id))


async def test_staff_send_review_accept_and_download_over_http(client, clinic, settings):
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, clinic)
    refused = await post_form(client, f"/patients/{patient_id}/forms", {"kind": "consent", "procedure": ""})
    assert refused.status_code == 422 and 'id="e-procedure"' in refused.text
    assert await SentForm.count().where(SentForm.patient == patient_id) == 0
    sent = await post_form(client, f"/patients/{patient_id}/forms", {"kind": "medical_history"})
    assert sent.status_code == 303
    mail = await OutboxMessage.select(OutboxMessage.text_body).where(OutboxMessage.patient_id == patient_id).first()
    token = re.search(r"/form/([\w-]+)", mail["text_body"]).group(1)
    form_id = await filling.submit(token, {"allergies": "Latex", "smoking": "current"}, "Anna Jansen", "")
    page = await client.get(f"/patients/{patient_id}/forms/{form_id}")
    assert page.status_code == 200 and "Latex" in page.text and "changed" in page.text
    assert (await post_form(client, f"/patients/{patient_id}/forms/{form_id}/accept")).status_code == 303
    again = await post_form(client, f"/patients/{patient_id}/forms/{form_id}/decline")
    assert again.status_code == 409 and "already been decided" in again.text
    pdf = await client.get(f"/patients/{patient_id}/forms/{form_id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (await medical_history.get_version(clinic, patient_id))["allergies"] == "Latex"


async def test_a_patient_without_email_gets_no_link(clinic, settings):
    patient_id = await factories.make_patient(clinic, email="")
    with pytest.raises(ValidationFailed) as refused:
        await filling.send(clinic, settings, patient_id, filling.SendForm(kind="medical_history"))
    assert "kind" in refused.value.errors
    assert await SentForm.count() == 0


async def test_forms_are_in_the_patients_export_and_go_with_erasure(clinic, settings):
    from portal.privacy import registry

    patient_id = await factories.make_patient(clinic)
    token = await _sent(clinic, settings, patient_id, "consent", procedure="Crown 21")
    await filling.submit(token, {"understood": "yes", "consent": "yes"}, "Anna Jansen", json.dumps(STROKES))
    category = next(c for c in registry.all_categories() if c.name == "forms")
    rows = await category.collect(patient_id)
    assert rows[0]["signer_name"] == "Anna Jansen" and rows[0]["signature_method"] == "drawn"
    files = await category.files(patient_id)
    assert files[0].data.startswith(b"%PDF") and files[0].name.endswith(".pdf")
    from portal.db import transaction
    async with transaction():
        assert await category.erase(patient_id) == 1
    assert await SentForm.count().where(SentForm.patient == patient_id) == 0


async def test_a_long_signature_with_long_answers_fits_the_public_caps(client, clinic, settings):
    """The most a form may carry (three answers at their limit, a signature of MAX_POINTS points) is accepted."""
    patient_id = await factories.make_patient(clinic)
    token = await _sent(clinic, settings, patient_id)
    wiggle = [[[(i * 7) % signatures.WIDTH, (i * 13) % signatures.HEIGHT] for i in range(signatures.MAX_POINTS)]]
    signed = await post_form(client, f"/form/{token}", {
        "conditions": "c" * 4000, "medications": "m" * 4000, "allergies": "a" * 4000, "smoking": "never",
        "signer_name": "Anna Jansen", "strokes": json.dumps(wiggle)})
    assert signed.status_code == 200, signed.text[:300]
    assert (await SentForm.select(SentForm.signature_method).where(SentForm.patient == patient_id).first()
            )["signature_method"] == "drawn"


async def test_the_form_and_its_mail_speak_the_patients_language(client, clinic, settings):
    patient_id = await factories.make_patient(clinic, preferred_language="nl")
    token = await _sent(clinic, settings, patient_id)
    mail = await OutboxMessage.select(OutboxMessage.subject, OutboxMessage.text_body).where(
        OutboxMessage.patient_id == patient_id).first()
    assert "Vragenlijst medische gegevens" in mail["subject"] and "De link werkt 7 dagen" in mail["text_body"]
    page = await client.get(f"/form/{token}")
    assert "Vragenlijst medische gegevens" in page.text and "Allergieën" in page.text
    refused = await post_form(client, f"/form/{token}", {"smoking": "", "signer_name": ""})
    assert refused.status_code == 422 and "Beantwoord deze vraag." in refused.text
