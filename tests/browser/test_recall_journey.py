"""A patient on a 390x844 phone gets the recall mail (read at the test SMTP server), books from its link,
cancels by the link in the confirmation, and books again; a new patient books with a mailed one-time code."""

from datetime import timedelta
from urllib.parse import urlsplit

from playwright.async_api import Page, expect

from portal import clock, consents
from portal.consents import ConsentChange, ConsentKind
from portal.recall import booking, due, recall_types, reminders
from portal.tables import Appointment
from tests import factories
from tests.browser.conftest import sideways_overflow
from tests.conftest import ARTIFACTS
from tests.mail_sink import body_text


def _path_of(message, marker: str) -> str:
    return urlsplit(next(w for w in body_text(message).split() if marker in w)).path


async def _flat(page: Page) -> None:
    assert await sideways_overflow(page) <= 1, f"{page.url} scrolls sideways"


async def test_a_patient_books_from_the_recall_mail_cancels_and_rebooks(phone: Page, clinic, cal, settings, mailbox):
    await booking.save_settings(clinic, booking.SettingsForm(enabled=True, appointment_types=str(cal["checkup"]),
                                                             lead_hours="48", cutoff_hours="24"))
    patient = await factories.make_patient(clinic, given_name="Gerda", email="gerda@example.org")
    await consents.record_change(clinic, clinic.clinic_id, patient,
                                 ConsentChange(ConsentKind.REMINDER_EMAIL, True, "front_desk"))
    checkup = [t for t in await recall_types.list_types(clinic) if t["name"] == "Check-up"][0]
    due_on = (clock.today(clinic.time_zone) + timedelta(days=14)).isoformat()
    await due.set_recall(clinic, patient, due.RecallForm(str(checkup["id"]), due_on))
    assert await reminders.plan_recall_reminders(settings) == 1  # the periodic job's work
    await factories.run_queued_jobs()  # the worker delivers it to the test SMTP server
    [recall_mail] = mailbox.to("gerda@example.org")

    await phone.goto(_path_of(recall_mail, "/book/"))
    await expect(phone.get_by_text("Hello Gerda, choose a time that suits you.")).to_be_visible()
    await _flat(phone)
    ARTIFACTS.mkdir(exist_ok=True)
    await phone.screenshot(path=str(ARTIFACTS / "booking-390.png"), full_page=True)
    await phone.locator("button.slot").first.tap()
    await expect(phone.get_by_role("heading", name="Confirm your appointment")).to_be_visible()
    await _flat(phone)
    await phone.get_by_role("button", name="Book this time").tap()
    await expect(phone.get_by_text("Booked. A confirmation is on its way by email.")).to_be_visible()
    assert "/my-appointment/" in phone.url

    await factories.run_queued_jobs()
    confirmation = [m for m in mailbox.to("gerda@example.org") if "booked" in str(m["Subject"])][0]
    assert any(part.get_content_type() == "text/calendar" for part in confirmation.walk())
    await phone.goto(_path_of(confirmation, "/my-appointment/"))
    await _flat(phone)
    await phone.get_by_role("button", name="Cancel this appointment").tap()
    await expect(phone.get_by_text("Cancelled. We have sent you a confirmation.")).to_be_visible()

    await phone.get_by_role("button", name="Book another time").tap()
    await phone.locator("button.slot").nth(2).tap()
    await phone.get_by_role("button", name="Book this time").tap()
    await expect(phone.get_by_text("Booked. A confirmation is on its way by email.")).to_be_visible()
    statuses = sorted(r["status"] for r in await Appointment.select(Appointment.status).where(
        Appointment.patient == patient))
    assert statuses == ["booked", "cancelled"]


async def test_one_patient_takes_a_freed_slot_while_the_second_is_refused(phone: Page, browser, live_server,
                                                                           browser_problems, clinic, cal, settings,
                                                                           mailbox):
    from portal.calendar import scheduling
    from portal.recall import waitlist
    from tests.browser.conftest import watched_context

    for name in ("Hana", "Ivo"):
        patient = await factories.make_patient(clinic, given_name=name, email=f"{name.lower()}@example.org")
        await consents.record_change(clinic, clinic.clinic_id, patient,
                                     ConsentChange(ConsentKind.REMINDER_EMAIL, True, "front_desk"))
        await waitlist.add_entry(clinic, patient, waitlist.WaitlistForm(appointment_type_id=str(cal["checkup"])))
    leaver = await factories.make_patient(clinic, given_name="Leaver")
    day = (clock.today(clinic.time_zone) + timedelta(days=4)).isoformat()
    freed = await factories.book(clinic, cal, leaver, day, "11:00")
    await scheduling.set_status(clinic, freed, "cancelled", "ill")
    assert await waitlist.offer_freed_slots(settings) == 2
    await factories.run_queued_jobs()
    hana_link = _path_of(mailbox.to("hana@example.org")[0], "/offer/")
    ivo_link = _path_of(mailbox.to("ivo@example.org")[0], "/offer/")

    second = await (await watched_context(browser, browser_problems, viewport={"width": 390, "height": 844},
                                          has_touch=True, is_mobile=True, base_url=live_server)).new_page()
    await phone.goto(hana_link)
    await second.goto(ivo_link)
    await _flat(phone)
    await phone.get_by_role("button", name="Take this time").tap()
    await expect(phone.get_by_text("Booked. A confirmation is on its way by email.")).to_be_visible()
    await second.get_by_role("button", name="Take this time").tap()
    await expect(second.get_by_role("alert")).to_have_text("Sorry, someone else has just taken this time.")
    await second.context.close()
    booked = await Appointment.select(Appointment.patient).where(Appointment.status == "booked")
    assert len(booked) == 1


async def test_a_new_patient_books_by_code_on_a_phone(phone: Page, clinic, cal, settings, mailbox):
    await booking.save_settings(clinic, booking.SettingsForm(enabled=True, appointment_types=str(cal["checkup"]),
                                                             lead_hours="48"))
    await phone.goto(f"/online-booking/{clinic.clinic_id}")
    await _flat(phone)
    await phone.get_by_role("link", name="New patient? Book your first visit").tap()
    await phone.get_by_label("Given name").fill("Noor")
    await phone.get_by_label("Family name").fill("Bakker")
    await phone.get_by_label("Date of birth").fill("1992-05-06")
    await phone.get_by_label("Email address").fill("noor@example.org")
    await _flat(phone)
    await phone.get_by_role("button", name="Send me a code").tap()
    await expect(phone.get_by_role("heading", name="Enter your code")).to_be_visible()
    await factories.run_queued_jobs()  # the worker issues the code and mails it
    [mail] = mailbox.to("noor@example.org")
    code = next(w.strip(".") for w in body_text(mail).split() if w.strip(".").isdigit() and len(w.strip(".")) == 6)
    await phone.get_by_label("Code").fill(code)
    await phone.get_by_role("button", name="Continue").tap()
    await expect(phone.get_by_text("Hello Noor, choose a time that suits you.")).to_be_visible()
    await phone.locator("button.slot").first.tap()
    await phone.get_by_role("button", name="Book this time").tap()
    await expect(phone.get_by_text("Booked. A confirmation is on its way by email.")).to_be_visible()
    assert await Appointment.count() == 1
