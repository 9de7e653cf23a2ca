"""A family added at the front desk on a tablet (768 px): start a family from a patient's page, add a member with
the typeahead, and follow the member's link."""

from playwright.async_api import Page, expect

from portal.permissions import Role
from tests import factories
from tests.browser.test_foundation_journey import sign_in


async def test_a_receptionist_adds_a_family_member(tablet: Page):
    page = tablet
    clinic = await factories.make_clinic("Family Dental")
    reception = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")
    ines = await factories.make_patient(clinic, given_name="Ines", family_name="Visser", address="Dam 1",
                                        postcode="1012 JS", city="Amsterdam")
    await factories.make_patient(clinic, given_name="Kees", family_name="Visser", date_of_birth="2016-03-02")
    await sign_in(page, await factories.email_of(reception), factories.PASSWORD)

    await page.goto(f"/patients/{ines}")
    family = page.locator("#family")
    await expect(family.get_by_text("Not in a family.")).to_be_visible()
    await family.get_by_text("Start a family").tap()
    await expect(family.locator("#f-household_name")).to_have_value("Visser")
    await family.get_by_role("button", name="Start the family").tap()
    family = page.locator("#family")
    await expect(family.get_by_text("Ines Visser")).to_be_visible()
    await family.get_by_text("Add a family member").tap()
    await family.locator("#member_patient-q").fill("kees")
    await family.get_by_role("radio", name="Visser, Kees").check()
    await family.get_by_role("button", name="Add to the family").tap()
    member = page.locator("#family").get_by_role("link", name="Kees Visser")
    await expect(member).to_be_visible()
    await expect(page.locator("#family").get_by_text("other address")).to_be_visible()
    await page.locator("#family").get_by_role("button", name="Use the family's address for every member").tap()
    await expect(page.locator("#family").get_by_text("other address")).to_have_count(0)
    assert page.url.endswith(f"/patients/{ines}")  # never the POST-only URL
    await page.locator("#family").get_by_role("link", name="Kees Visser").tap()
    await expect(page.get_by_role("heading", name="Kees Visser")).to_be_visible()
    await expect(page.locator("#family").get_by_role("link", name="Ines Visser")).to_be_visible()
