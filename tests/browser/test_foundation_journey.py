"""Journeys in a real browser: the owner adds a receptionist, who registers and finds a patient."""

import re

from playwright.async_api import Page, expect

from portal.tables import OutboxMessage
from tests import factories
from tests.browser.conftest import sideways_overflow
from tests.conftest import ARTIFACTS


async def sign_in(page: Page, email: str, password: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name=re.compile("Good day"))).to_be_visible()


async def sign_out(page: Page) -> None:
    await page.locator("details.dropdown summary").click()
    await page.get_by_role("button", name="Sign out", exact=True).click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_owner_adds_receptionist_who_registers_and_finds_a_patient(tablet: Page, clinic, browser_problems):
    page = tablet
    browser_problems.allow_status(403)  # the receptionist is shown the staff list is not hers
    await sign_in(page, "owner@canal-dental.test", factories.PASSWORD)
    await page.get_by_role("link", name="Staff", exact=True).click()
    await page.get_by_role("button", name="Add staff member").click()
    await page.get_by_label("Full name").fill("Rita Reception")
    await page.get_by_label("Email (used to sign in)").fill("rita@canal-dental.test")
    await page.get_by_label("Role").select_option("receptionist")
    await page.get_by_label("Email (used to sign in)").fill("rita@")
    await page.get_by_role("button", name="Save and send the invitation").click()
    await expect(page.locator("#e-email")).to_contain_text("Enter an email address")
    await page.get_by_label("Email (used to sign in)").fill("rita@canal-dental.test")
    await page.get_by_role("button", name="Save and send the invitation").click()
    await expect(page.get_by_role("status")).to_have_text("Sent.")
    await sign_out(page)

    invitation = await OutboxMessage.select(OutboxMessage.text_body).where(
        OutboxMessage.recipient == "rita@canal-dental.test").first()
    await page.goto(re.search(r"/password/\S+", invitation["text_body"]).group(0))
    await page.get_by_label("New password (at least 12 characters)").fill("rita-has-a-long-password")
    await page.get_by_label("The same password again").fill("rita-has-a-long-password")
    await page.get_by_role("button", name="Save password").click()
    await sign_in(page, "rita@canal-dental.test", "rita-has-a-long-password")
    await expect(page.get_by_role("link", name="Staff", exact=True)).to_have_count(0)
    response = await page.goto("/staff")
    assert response.status == 403
    await expect(page.get_by_role("heading", name="You cannot open this page")).to_be_visible()

    await page.goto("/patients")
    await page.get_by_role("button", name="New patient").click()
    await page.get_by_label("Given name").fill("Marloes")
    await page.get_by_label("Family name").fill("Verbeek")
    await page.get_by_label("Date of birth").fill("1982-11-05")
    await page.get_by_label("Mobile phone").fill("06 2345 6789")
    await page.get_by_role("button", name="Save patient").click()
    await expect(page.get_by_role("heading", name="Marloes Verbeek")).to_be_visible()
    await expect(page.get_by_text("+31 6 23456789")).to_be_visible()

    await page.get_by_role("link", name="Patients").click()
    await page.get_by_label("Search patients").press_sequentially("verb", delay=60)
    results = page.locator("#patient-results")
    await expect(results.get_by_role("link", name="Verbeek, Marloes")).to_be_visible()
    await page.get_by_label("Search patients").fill("")
    await page.get_by_label("Search patients").press_sequentially("0623", delay=60)
    await expect(results.get_by_role("link", name="Verbeek, Marloes")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "patients-typeahead-768.png"), full_page=True)
    await results.get_by_role("link", name="Verbeek, Marloes").click()
    await expect(page.get_by_role("heading", name="Marloes Verbeek")).to_be_visible()
    # The page's own fragments have loaded (an audited read still in flight would race the next test's clean-up).
    await expect(page.locator("article#contact-changes")).to_be_visible()


async def test_bad_sign_in_says_so_in_the_page(tablet: Page, clinic, browser_problems):
    browser_problems.allow_status(401)  # the refused sign-in
    await tablet.goto("/login")
    await tablet.get_by_label("Email").fill("owner@canal-dental.test")
    await tablet.get_by_label("Password").fill("wrong password")
    await tablet.get_by_role("button", name="Sign in").click()
    await expect(tablet.get_by_role("alert")).to_contain_text("do not match an active account")


async def test_pages_fit_a_phone_without_sideways_scrolling(phone: Page, clinic, cal):
    patient_id = await factories.make_patient(clinic)
    ids = await factories.make_chart_records(clinic, cal["dentist"], patient_id)
    await sign_in(phone, "owner@canal-dental.test", factories.PASSWORD)
    chart = f"/patients/{patient_id}"
    for url in ("/", "/patients", "/patients/new", "/staff/new", "/audit", "/settings", "/account/calendar-feed",
                "/calendar", "/calendar/week", "/calendar/month", "/settings/clinical", chart, f"{chart}/chart",
                f"{chart}/chart/teeth/36", f"{chart}/history", f"{chart}/history/edit", f"{chart}/plans",
                f"{chart}/plans/{ids['plan_id']}", f"{chart}/notes", f"{chart}/notes/new", "/privacy-requests",
                "/privacy-requests/restricted", "/privacy-settings", "/privacy-settings/record"):
        await phone.goto(url)
        overflow = await sideways_overflow(phone)
        assert overflow <= 1, f"{url} scrolls sideways by {overflow}px"
    await phone.goto("/")
    ARTIFACTS.mkdir(exist_ok=True)
    await phone.screenshot(path=str(ARTIFACTS / "dashboard-390.png"), full_page=True)
