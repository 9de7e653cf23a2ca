"""The recall pages for staff and the signed-out booking pages for patients, through HTTP."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

from portal import clock
from portal.recall import booking, due, recall_types
from portal.tables import Appointment, BookingHold, RecallContact
from tests import factories
from tests.factories import post_form, sign_in_as


async def _enable(clinic, cal):
    await booking.save_settings(clinic, booking.SettingsForm(enabled=True, appointment_types=str(cal["checkup"]),
                                                             lead_hours="48"))


async def test_the_recall_list_books_in_one_tap_and_logs_contacts(client, clinic, cal):
    patient = await factories.make_patient(clinic, given_name="Dora")
    checkup = [t for t in await recall_types.list_types(clinic) if t["name"] == "Check-up"][0]
    await due.set_recall(clinic, patient, due.RecallForm(str(checkup["id"]), clock.today(clinic.time_zone).isoformat()))
    await sign_in_as(client, clinic)
    page = await client.get("/recall")
    assert page.status_code == 200 and "Dora" in page.text
    assert f"/calendar/book?patient={patient}&amp;type={cal['checkup']}" in page.text
    logged = await post_form(client, f"/patients/{patient}/recall/contacts",
                             {"kind": "no_answer", "back": "list", "recall_type_id": str(checkup["id"])})
    assert logged.status_code == 303 and logged.headers["location"] == "/recall"
    assert (await RecallContact.select().first())["kind"] == "no_answer"
    assert "No answer" in (await client.get("/recall")).text
    assert "Dora" not in (await client.get("/recall?view=scheduled")).text


async def test_the_patient_card_refuses_bad_input_beside_the_field(client, clinic, cal):
    patient = await factories.make_patient(clinic)
    await sign_in_as(client, clinic)
    card = await client.get(f"/patients/{patient}/recall", headers={"HX-Request": "true"})
    assert card.status_code == 200 and card.text.lstrip().startswith('<article id="recall"')
    refused = await post_form(client, f"/patients/{patient}/recall", {"recall_type_id": "", "due_on": "soonish"})
    assert refused.status_code == 422 and 'id="e-due_on"' in refused.text and 'value="soonish"' in refused.text


async def test_owner_saves_online_booking_settings(client, clinic, cal):
    await sign_in_as(client, clinic)
    assert (await client.get("/recall/settings")).status_code == 200
    saved = await post_form(client, "/recall/settings", {"enabled": "on", "appointment_types": str(cal["checkup"]),
                                                         "days_ahead": "30", "lead_hours": "2", "hold_minutes": "5",
                                                         "cutoff_hours": "24", "reminder_days": "-7, 0",
                                                         "daily_cap": "50"})
    assert saved.status_code == 303
    assert (await booking.booking_settings(clinic.clinic_id))["appointment_types"] == [cal["checkup"]]
    refused = await post_form(client, "/recall/settings", {"days_ahead": "999", "lead_hours": "2", "hold_minutes": "5",
                                                           "cutoff_hours": "24", "reminder_days": "", "daily_cap": "5"})
    assert refused.status_code == 422 and 'id="e-days_ahead"' in refused.text and 'value="999"' in refused.text


async def test_a_patient_books_from_the_link_signed_out(client, clinic, cal, settings):
    await _enable(clinic, cal)
    patient = await factories.make_patient(clinic, given_name="Elif")
    path = urlsplit(booking.recall_link(settings, clinic.clinic_id, patient)).path
    page = await client.get(path)
    assert page.status_code == 200 and "Hello Elif" in page.text
    assert "<script" not in page.text.replace('src="/static/vendor/htmx.min.js"', "").split("<body", 1)[1]
    slot = re.search(r'name="slot" value="([^"]+)"', page.text).group(1)
    held = await post_form(client, path + "/hold", {"type": str(cal["checkup"]), "slot": slot})
    assert held.status_code == 303
    review = await client.get(held.headers["location"])
    assert review.status_code == 200 and "Book this time" in review.text
    hold_id = re.search(r'name="hold" value="(\d+)"', review.text).group(1)
    booked = await post_form(client, path + "/confirm", {"hold": hold_id})
    assert booked.status_code == 303 and booked.headers["location"].startswith("/my-appointment/")
    manage = await client.get(booked.headers["location"])
    assert "Booked." in manage.text and "Cancel this appointment" in manage.text, manage.text.split("<main", 1)[1]
    assert await Appointment.count().where(Appointment.patient == patient) == 1
    assert "sessionid" not in client.cookies and "session" not in " ".join(client.cookies.keys())
    # the same slot again: taken, said plainly, nothing booked twice
    again = await post_form(client, path + "/hold", {"type": str(cal["checkup"]), "slot": slot})
    assert again.status_code == 409 and "Someone else has just taken this time" in again.text
    cancelled = await post_form(client, booked.headers["location"].split("?")[0] + "/cancel")
    assert cancelled.status_code == 303
    after = await client.get(cancelled.headers["location"])
    assert "Cancelled." in after.text and "Book another time" in after.text
    assert await BookingHold.count() == 0


async def test_bad_links_get_one_answer(client, clinic, cal, settings):
    await _enable(clinic, cal)
    for url in ("/book/forged.token", "/my-appointment/forged.token", "/book/" + "x" * 40):
        response = await client.get(url)
        assert response.status_code == 404, url
    patient = await factories.make_patient(clinic)
    appointment = await factories.book(clinic, cal, patient, (clock.today(clinic.time_zone)
                                                              + timedelta(days=3)).isoformat(), "10:00")
    starts = (await Appointment.select().where(Appointment.id == appointment).first())["starts_at"]
    manage_token = booking.manage_path(settings.secret_key, clinic.clinic_id, appointment, starts).rsplit("/", 1)[1]
    assert (await client.get(f"/book/{manage_token}")).status_code == 404  # an appointment link books nothing


async def test_a_hold_that_ran_out_goes_back_to_the_free_times_when_booking_and_when_moving(client, clinic, cal,
                                                                                            settings):
    await _enable(clinic, cal)
    patient = await factories.make_patient(clinic, given_name="Femke")
    path = urlsplit(booking.recall_link(settings, clinic.clinic_id, patient)).path
    gone = await client.get(path + "/confirm?hold=999999")
    assert gone.status_code == 410 and "Your hold has expired" in gone.text and 'name="slot"' in gone.text
    page = await client.get(path)
    slot = re.search(r'name="slot" value="([^"]+)"', page.text).group(1)
    held = await post_form(client, path + "/hold", {"type": str(cal["checkup"]), "slot": slot})
    hold_id = re.search(r'name="hold" value="(\d+)"', (await client.get(held.headers["location"])).text).group(1)
    manage = (await post_form(client, path + "/confirm", {"hold": hold_id})).headers["location"].split("?")[0]
    moving = await client.get(manage + "/confirm?hold=999999")
    assert moving.status_code == 410 and "Your hold has expired" in moving.text
    assert "Cancel this appointment" in moving.text
