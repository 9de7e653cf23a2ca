"""The calendar in HTTP: day, week and month pages, booking, conflicts with alternatives, the card."""

import asyncio
import re
from datetime import date, timedelta

import httpx
import pytest

from portal.permissions import Role
from portal.tables import Appointment, AuditEntry
from tests import factories
from tests.factories import book, post_form, sign_in_as

DAY = (date.today() + timedelta(days=7)).isoformat()


@pytest.fixture
async def receptionist(clinic):
    return await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")


def booking(cal, patient_id, at="10:00", **overrides):
    return {"patient_id": str(patient_id), "appointment_type_id": str(cal["checkup"]),
            "provider_id": str(cal["dentist"].id), "chair_id": str(cal["chairs"][0]), "date": DAY, "time": at,
            "minutes": "", "notes": "", **overrides}


async def test_day_view_shows_chairs_and_appointments_and_audits_the_patients(client, clinic, cal, receptionist):
    patient = await factories.make_patient(clinic, given_name="Wessel")
    await book(clinic, cal, patient, DAY, "10:00")
    await sign_in_as(client, receptionist)
    page = await client.get("/calendar", params={"date": DAY})
    assert page.status_code == 200
    assert "Chair 1" in page.text and "Chair 2" in page.text and "10:00 Wessel" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert await AuditEntry.exists().where((AuditEntry.action == "calendar.day_viewed")
                                           & (AuditEntry.patient_id == patient))


async def test_receptionist_books_from_the_dialog(client, clinic, cal, receptionist):
    patient = await factories.make_patient(clinic, given_name="Olga")
    await sign_in_as(client, receptionist)
    dialog = await client.get("/calendar/book", params={"date": DAY, "time": "10:00", "chair": cal["chairs"][0]},
                              headers={"HX-Request": "true"})
    assert "<dialog open" in dialog.text and "<html" not in dialog.text
    options = await client.get("/calendar/patient-options", params={"q": "olga"})
    assert f'value="{patient}"' in options.text
    response = await post_form(client, "/calendar/appointments", booking(cal, patient))
    assert response.status_code == 303 and response.headers["location"] == f"/calendar?date={DAY}"
    assert await Appointment.count() == 1


async def test_conflict_shows_the_message_and_alternatives_that_book_in_one_tap(client, clinic, cal, receptionist):
    first, second = await factories.make_patient(clinic), await factories.make_patient(clinic)
    await book(clinic, cal, first, DAY, "10:00")
    await sign_in_as(client, receptionist)
    refused = await post_form(client, "/calendar/appointments", booking(cal, second, "10:15"))
    assert refused.status_code == 409
    assert "already" in refused.text and 'name="pick"' in refused.text
    pick = refused.text.split('name="pick" value="')[1].split('"')[0]
    taken = await post_form(client, "/calendar/appointments", {**booking(cal, second, "10:15"), "pick": pick})
    assert taken.status_code == 303
    assert await Appointment.count() == 2


async def test_bad_booking_input_is_a_422_with_messages(client, clinic, cal, receptionist):
    await sign_in_as(client, receptionist)
    response = await post_form(client, "/calendar/appointments", booking(cal, 0, "25:99", minutes="7"))
    assert response.status_code == 422
    for message in ("Choose a patient.", "Choose a start time", "5-minute steps"):
        assert message in response.text
    assert await Appointment.count() == 0


