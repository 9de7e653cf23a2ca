"""A covered filling on a tablet: the account shows what the patient and the fund owe, the receptionist drafts the
fund's claim, downloads it, marks it sent and books the fund's payment."""

from datetime import date, timedelta

from playwright.async_api import Page, expect

from portal.billing import coverage, payers
from portal.charts import fee_schedule, treatment_plans
from portal.permissions import Role
from tests import factories
from tests.browser.test_foundation_journey import sign_in


async def test_a_funds_share_is_claimed_sent_and_paid(tablet: Page):
    page = tablet
    clinic = await factories.make_clinic("Fund Dental")
    cal = await factories.make_calendar(clinic)
    reception = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")
    patient = await factories.make_patient(clinic, given_name="Femke", family_name="de Vries")
    await fee_schedule.load_demo_schedule(clinic)
    payer_id = await payers.add_payer(clinic, payers.PayerForm(name="Zilveren Fund", default_percent="80"))
    await coverage.add_coverage(clinic, patient, coverage.CoverageForm(
        payer=str(payer_id), member_number="M-4711", valid_from=(date.today() - timedelta(days=1)).isoformat()))
    code = [c for c in await fee_schedule.list_codes(clinic) if c["code"] == "FI2"][0]
    dentist = cal["dentist"]
    plan_id = await treatment_plans.create_plan(dentist, patient, treatment_plans.PlanForm(title="Fillings"))
    item_id = await treatment_plans.add_item(dentist, patient, plan_id, treatment_plans.ItemForm(
        procedure_code_id=str(code["id"]), tooth="36", s_m=True, s_o=True))
    await treatment_plans.accept(dentist, patient, plan_id, treatment_plans.AcceptanceForm(
        accepted_by="Femke", method="written"))
    await treatment_plans.complete_item(dentist, patient, plan_id, item_id)

    await sign_in(page, await factories.email_of(reception), factories.PASSWORD)
    await page.goto(f"/patients/{patient}/account")
    await expect(page.locator("#patient-owes")).to_contain_text("21")
    await expect(page.locator("#payer-owes")).to_contain_text("84")
    await page.get_by_role("button", name="Draft a claim").tap()
    await expect(page.locator("#claim-state")).to_have_text("Drafted")
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download CSV").tap()
    assert (await info.value).suggested_filename.endswith(".csv")
    await page.get_by_role("button", name="Mark as sent to the payer").tap()
    await expect(page.locator("#claim-state")).to_have_text("Sent")
    await page.get_by_label("Amount received").fill("84.00")
    await page.get_by_role("button", name="Record payment").tap()
    await expect(page.locator("#claim-state")).to_have_text("Paid")
    await page.goto(f"/patients/{patient}/account")
    await expect(page.locator("#payer-owes")).to_contain_text("0")
    await expect(page.locator("#patient-owes")).to_contain_text("21")
