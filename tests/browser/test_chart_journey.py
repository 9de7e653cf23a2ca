"""A dentist charts on a tablet: caries on 36 (M+O), a planned filling, acceptance, completion, a note and its
amendment."""

from playwright.async_api import Page, expect

from portal.charts import fee_schedule
from portal.permissions import Role
from tests import factories
from tests import image_samples as samples
from tests.browser.test_foundation_journey import sign_in
from tests.conftest import ARTIFACTS


async def test_dentist_charts_plans_completes_amends_and_views_an_xray(tablet: Page, clinic, tmp_path):
    page = tablet
    await fee_schedule.load_demo_schedule(clinic)
    dentist = await factories.make_staff(clinic, Role.DENTIST, name="Dr. Dekker")
    patient_id = await factories.make_patient(clinic, given_name="Noor", family_name="Visser")
    await sign_in(page, await factories.email_of(dentist), factories.PASSWORD)

    await page.goto(f"/patients/{patient_id}")
    await page.get_by_role("button", name="Open chart").tap()
    await expect(page.get_by_role("heading", name="Noor Visser")).to_be_visible()
    tooth = page.locator('a[data-tooth="36"]')
    await tooth.tap()
    panel = page.locator("#tooth-panel")
    await expect(panel.get_by_role("heading", name="Tooth 36")).to_be_visible()
    await panel.get_by_label("Finding").select_option("caries")
    await panel.get_by_label("Mesial (M)").check()
    await panel.get_by_label("Occlusal (O)").check()
    await panel.get_by_role("button", name="Record finding").tap()
    await expect(page.locator('a[data-tooth="36"] polygon.k-caries')).to_have_count(2)
    await expect(page.locator("#tooth-panel")).to_contain_text("Caries MO")

    await page.get_by_role("link", name="Plans", exact=True).tap()
    await page.get_by_label("New plan").fill("Restore 36")
    await page.get_by_role("button", name="Start plan").tap()
    await page.locator("#f-procedure_code_id").select_option(
        label="FI2 · Filling, two surfaces (composite) · 105.00 EUR")
    await page.get_by_label("Tooth (FDI)").fill("36")
    await page.get_by_label("Mesial (M)").check()
    await page.get_by_label("Occlusal / incisal (O)").check()
    await page.get_by_role("button", name="Add to plan").tap()
    await expect(page.get_by_text("Plan total: 105.00 EUR")).to_be_visible()
    canvas = page.locator("#acceptance canvas.signature-canvas")
    await canvas.scroll_into_view_if_needed()
    box = await canvas.bounding_box()
    await page.mouse.move(box["x"] + 20, box["y"] + 30)
    await page.mouse.down()
    for step in range(1, 8):
        await page.mouse.move(box["x"] + 20 + step * 25, box["y"] + 30 + (step % 3) * 12)
    await page.mouse.up()
    await page.get_by_role("button", name="Record acceptance").tap()
    await expect(page.locator("#acceptances")).to_contain_text("accepted by Noor Visser")
    await expect(page.locator("#acceptances")).to_contain_text("Drawn signature")
    await page.get_by_role("button", name="Mark completed").tap()
    await expect(page.locator("mark.status-completed").first).to_be_visible()

    await page.get_by_role("link", name="Chart", exact=True).tap()
    completed = page.locator('a[data-tooth="36"] polygon.st-completed')
    await expect(completed).to_have_count(2)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.locator("#tooth-chart").screenshot(path=str(ARTIFACTS / "tooth-chart-768.png"))

    await page.get_by_role("link", name="Notes", exact=True).tap()
    await page.get_by_role("button", name="Examination").tap()
    await page.get_by_label("Note").fill("36 MO restored with composite. Patient comfortable.")
    await page.get_by_role("button", name="Sign note").tap()
    await page.get_by_role("link", name="Amend this note").first.tap()
    await page.get_by_label("Correction").fill("Shade A2 used.")
    await page.get_by_label("Reason for the amendment").fill("Shade missing")
    await page.get_by_role("button", name="Sign amendment").tap()
    note = page.locator("article.note", has_text="36 MO restored")
    await expect(note).to_contain_text("Shade A2 used.")
    await expect(note).to_contain_text("reason: Shade missing")
    await page.screenshot(path=str(ARTIFACTS / "chart-notes-768.png"), full_page=True)

    xray = tmp_path / "bitewing-36.png"
    xray.write_bytes(samples.picture("PNG", size=(600, 400)))
    await page.get_by_role("link", name="Images", exact=True).tap()
    await page.get_by_role("button", name="Upload X-rays, photos or scans").tap()
    await page.get_by_label("Files").set_input_files(str(xray))
    await page.get_by_label("Kind").select_option("xray")
    await page.get_by_label("Teeth (FDI)").fill("36")
    await page.get_by_role("button", name="Upload", exact=True).tap()
    await expect(page.get_by_role("status")).to_have_text("1 file uploaded.")
    await page.get_by_role("link", name="Chart", exact=True).tap()
    await page.locator(".chart-thumbs img").first.tap()
    await expect(page.get_by_role("heading", name="X-ray")).to_be_visible()
    await expect(page.locator("[data-zoom-viewport]")).to_have_attribute("data-ready", "true")
    await page.get_by_role("button", name="Zoom in").tap()
    await expect(page.locator("[data-zoom-level]")).to_have_text("125%")
