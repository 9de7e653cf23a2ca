"""iCal feeds: valid RFC 5545, stable UIDs, SEQUENCE bumps, cancellations, initials unless the owner says."""

from datetime import date, timedelta

import icalendar

from portal.calendar import scheduling
from portal.tables import AuditEntry, IcalToken
from tests import factories
from tests.factories import post_form, sign_in_as

DAY = (date.today() + timedelta(days=7)).isoformat()


async def _feed_url(client, provider) -> str:
    await sign_in_as(client, provider)
    page = await post_form(client, "/account/calendar-feed/rotate")
    assert page.status_code == 200
    return page.text.split('id="feed-url"')[0].rsplit('value="', 1)[1].split('"')[0]


async def test_provider_subscribes_and_the_feed_parses(client, other_client, clinic):
    cal = await factories.make_calendar(clinic)
    patient = await factories.make_patient(clinic, given_name="Marloes", family_name="Verbeek")
    appointment_id = await factories.book(clinic, cal, patient, DAY, "10:00", notes="anxious about needles")
    url = await _feed_url(client, cal["dentist"])
    assert url.startswith("http://testserver/ical/") and url.endswith(".ics")
    response = await other_client.get(url.removeprefix("http://testserver"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    parsed = icalendar.Calendar.from_ical(response.content)
    events = parsed.walk("VEVENT")
    assert len(events) == 1 and len(parsed.walk("VTIMEZONE")) == 1
    event = events[0]
    assert str(event["uid"]) == f"appointment-{appointment_id}@{clinic.clinic_id}.chairside"
    assert str(event["summary"]) == "M.V. · Check-up"
    assert event["dtstart"].dt.tzinfo is not None and event["dtstart"].params["TZID"] == "Europe/Amsterdam"
    assert "Verbeek" not in response.text and "needles" not in response.text
    assert await AuditEntry.exists().where(AuditEntry.action == "ical.fetched")

    await scheduling.move_appointment(clinic, appointment_id, scheduling.MoveForm(date=DAY, time="11:00"))
    await scheduling.set_status(clinic, appointment_id, "cancelled", "ill")
    again = icalendar.Calendar.from_ical((await other_client.get(url.removeprefix("http://testserver"))).content)
    event = again.walk("VEVENT")[0]
    assert str(event["uid"]) == f"appointment-{appointment_id}@{clinic.clinic_id}.chairside"
    assert int(event["sequence"]) == 2 and str(event["status"]) == "CANCELLED"


async def test_owner_may_turn_full_names_on(client, other_client, clinic):
    cal = await factories.make_calendar(clinic)
    await factories.book(clinic, cal, await factories.make_patient(clinic, given_name="Marloes",
                                                                   family_name="Verbeek"), DAY, "10:00")
    url = (await _feed_url(other_client, cal["dentist"])).removeprefix("http://testserver")
    await sign_in_as(client, clinic)
    assert (await post_form(client, "/account/calendar-feed/full-names", {"enabled": "on"})).status_code == 303
    assert "Marloes Verbeek" in (await client.get(url)).text
    dentist_tries = await post_form(other_client, "/account/calendar-feed/full-names", {})
    assert dentist_tries.status_code == 403


async def test_rotated_and_revoked_links_are_404(client, clinic):
    cal = await factories.make_calendar(clinic)
    first = (await _feed_url(client, cal["dentist"])).removeprefix("http://testserver")
    second = (await _feed_url(client, cal["dentist"])).removeprefix("http://testserver")
    assert (await client.get(first)).status_code == 404
    assert (await client.get(second)).status_code == 200
    await post_form(client, "/account/calendar-feed/revoke")
    assert (await client.get(second)).status_code == 404
    assert (await client.get("/ical/not-a-token.ics")).status_code == 404
    assert not await IcalToken.exists().where(IcalToken.revoked_at.is_null())
