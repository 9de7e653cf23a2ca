"""At the desk on a tablet: a patient's new mobile number waits on the patient page until the receptionist checks
a passport and confirms it in person; then it is on the record."""

from playwright.async_api import Page, expect

from portal.contacts import changes
from portal.permissions import Role
from tests import factories
from tests.browser.test_foundation_journey import sign_in


async def test_a_receptionist_confirms_a_new_mobile_in_person(tablet: Page):
    page = tablet
    clinic = await factories.make_clinic("Desk Dental")
    reception = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")
    patient_id = await factories.make_patient(clinic, given_name="Ines", family_name="Visser")
    await changes.propose(reception, clinic.clinic_id, changes.Holder(patient_id), "phone", "+31612349999",
                          "staff_form")
    await sign_in(page, await factories.email_of(reception), factories.PASSWORD)
    await page.goto(f"/patients/{patient_id}")
    box = page.locator("#contact-changes")
    await expect(box.get_by_text("+31 6 12349999")).to_be_visible()
    await box.get_by_label("Identity document checked in person").select_option("passport")
    await box.get_by_role("button", name="Confirm in person").tap()
    await expect(page.get_by_text("No address is waiting for confirmation.")).to_be_visible()
    await expect(page.locator("dd", has_text="+31 6 12349999")).to_be_visible()
