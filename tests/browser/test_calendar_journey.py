"""A receptionist runs the calendar on a tablet: book, move, meet a conflict, pick an alternative, cancel."""

from datetime import date, timedelta

from playwright.async_api import Page, expect

from portal.permissions import Role
from tests import factories
from tests.browser.test_foundation_journey import sign_in
from tests.conftest import ARTIFACTS

DAY = date.today() + timedelta(days=7)


async def test_receptionist_books_moves_resolves_a_conflict_and_cancels(tablet: Page, clinic):
    page = tablet
    cal = await factories.make_calendar(clinic)
    await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")
    await factories.make_patient(clinic, given_name="Marloes", family_name="Verbeek")
    other = await factories.make_patient(clinic, given_name="Sem", family_name="Bakker")
    await factories.book(clinic, cal, other, DAY.isoformat(), "11:00")
    receptionist_email = (await factories.email_of(await _rita(clinic)))
    await sign_in(page, receptionist_email, factories.PASSWORD)

    await page.goto(f"/calendar?date={DAY.isoformat()}")
    await expect(page.get_by_text("11:00 Sem Bakker")).to_be_visible()
    await page.get_by_label("Book Chair 1 at 10:00").tap()
    dialog = page.locator("dialog[open]")
    await expect(dialog.get_by_role("heading", name="Book an appointment")).to_be_visible()
    await dialog.get_by_placeholder("Name, phone, date of birth").press_sequentially("verb", delay=50)
    await dialog.get_by_label("Verbeek, Marloes").check()
    await dialog.locator("#f-appointment_type_id").select_option(label="Check-up (30 min)")
    await dialog.locator("#f-provider_id").select_option(label="Dr. Dekker")
    await dialog.get_by_role("button", name="Book", exact=True).tap()
    appointment = page.locator(".cal-appt", has_text="10:00 Marloes Verbeek")
    await expect(appointment).to_be_visible()

    await appointment.tap()
    card = page.locator("dialog[open]")
    await card.get_by_text("Move", exact=True).tap()
    await card.locator("#f-time").fill("11:15")
    await card.get_by_role("button", name="Move appointment").tap()
    await expect(card.get_by_role("alert")).to_contain_text("already")
    alternatives = card.locator(".alternatives button")
    await expect(alternatives.first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "calendar-conflict-768.png"))
    await alternatives.first.tap()
    await expect(page.locator("dialog[open]").get_by_text("moved from")).to_be_visible()

    card = page.locator("dialog[open]")
    await card.get_by_text("Cancel this appointment", exact=True).tap()
    await card.get_by_label("Reason").fill("Patient is travelling")
    await card.get_by_role("button", name="Cancel appointment").tap()
    await expect(page.locator("dialog[open]")).to_contain_text("Cancelled")
    await page.goto(f"/calendar?date={DAY.isoformat()}")
    await expect(page.locator(".cal-appt", has_text="Marloes")).to_have_count(0)
    await expect(page.get_by_text("Cancelled and no-show (1)")).to_be_visible()
    await page.screenshot(path=str(ARTIFACTS / "calendar-day-768.png"), full_page=True)


async def test_dentist_opens_the_ical_link_and_it_parses(tablet: Page, clinic):
    import icalendar

    page = tablet
    cal = await factories.make_calendar(clinic)
    await factories.book(clinic, cal, await factories.make_patient(clinic, given_name="Marloes", family_name="Verbeek"),
                         DAY.isoformat(), "10:00")
    await sign_in(page, await factories.email_of(cal["dentist"]), factories.PASSWORD)
    await page.locator("details.dropdown summary").click()
    await page.get_by_role("link", name="My calendar feed").click()
    await page.get_by_role("button", name="Make a link").click()
    url = await page.get_by_label("Calendar feed link").input_value()
    response = await page.request.get(url)
    assert response.status == 200
    parsed = icalendar.Calendar.from_ical(await response.body())
    assert [str(e["summary"]) for e in parsed.walk("VEVENT")] == ["M.V. · Check-up"]


async def _rita(clinic):
    from portal.permissions import Actor
    from portal.tables import Staff

    row = await Staff.select(Staff.id).where(Staff.name == "Rita").first()
    return Actor(kind="staff", id=row["id"], clinic_id=clinic.clinic_id, name="Rita")


async def test_reload_and_back_after_refusals_land_on_the_calendar_not_a_405(tablet: Page, clinic):
    page = tablet
    cal = await factories.make_calendar(clinic)
    await factories.make_patient(clinic, given_name="Marloes", family_name="Verbeek")
    other = await factories.make_patient(clinic, given_name="Sem", family_name="Bakker")
    await factories.book(clinic, cal, other, DAY.isoformat(), "11:00")
    await sign_in(page, await factories.email_of(await _rita_or_new(clinic)), factories.PASSWORD)

    await page.goto(f"/calendar?date={DAY.isoformat()}")
    await page.get_by_label("Book Chair 1 at 10:00").tap()
    dialog = page.locator("dialog[open]")
    await dialog.locator("#f-time").fill("11:00")
    await dialog.get_by_placeholder("Name, phone, date of birth").press_sequentially("verb", delay=50)
    await dialog.get_by_label("Verbeek, Marloes").check()
    await dialog.locator("#f-appointment_type_id").select_option(label="Check-up (30 min)")
    await dialog.locator("#f-provider_id").select_option(label="Dr. Dekker")
    booked_url = page.url
    await dialog.get_by_role("button", name="Book", exact=True).tap()
    await expect(page.locator("dialog[open]").get_by_role("alert")).to_contain_text("already")  # the 409
    assert page.url == booked_url and "/calendar/book" in page.url
    reloaded = await page.reload()
    assert reloaded.status == 200
    await expect(page.get_by_role("heading", name="Book an appointment")).to_be_visible()
    await expect(page.get_by_text("11:00 Sem Bakker")).to_be_visible()

    card_url = f"/calendar/appointments/{await factories.book(clinic, cal, other, DAY.isoformat(), '14:00')}"
    await page.goto(card_url)
    card = page.locator("dialog[open]")
    await card.get_by_text("Move", exact=True).tap()
    await card.locator("#f-time").fill("11:15")
    await card.get_by_role("button", name="Move appointment").tap()
    await expect(page.locator("dialog[open]").get_by_role("alert")).to_contain_text("already")  # the 409
    assert page.url.endswith(card_url)
    assert (await page.reload()).status == 200
    await page.go_back()
    await expect(page.get_by_text("11:00 Sem Bakker")).to_be_visible()
    assert "/calendar" in page.url and "/move" not in page.url


async def _rita_or_new(clinic):
    return await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")
