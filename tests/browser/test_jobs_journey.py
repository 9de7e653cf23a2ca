"""The owner's jobs page in a real browser: a failed job retried, a dead letter resent, channels shown; and the
messaging pages fit a phone."""

from datetime import date, timedelta

from playwright.async_api import Page, expect

from tests import factories
from tests.browser.test_foundation_journey import sign_in
from tests.conftest import ARTIFACTS


async def test_owner_retries_a_failed_job_and_resends_a_dead_letter(tablet: Page, clinic):
    page = tablet
    await factories.make_failed_job()
    await factories.make_dead_letter(clinic, to="gone@example.org")
    await sign_in(page, "owner@canal-dental.test", factories.PASSWORD)
    await page.get_by_role("link", name="Set-up", exact=True).click()
    await page.get_by_role("link", name="Background jobs and messages").click()
    await expect(page.get_by_text("OSError: gateway down")).to_be_visible()
    await expect(page.get_by_text("no credentials (set SMS_ACCOUNT_SID")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "jobs-768.png"), full_page=True)
    await page.get_by_role("button", name="Retry").click()
    await expect(page.get_by_text("No failed jobs.")).to_be_visible()
    await page.get_by_role("button", name="Resend").click()
    await expect(page.get_by_text("No undeliverable messages.")).to_be_visible()


async def test_messaging_pages_fit_a_phone(phone: Page, clinic, cal):
    await factories.make_failed_job()
    await factories.make_dead_letter(clinic, to="a-rather-long-address-for-a-phone@example.org")
    patient_id = await factories.make_patient(clinic)
    await factories.book(clinic, cal, patient_id, (date.today() + timedelta(days=3)).isoformat(), "10:00")
    await factories.make_lead(clinic)
    await sign_in(phone, "owner@canal-dental.test", factories.PASSWORD)
    for url in ("/jobs", "/jobs/news", "/leads", f"/patients/{patient_id}/messages", "/settings", "/password/forgot"):
        await phone.goto(url)
        overflow = await phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{url} scrolls sideways by {overflow}px"
    await phone.goto("/jobs")
    await phone.screenshot(path=str(ARTIFACTS / "jobs-390.png"), full_page=True)
