"""A receptionist moves appointments on a tablet: by dragging with a finger, by two taps, and by keyboard."""

from datetime import date, timedelta

from playwright.async_api import Page, expect

from portal import clock
from portal.permissions import Role
from portal.tables import Appointment
from tests import factories
from tests.browser.test_foundation_journey import sign_in

DAY = date.today() + timedelta(days=7)


async def _touch_drag(page: Page, source, target) -> None:
    """A finger on `source`, slid in steps onto the middle of `target` (a locator or a box; real touch events, through
    the CDP); the page is first scrolled to put `source` at the top, as a finger would before a long drag down the
    44 px rows."""
    before = await source.bounding_box()
    await source.evaluate("element => element.scrollIntoView({block: 'start'})")
    cdp = await page.context.new_cdp_session(page)
    start = await source.bounding_box()
    if isinstance(target, dict):  # a box measured before the scroll moves with the page
        end = {**target, "x": target["x"] + start["x"] - before["x"], "y": target["y"] + start["y"] - before["y"]}
    else:
        end = await target.bounding_box()
    x0, y0 = start["x"] + start["width"] / 2, start["y"] + 12
    x1, y1 = end["x"] + end["width"] / 2, end["y"] + end["height"] / 2
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
    for step in range(1, 11):
        point = {"x": x0 + (x1 - x0) * step / 10, "y": y0 + (y1 - y0) * step / 10}
        await cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


async def _starts(appointment_id: int, chair: int) -> str:
    row = await Appointment.select().where(Appointment.id == appointment_id).first()
    assert row["chair"] == chair
    return clock.local(row["starts_at"], "Europe/Amsterdam").strftime("%H:%M")


async def test_a_receptionist_drags_taps_and_keys_an_appointment_to_new_times(tablet: Page, clinic):
    page = tablet
    cal = await factories.make_calendar(clinic)
    rita = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")
    patient = await factories.make_patient(clinic, given_name="Marloes", family_name="Verbeek")
    appointment_id = await factories.book(clinic, cal, patient, DAY.isoformat(), "10:00")
    await sign_in(page, await factories.email_of(rita), factories.PASSWORD)

    await page.goto(f"/calendar?date={DAY.isoformat()}")
    appointment = page.locator(".cal-appt", has_text="10:00 Marloes Verbeek")
    await _touch_drag(page, appointment, page.get_by_label("Book Chair 2 at 12:00"))
    await expect(page.locator("dialog[open]").get_by_text("moved from")).to_be_visible()
    assert await _starts(appointment_id, cal["chairs"][1]) == "12:00"

    # After a touch drag the card's Move section opens from the keyboard: the drag once left a flag behind that ate
    # the click Enter sends to a <summary> (no pointerdown came to clear it).
    card = page.locator("dialog[open]")
    await card.get_by_text("Move", exact=True).focus()
    await page.keyboard.press("Enter")
    await card.get_by_role("link", name="Move on the calendar").tap()
    await expect(page.get_by_role("status")).to_contain_text("Moving Marloes Verbeek")
    await page.get_by_role("button", name="Move here: Chair 1 at 15:00").tap()
    await expect(page.locator("dialog[open]").get_by_text("moved from").nth(1)).to_be_visible()
    assert await _starts(appointment_id, cal["chairs"][0]) == "15:00"

    await page.goto(f"/calendar?date={DAY.isoformat()}")
    await page.locator(".cal-appt", has_text="15:00 Marloes Verbeek").focus()
    await page.keyboard.press("m")
    await expect(page.get_by_role("status")).to_contain_text("Moving Marloes Verbeek")
    await page.get_by_role("button", name="Move here: Chair 1 at 16:30").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("dialog[open]").get_by_text("moved from").nth(2)).to_be_visible()
    assert await _starts(appointment_id, cal["chairs"][0]) == "16:30"


async def test_a_receptionist_drags_an_appointment_to_another_day_in_the_week_view(tablet: Page, clinic):
    page = tablet
    cal = await factories.make_calendar(clinic)
    rita = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")
    patient = await factories.make_patient(clinic, given_name="Marloes", family_name="Verbeek")
    monday = DAY - timedelta(days=DAY.weekday())
    appointment_id = await factories.book(clinic, cal, patient, monday.isoformat(), "10:00")
    await sign_in(page, await factories.email_of(rita), factories.PASSWORD)

    await page.goto(f"/calendar/week?date={monday.isoformat()}&chair={cal['chairs'][0]}")
    appointment = page.locator(".cal-appt", has_text="10:00 Marloes Verbeek")
    wednesday = page.locator(f'.cal-head[data-date="{(monday + timedelta(days=2)).isoformat()}"]')
    # no element per slot on the week grid: the target is the place under the finger (Wednesday's column, 12:00)
    head, row = await wednesday.bounding_box(), await page.locator('.cal-time[data-t="12:00"]').bounding_box()
    await _touch_drag(page, appointment, {"x": head["x"], "y": row["y"], "width": head["width"],
                                          "height": row["height"]})
    await expect(page.locator("dialog[open]").get_by_text("moved from")).to_be_visible()
    row = await Appointment.select().where(Appointment.id == appointment_id).first()
    assert clock.local(row["starts_at"], "Europe/Amsterdam").date() == monday + timedelta(days=2)
    assert await _starts(appointment_id, cal["chairs"][0]) == "12:00"

    # the two-tap way in the week view: "m" on the card picks it up, a "Move here" slot puts it down
    await page.goto(f"/calendar/week?date={monday.isoformat()}&chair={cal['chairs'][0]}")
    await page.locator(".cal-appt", has_text="12:00 Marloes Verbeek").focus()
    await page.keyboard.press("m")
    await expect(page.get_by_role("status")).to_contain_text("Moving Marloes Verbeek")
    friday = await page.locator(f'.cal-head[data-date="{(monday + timedelta(days=4)).isoformat()}"]').inner_text()
    await page.get_by_role("button", name=f"Move here: {friday} at 09:30", exact=True).tap()
    await expect(page.locator("dialog[open]").get_by_text("moved from").nth(1)).to_be_visible()
    row = await Appointment.select().where(Appointment.id == appointment_id).first()
    assert clock.local(row["starts_at"], "Europe/Amsterdam").date() == monday + timedelta(days=4)
    assert await _starts(appointment_id, cal["chairs"][0]) == "09:30"