async def test_card_moves_and_cancels(client, clinic, cal, receptionist):
    appointment_id = await book(clinic, cal, await factories.make_patient(clinic), DAY, "10:00")
    await sign_in_as(client, receptionist)
    card = await client.get(f"/calendar/appointments/{appointment_id}")
    assert card.status_code == 200 and "History" in card.text
    moved = await post_form(client, f"/calendar/appointments/{appointment_id}/move",
                            {"date": DAY, "time": "15:00", "chair_id": str(cal["chairs"][1]),
                             "provider_id": str(cal["dentist"].id), "minutes": "30"})
    assert moved.status_code == 303
    no_reason = await post_form(client, f"/calendar/appointments/{appointment_id}/status", {"status": "cancelled"})
    assert no_reason.status_code == 422 and "Say why" in no_reason.text
    cancelled = await post_form(client, f"/calendar/appointments/{appointment_id}/status",
                                {"status": "cancelled", "reason": "Patient called"})
    assert cancelled.status_code == 303
    row = await Appointment.select().where(Appointment.id == appointment_id).first()
    assert row["status"] == "cancelled" and row["sequence"] == 2
    history = (await client.get(f"/calendar/appointments/{appointment_id}")).text
    assert "moved from" in history and "Patient called" in history


async def test_week_and_month_views(client, clinic, cal, receptionist):
    await book(clinic, cal, await factories.make_patient(clinic, given_name="Wendy"), DAY, "09:00")
    await sign_in_as(client, receptionist)
    week = await client.get("/calendar/week", params={"date": DAY, "provider": cal["dentist"].id})
    assert week.status_code == 200 and "09:00 Wendy" in week.text
    by_chair = await client.get("/calendar/week", params={"date": DAY, "chair": cal["chairs"][1]})
    assert "Wendy" not in by_chair.text
    month = await client.get("/calendar/month", params={"date": DAY})
    assert "1 appt" in month.text


async def test_next_free_lists_bookable_starts(client, clinic, cal, receptionist):
    await sign_in_as(client, receptionist)
    response = await client.get("/calendar/free", params={"appointment_type_id": cal["cleaning"], "date": DAY,
                                                          "part_of_day": "afternoon"})
    assert response.status_code == 200
    assert "12:00" in response.text and "Hanna Hygienist" in response.text


async def test_fifty_sessions_booking_one_slot_over_http_get_one_success(app, clinic, cal):
    patient = await factories.make_patient(clinic)
    staff = [await factories.make_staff(clinic, Role.RECEPTIONIST) for _ in range(5)]
    clients = []
    for i in range(50):
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(f"10.1.0.{i}", 5000)),
                              base_url="http://testserver")
        await sign_in_as(c, staff[i % 5])
        clients.append(c)
    try:
        responses = await asyncio.gather(*[post_form(c, "/calendar/appointments", booking(cal, patient, "11:00"))
                                           for c in clients])
    finally:
        for c in clients:
            await c.aclose()
    codes = [r.status_code for r in responses]
    assert codes.count(303) == 1 and codes.count(409) == 49
    assert all("already" in r.text for r in responses if r.status_code == 409)
    assert await Appointment.count() == 1


@pytest.mark.parametrize("role, allowed", [(Role.OWNER, True), (Role.DENTIST, True), (Role.HYGIENIST, True),
                                           (Role.RECEPTIONIST, True)])
async def test_calendar_access_by_role(client, clinic, cal, role, allowed):
    member = clinic if role == Role.OWNER else await factories.make_staff(clinic, role)
    await sign_in_as(client, member)
    assert ((await client.get("/calendar")).status_code == 200) == allowed


# --- htmx conventions (issue 12) ---

HX = {"HX-Request": "true"}


