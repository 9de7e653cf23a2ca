"""Lab work on a tablet: the dentist makes a crown case with a scan and a shade and sends it (the lab receives the
slip and the scan by mail), the calendar card warns that it will not be back in time, the front desk marks it
received and the warning goes, the crown is checked and seated; a prescription is signed and mailed."""

from datetime import date

from playwright.async_api import Page, expect

from portal.lab import cases, directory
from portal.permissions import Role
from tests import factories, image_samples
from tests.browser.test_foundation_journey import sign_in, sign_out
from tests.factories import run_queued_jobs


async def test_a_crown_goes_to_the_lab_comes_back_and_is_seated_and_a_prescription_is_mailed(
        tablet: Page, clinic, cal, mailbox):
    page = tablet
    dentist = cal["dentist"]
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")
    patient_id = await factories.make_patient(clinic, given_name="Mila", family_name="Visser",
                                              email="mila@example.org")
    await image_samples.stored(dentist, patient_id, name="prep36.stl", data=image_samples.stl_binary(),
                               kind="scan", caption="Preparation 36")
    await directory.add_lab(clinic, directory.LabForm(name="Kroon Lab", email="orders@kroonlab.test",
                                                      turnaround="crown 7"))
    seating_day = cases.add_working_days(date.today(), 3)
    seating = await factories.book(clinic, cal, patient_id, seating_day.isoformat(), "10:00")

    await sign_in(page, await factories.email_of(dentist), factories.PASSWORD)
    await page.goto(f"/patients/{patient_id}/lab-cases/new")
    await page.locator("#f-lab_id").select_option(label="Kroon Lab")
    await page.get_by_label("Crown").check()
    await page.get_by_label("Teeth (FDI)").fill("36")
    await page.get_by_label("Shade").fill("A2")
    await page.get_by_label("Material").fill("Zirconia")
    await page.get_by_label("Preparation 36").check()
    await page.locator("#f-appointment_id").select_option(index=1)
    await page.get_by_role("button", name="Save case").tap()
    await expect(page.locator("#case-status")).to_have_text("Draft")
    await expect(page.get_by_text("Not back in time for the seating")).to_be_visible()
    await page.get_by_role("button", name="Send to the lab (orders@kroonlab.test)").tap()
    await expect(page.locator("#case-status")).to_have_text("Sent to the lab")
    case_url = page.url

    await run_queued_jobs()
    [order] = mailbox.to("orders@kroonlab.test")
    attachments = [part.get_filename() for part in order.iter_attachments()]
    assert attachments[0].startswith("lab-slip-") and attachments[1].endswith(".stl")
    await sign_out(page)

    await sign_in(page, await factories.email_of(desk), factories.PASSWORD)
    await expect(page.locator("#lab-late")).to_be_visible()  # the dashboard warns
    await page.goto(f"/calendar/appointments/{seating}")
    await expect(page.locator("dialog[open] #lab-late")).to_be_visible()
    await page.goto(case_url)
    await expect(page.locator("#case-shade")).to_have_count(0)  # the front desk sees dates, not the work
    await page.get_by_role("button", name="Mark as Received").tap()
    await expect(page.locator("#case-status")).to_have_text("Received")
    await page.goto(f"/calendar/appointments/{seating}")
    await expect(page.locator("dialog[open]")).to_be_visible()
    await expect(page.locator("#lab-late")).to_have_count(0)
    await page.goto("/")
    await expect(page.locator("#dashboard-figures:not([hx-get])")).to_have_count(1)  # the figures have loaded
    await expect(page.locator("#lab-late")).to_have_count(0)
    await sign_out(page)

    await sign_in(page, await factories.email_of(dentist), factories.PASSWORD)
    await page.goto(case_url)
    await page.get_by_role("button", name="Mark as Checked").tap()
    await expect(page.locator("#case-status")).to_have_text("Checked")
    await page.get_by_role("button", name="Mark as Seated").tap()
    await expect(page.locator("#case-status")).to_have_text("Seated")

    await page.goto(f"/patients/{patient_id}/prescriptions/new")
    await page.get_by_label("Medicine").fill("Amoxicillin")
    await page.get_by_label("Strength").fill("500 mg")
    await page.get_by_label("Dose").fill("1 capsule 3× daily")
    await page.get_by_label("Quantity").fill("21 capsules")
    await page.get_by_role("button", name="Sign prescription").tap()
    await expect(page.get_by_role("heading", name="Prescriptions")).to_be_visible()
    await page.get_by_role("button", name="Mail the prescription").tap()
    await expect(page.get_by_text("Queued for mailing.")).to_be_visible()
    await run_queued_jobs()
    attached = [p.get_filename() for m in mailbox.to("mila@example.org") for p in m.iter_attachments()]
    assert [name for name in attached if name.startswith("prescription-")]  # besides the booking's calendar file
