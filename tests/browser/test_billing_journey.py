"""The patient account on a tablet: the dentist completes a filling, the receptionist invoices it, takes a card
payment and prints the statement."""

from playwright.async_api import Page, expect

from portal.charts import fee_schedule, treatment_plans
from portal.permissions import Role
from tests import factories
from tests.browser.test_foundation_journey import sign_in, sign_out
from tests.conftest import ARTIFACTS


async def test_a_filling_is_completed_invoiced_paid_by_card_and_on_the_statement(tablet: Page):
    page = tablet
    clinic = await factories.make_clinic("Till Dental")
    cal = await factories.make_calendar(clinic)
    reception = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")
    patient = await factories.make_patient(clinic, given_name="Femke", family_name="de Vries")
    await fee_schedule.load_demo_schedule(clinic)
    code = [c for c in await fee_schedule.list_codes(clinic) if c["code"] == "FI2"][0]
    dentist = cal["dentist"]
    plan_id = await treatment_plans.create_plan(dentist, patient, treatment_plans.PlanForm(title="Fillings"))
    await treatment_plans.add_item(dentist, patient, plan_id, treatment_plans.ItemForm(
        procedure_code_id=str(code["id"]), tooth="36", s_m=True, s_o=True))
    await treatment_plans.accept(dentist, patient, plan_id, treatment_plans.AcceptanceForm(
        accepted_by="Femke", method="written"))

    await sign_in(page, await factories.email_of(dentist), factories.PASSWORD)
    await page.goto(f"/patients/{patient}/plans/{plan_id}")
    await page.get_by_role("button", name="Mark completed").tap()
    await expect(page.get_by_role("button", name="Mark completed")).to_have_count(0)
    await expect(page.locator("mark.status-completed").first).to_be_visible()
    await sign_out(page)

    await sign_in(page, await factories.email_of(reception), factories.PASSWORD)
    await page.goto(f"/patients/{patient}")
    await page.get_by_role("button", name="Account").tap()
    await expect(page.get_by_role("heading", name="Account of Femke de Vries")).to_be_visible()
    await expect(page.locator("#balance")).to_contain_text("105")
    await page.get_by_role("button", name="Issue an invoice for 1 charges").tap()
    await expect(page.get_by_role("heading", name="Invoice")).to_be_visible()
    await page.get_by_role("button", name="Account").tap()

    await page.get_by_label("Amount").fill("105.00")
    await page.get_by_label("Paid by").select_option(label="Card terminal")
    await page.get_by_label("Reference (receipt or transfer)").fill("Terminal 0042")
    await page.get_by_role("button", name="Take payment").tap()
    await expect(page.get_by_text("Nothing owed.")).to_be_visible()
    await expect(page.get_by_role("cell", name="Card terminal")).to_be_visible()
    assert page.url.endswith("/account")  # redirected after the post; reload is safe
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "account-768.png"), full_page=True)

    async with page.expect_download() as info:
        await page.get_by_role("button", name="Print statement (PDF)").tap()
    download = await info.value
    with open(await download.path(), "rb") as statement:
        assert statement.read(5) == b"%PDF-"
    assert download.suggested_filename.startswith("statement-")