async def test_opening_the_dialog_or_the_card_builds_no_day_and_audits_only_the_card(client, clinic, cal,
                                                                                      receptionist):
    from tests.htmx_swaps import root

    seen, beside = await factories.make_patient(clinic), await factories.make_patient(clinic)
    appointment_id = await book(clinic, cal, seen, DAY, "10:00")
    await book(clinic, cal, beside, DAY, "11:00")
    await sign_in_as(client, receptionist)
    before = await AuditEntry.count()
    dialog = await client.get("/calendar/book", params={"date": DAY, "time": "09:00", "chair": cal["chairs"][0]},
                              headers=HX)
    assert dialog.status_code == 200 and root(dialog.text)["attrs"].get("id") == "dialog"
    assert "cal-grid" not in dialog.text and await AuditEntry.count() == before  # no day built, nothing read
    card = await client.get(f"/calendar/appointments/{appointment_id}", headers=HX)
    assert card.status_code == 200 and root(card.text)["attrs"].get("id") == "dialog"
    assert "cal-grid" not in card.text
    rows = await AuditEntry.select(AuditEntry.action, AuditEntry.patient_id, AuditEntry.object_type,
                                   AuditEntry.object_id, AuditEntry.actor_id).where(AuditEntry.id > 0).order_by(
        AuditEntry.id).offset(before)
    assert rows == [{"action": "appointment.viewed", "patient_id": seen, "object_type": "appointment",
                     "object_id": str(appointment_id), "actor_id": receptionist.id}]  # what staff saw, once
    # without htmx (a reload) the page is the day with the card on top, and the day is audited as shown
    page = await client.get(f"/calendar/appointments/{appointment_id}")
    assert "cal-grid" in page.text and root(page.text)["tag"] == "html"
    assert await AuditEntry.exists().where((AuditEntry.action == "calendar.day_viewed")
                                           & (AuditEntry.patient_id == beside))


async def test_typeahead_and_next_free_fragments_are_their_targets(client, clinic, cal, receptionist):
    from tests.htmx_swaps import elements, root

    await factories.make_patient(clinic, given_name="Olga")
    await sign_in_as(client, receptionist)
    dialog = (await client.get("/calendar/book", params={"date": DAY, "time": "09:00"}, headers=HX)).text
    targets = {e["attrs"]["hx-get"].split("?")[0]: e["attrs"]["hx-target"] for e in elements(dialog)
               if "hx-get" in e["attrs"]}
    options = await client.get("/calendar/patient-options", params={"q": "olga"}, headers=HX)
    free = await client.get("/calendar/free", params={"appointment_type_id": cal["checkup"], "date": DAY},
                            headers=HX)
    assert "#" + root(options.text)["attrs"]["id"] == targets["/calendar/patient-options"]
    assert "#" + root(free.text)["attrs"]["id"] == targets["/calendar/free"]
    grid = (await client.get("/calendar", params={"date": DAY})).text
    slot = next(e for e in elements(grid) if e["attrs"].get("class", "").startswith("cal-slot"))
    swap = slot["parent"]["attrs"]
    assert (swap["hx-target"], swap["hx-swap"]) == ("#dialog", "outerHTML")


async def test_every_refused_calendar_form_swaps_into_its_target_and_keeps_the_address(client, clinic, cal,
                                                                                       receptionist):
    from tests.htmx_swaps import assert_swaps_into, post_like_htmx

    first, second = await factories.make_patient(clinic), await factories.make_patient(clinic)
    taken = await book(clinic, cal, first, DAY, "10:00")
    mine = await book(clinic, cal, second, DAY, "12:00")
    await sign_in_as(client, receptionist)
    book_url = f"/calendar/book?date={DAY}&time=10:00"
    card_url = f"/calendar/appointments/{mine}"
    refusals = [
        (book_url, "/calendar/appointments", booking(cal, second, "10:15"), 409),
        (book_url, "/calendar/appointments", booking(cal, 0, "25:99"), 422),
        (card_url, f"/calendar/appointments/{mine}/move",
         {"date": DAY, "time": "10:00", "chair_id": str(cal["chairs"][0]), "provider_id": str(cal["dentist"].id),
          "minutes": "30"}, 409),
        (card_url, f"/calendar/appointments/{mine}/move", {"date": DAY, "time": "99:00"}, 422),
        (card_url, f"/calendar/appointments/{mine}/status", {"status": "cancelled", "reason": ""}, 422),
        (card_url, f"/calendar/appointments/{mine}/status", {"status": "completed"}, 422),
    ]
    for page_url, action, data, status in refusals:
        page = await client.get(page_url)
        target, response = await post_like_htmx(client, page.text, page_url, action, data)
        assert response.status_code == status, (action, data)
        assert_swaps_into(target, response)
        # a boosted form would push its POST-only URL: Back or reload would then be a 405
        assert response.headers.get("hx-replace-url") == "false", action
        assert (await client.get(page_url)).status_code == 200
    assert await Appointment.count() == 2 and taken


