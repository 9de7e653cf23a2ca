"""A morning at the front desk on a tablet: the today board, arrivals with one tap, a walk-in booked from the
patient page. The clinic's zone is chosen so that it is midday there whenever the test runs."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect

from portal.permissions import Role
from tests import factories
from tests.browser.test_foundation_journey import sign_in
from tests.conftest import ARTIFACTS


def _midday_zone() -> str:
    """An Etc/GMT zone in which the local hour is 11 now, so 12:30 is still to come (POSIX signs: Etc/GMT-3 is
    UTC+3; a booking more than 15 minutes in the past is refused)."""
    offset = 11 - datetime.now(timezone.utc).hour
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


async def test_a_receptionist_greets_arrivals_and_books_a_walk_in(tablet: Page):
    page = tablet
    clinic = await factories.make_clinic("Noon Dental", time_zone=_midday_zone())
    cal = await factories.make_calendar(clinic)
    reception = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")
    ines = await factories.make_patient(clinic, given_name="Ines", family_name="Visser")
    joop = await factories.make_patient(clinic, given_name="Joop", family_name="Smit")
    walk_in = await factories.make_patient(clinic, given_name="Kees", family_name="Mulder")
    today = datetime.now(timezone.utc).astimezone(ZoneInfo(clinic.time_zone)).date()
    await factories.book(clinic, cal, ines, today.isoformat(), "12:30")
    await factories.book(clinic, cal, joop, today.isoformat(), "13:00", chair_id=str(cal["chairs"][1]))
    await sign_in(page, await factories.email_of(reception), factories.PASSWORD)

    board = page.locator("#today")
    await expect(board.get_by_role("heading", name="Expected next")).to_be_visible()
    await expect(board.get_by_role("link", name="Ines Visser").first).to_be_visible()
    await board.get_by_role("button", name="Arrived: Ines Visser").first.tap()
    waiting = page.locator("#today article", has=page.get_by_role("heading", name="Waiting"))
    await expect(waiting.get_by_text("Ines Visser")).to_be_visible()
    await expect(waiting.get_by_text("Waiting, 0 min")).to_be_visible()
    await page.locator("#today").get_by_role("button", name="Seat: Ines Visser").first.tap()
    await expect(page.locator("#today article", has=page.get_by_role("heading", name="Waiting"))
                 .get_by_text("Nobody is waiting.")).to_be_visible()
    await page.locator("#today summary").tap()
    await expect(page.locator("#today details").get_by_text("In chair").first).to_be_visible()
    assert page.url.endswith("/")  # still the dashboard, never the POST-only URL
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "front-desk-768.png"), full_page=True)

    await page.goto(f"/patients/{walk_in}")
    appointments = page.locator("#appointments")
    await expect(appointments.get_by_text("Nothing booked.")).to_be_visible()
    await appointments.get_by_role("button", name="Book").tap()
    dialog = page.locator("dialog[open]")
    await expect(dialog.get_by_role("heading", name="Book an appointment")).to_be_visible()
    await dialog.locator("#f-appointment_type_id").select_option(label="Check-up (30 min)")
    await dialog.locator("#f-provider_id").select_option(label="Dr. Dekker")
    await dialog.locator("#f-chair_id").select_option(label="Chair 1")
    await dialog.locator("#f-time").fill("14:00")
    await dialog.get_by_role("button", name="Book", exact=True).tap()
    await expect(page.locator(".cal-appt", has_text="14:00 Kees Mulder")).to_be_visible()
    await page.goto(f"/patients/{walk_in}")
    await expect(page.locator("#appointments").get_by_text("Booked")).to_be_visible()
