"""A patient signs a medical history form with the pointer on a 390 px phone; the dentist accepts the allergy."""

import re

from playwright.async_api import Page, expect

from portal.charts import medical_history
from portal.patient_forms import filling
from portal.settings import Settings
from portal.tables import OutboxMessage, SentForm
from tests import factories
from tests.browser.conftest import sideways_overflow
from tests.browser.test_foundation_journey import sign_in
from tests.factories import PASSWORD


async def test_patient_signs_on_a_phone_and_the_dentist_accepts_the_allergy(phone: Page, tablet: Page, clinic):
    patient_id = await factories.make_patient(clinic, given_name="Eva", family_name="Jansen")
    await medical_history.save_history(clinic, patient_id, medical_history.HistoryForm(smoking="never"))
    await filling.send(clinic, Settings.from_env(), patient_id, filling.SendForm(kind="medical_history"))
    mail = await OutboxMessage.select(OutboxMessage.text_body).where(OutboxMessage.patient_id == patient_id).first()
    path = re.search(r"/form/[\w-]+", mail["text_body"]).group(0)

    await phone.goto(path)
    assert await sideways_overflow(phone) <= 1
    await phone.get_by_label("Allergies").fill("Penicillin")
    await phone.get_by_label("Your full name").fill("Eva Jansen")
    canvas = phone.locator("canvas.signature-canvas")
    await canvas.scroll_into_view_if_needed()
    box = await canvas.bounding_box()
    await phone.mouse.move(box["x"] + 20, box["y"] + 30)
    await phone.mouse.down()
    for step in range(1, 12):
        await phone.mouse.move(box["x"] + 20 + step * 20, box["y"] + 30 + (step % 3) * 15)
    await phone.mouse.up()
    await phone.get_by_role("button", name="Sign and send").click()
    await expect(phone.get_by_role("heading", name="Thank you")).to_be_visible()
    row = await SentForm.select(SentForm.id, SentForm.signature_method).where(SentForm.patient == patient_id).first()
    assert row["signature_method"] == "drawn"

    await sign_in(tablet, await factories.email_of(clinic), PASSWORD)
    await tablet.goto(f"/patients/{patient_id}/forms")
    await tablet.get_by_role("link", name="Medical history questionnaire").click()
    await expect(tablet.locator("#form-differences tr.changed")).to_have_count(1)
    await tablet.get_by_role("button", name="Accept into the record").click()
    await expect(tablet.locator("#form-decision")).to_contain_text("medical history version 2")
    assert (await medical_history.get_version(clinic, patient_id))["allergies"] == "Penicillin"