async def test_the_booking_dialog_names_the_chosen_patient_also_after_a_refusal(client, clinic, cal, other_clinic):
    patient = await factories.make_patient(clinic, given_name="Marloes", family_name="Verbeek")
    stranger = await factories.make_patient(other_clinic, given_name="Onbekend")
    await sign_in_as(client, clinic)
    day = (date.today() + timedelta(days=9)).isoformat()
    dialog = await client.get(f"/calendar/book?patient={patient}&date={day}", headers={"HX-Request": "true"})
    assert "Verbeek, Marloes" in dialog.text and "(chosen)" not in dialog.text
    refused = await post_form(client, "/calendar/appointments", {
        "patient_id": str(patient), "appointment_type_id": str(cal["checkup"]), "provider_id": str(cal["dentist"].id),
        "chair_id": str(cal["chairs"][0]), "date": day, "time": "", "minutes": "30"})
    assert refused.status_code == 422 and "Verbeek, Marloes" in refused.text
    foreign = await client.get(f"/calendar/book?patient={stranger}&date={day}", headers={"HX-Request": "true"})
    assert "Onbekend" not in foreign.text and f'name="patient_id" value="{stranger}"' not in foreign.text


async def test_the_card_links_to_the_patient_and_cancel_is_not_close(client, clinic, cal, receptionist):
    patient = await factories.make_patient(clinic, given_name="Wessel")
    appointment_id = await book(clinic, cal, patient, DAY, "10:00")
    await sign_in_as(client, receptionist)
    card = await client.get(f"/calendar/appointments/{appointment_id}", headers={"HX-Request": "true"})
    assert f'href="/patients/{patient}"' in card.text
    assert "Cancel this appointment" in card.text and "Back to the calendar" in card.text
    assert ">Close<" not in card.text
    assert 'name="minutes" type="number"' in card.text  # the Move form can change the length


async def test_cancelled_and_no_shows_are_placed_on_the_grid_only_on_demand(client, clinic, cal, receptionist):
    patient = await factories.make_patient(clinic, given_name="Wessel")
    appointment_id = await book(clinic, cal, patient, DAY, "10:00")
    await scheduling_cancel(clinic, appointment_id)
    await sign_in_as(client, receptionist)
    plain = await client.get("/calendar", params={"date": DAY})
    assert "10:00 Wessel" not in plain.text.split('class="cal-grid')[1].split('id="move-form"')[0]
    assert "Show cancelled and no-shows" in plain.text
    shown = await client.get("/calendar", params={"date": DAY, "freed": "1"})
    grid = shown.text.split('class="cal-grid')[1]
    assert 'status-cancelled freed"' in grid and "10:00 Wessel" in grid
    assert "Hide cancelled and no-shows" in shown.text and "&amp;freed=1" in shown.text


async def test_two_taps_move_an_appointment_through_the_move_rule(client, clinic, cal, receptionist):
    patient = await factories.make_patient(clinic, given_name="Wessel")
    appointment_id = await book(clinic, cal, patient, DAY, "10:00")
    await book(clinic, cal, await factories.make_patient(clinic), DAY, "11:00", chair_id=str(cal["chairs"][1]))
    await sign_in_as(client, receptionist)
    grid = await client.get("/calendar", params={"date": DAY})
    assert f'href="/calendar/appointments/{appointment_id}" data-provider="{cal["dentist"].id}"' in grid.text
    picked = await client.get("/calendar", params={"date": DAY, "moving": appointment_id})
    assert f'action="/calendar/appointments/{appointment_id}/move"' in picked.text
    target = f'{DAY}|14:00|{cal["chairs"][1]}|{cal["dentist"].id}'
    assert f'value="{target}"' in picked.text and "Move here: Chair 2 at 14:00" in picked.text
    moved = await post_form(client, f"/calendar/appointments/{appointment_id}/move", {"pick": target})
    assert moved.status_code == 303
    row = await Appointment.select().where(Appointment.id == appointment_id).first()
    assert row["chair"] == cal["chairs"][1]
    taken = await post_form(client, f"/calendar/appointments/{appointment_id}/move",
                            {"pick": f'{DAY}|11:00|{cal["chairs"][1]}|{cal["dentist"].id}'})
    assert taken.status_code == 409  # the same rule as the Move form: no double booking
    await scheduling_cancel(clinic, appointment_id)
    stale = await client.get("/calendar", params={"date": DAY, "moving": appointment_id})
    assert "Move here" not in stale.text  # a cancelled appointment cannot be picked up


async def scheduling_cancel(clinic, appointment_id):
    from portal.calendar import scheduling
    await scheduling.set_status(clinic, appointment_id, "cancelled", "ill")


async def test_a_booking_in_the_past_keeps_what_was_typed_and_asks_for_a_reason(client, clinic, cal, receptionist):
    patient = await factories.make_patient(clinic)
    await sign_in_as(client, receptionist)
    gone = (date.today() - timedelta(days=6)).isoformat()
    refused = await post_form(client, "/calendar/appointments", booking(cal, patient, notes="walk-in", date=gone))
    assert refused.status_code == 422 and 'id="f-past_reason"' in refused.text and 'value="walk-in"' in refused.text
    assert await Appointment.count() == 0
    recorded = await post_form(client, "/calendar/appointments",
                               booking(cal, patient, date=gone, past_reason="Paper diary"))
    assert recorded.status_code == 303 and await Appointment.count() == 1


async def test_the_card_shows_the_patients_active_alerts_and_its_history_oldest_first(client, clinic, cal,
                                                                                     receptionist):
    from portal.charts import medical_history

    patient, other = await factories.make_patient(clinic), await factories.make_patient(clinic)
    dentist = await factories.make_staff(clinic, Role.DENTIST)
    add = medical_history.add_alert
    await add(dentist, patient, medical_history.AlertForm(label="Latex <allergy>"))
    gone = await add(dentist, patient, medical_history.AlertForm(label="Old fracture"))
    await add(dentist, patient, medical_history.AlertForm(label="Anticoagulants", severity="medium"))
    await add(dentist, other, medical_history.AlertForm(label="Someone else's alert"))
    await medical_history.resolve_alert(dentist, patient, gone)
    appointment_id = await book(clinic, cal, patient, DAY, "10:00")
    await sign_in_as(client, receptionist)
    assert (await post_form(client, f"/calendar/appointments/{appointment_id}/move",
                            {"date": DAY, "time": "15:00", "chair_id": str(cal["chairs"][1]),
                             "provider_id": str(cal["dentist"].id), "minutes": "30"})).status_code == 303
    assert (await post_form(client, f"/calendar/appointments/{appointment_id}/status",
                            {"status": "confirmed"})).status_code == 303
    card = (await client.get(f"/calendar/appointments/{appointment_id}", headers=HX)).text
    assert re.findall(r'<li class="alert alert-high">⚠ ([^<]*)</li>', card) == [
        "Latex &lt;allergy&gt;", "Anticoagulants"]  # the active ones, oldest first, escaped; not the resolved one
    history = [" ".join(h.split()) for h in re.findall(r"<li>(.*?)</li>", card.split('<ol class="history">')[1],
                                                        re.S)]
    day = date.fromisoformat(DAY)
    assert len(history) == 3 and history[0].endswith(f"{clinic.name}: booked")
    assert history[1].endswith(f"Rita: moved from {day.day} {day:%b}, 10:00 to {day.day} {day:%b}, 15:00")
    assert history[2].endswith("Rita: booked → confirmed")
    assert await AuditEntry.exists().where((AuditEntry.action == "appointment.viewed")
                                           & (AuditEntry.patient_id == patient))
