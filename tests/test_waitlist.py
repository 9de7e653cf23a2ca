"""The waitlist: a freed slot is offered to the first matching patients; the first to accept gets it (the database
decides), the others are told it is taken; offers expire; staff see offers and answers."""

import asyncio
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from portal import clock, consents
from portal.calendar import scheduling
from portal.consents import ConsentChange, ConsentKind
from portal.errors import NotFound, ValidationFailed
from portal.recall import tokens, waitlist
from portal.tables import Appointment, OutboxMessage, WaitlistEntry, WaitlistOffer
from tests import factories
from tests.factories import post_form, sign_in_as


def _day(n: int) -> str:
    return (clock.today("Europe/Amsterdam") + timedelta(days=n)).isoformat()


async def _waiting(clinic, cal, name: str, **preferences) -> int:
    patient = await factories.make_patient(clinic, given_name=name, email=f"{name.lower()}@example.org")
    await consents.record_change(clinic, clinic.clinic_id, patient,
                                 ConsentChange(ConsentKind.REMINDER_EMAIL, True, "front_desk"))
    await waitlist.add_entry(clinic, patient, waitlist.WaitlistForm(appointment_type_id=str(cal["checkup"]),
                                                                    **preferences))
    return patient


async def _freed(clinic, cal, day: int = 3, at: str = "10:00") -> int:
    appointment = await factories.book(clinic, cal, await factories.make_patient(clinic, given_name="Leaver"),
                                       _day(day), at)
    await scheduling.set_status(clinic, appointment, "cancelled", "moved abroad")
    return appointment


async def _offer_tokens(settings) -> dict[int, str]:
    """Each offer's link token, as mailed."""
    found = {}
    for row in await OutboxMessage.select().where(OutboxMessage.idempotency_key.like("waitlist-offer:%")):
        url = next(w for w in row["text_body"].split() if "/offer/" in w)
        found[int(row["idempotency_key"].split(":")[1])] = urlsplit(url).path.rsplit("/", 1)[1]
    return found


async def test_a_freed_slot_goes_to_the_first_matching_patients_in_order(clinic, cal, settings):
    first = await _waiting(clinic, cal, "Ada")
    await _waiting(clinic, cal, "Bram", part_of_day="afternoon")  # 10:00 is not afternoon
    await _waiting(clinic, cal, "Cem", earliest=_day(10))  # not before the tenth day
    second = await _waiting(clinic, cal, "Dirk")
    third = await _waiting(clinic, cal, "Eva")
    fourth = await _waiting(clinic, cal, "Fay")
    await _freed(clinic, cal)
    assert await waitlist.offer_freed_slots(settings) == 3
    assert await waitlist.offer_freed_slots(settings) == 0  # each freed slot once
    offered = [r["patient"] for r in await WaitlistOffer.select().order_by(WaitlistOffer.id)]
    assert offered == [first, second, third] and fourth not in offered
    assert await OutboxMessage.count().where(OutboxMessage.idempotency_key.like("waitlist-offer:%")) == 3


async def test_the_first_acceptance_wins_and_the_others_are_told(clinic, cal, settings):
    patients = [await _waiting(clinic, cal, name) for name in ("Ada", "Bram", "Cem")]
    await _freed(clinic, cal)
    await waitlist.offer_freed_slots(settings)
    links = await _offer_tokens(settings)
    seen = [await waitlist.open_offer(settings.secret_key, token) for token in links.values()]

    async def attempt(one):
        try:
            await waitlist.accept(one, settings)
            return "booked"
        except ValidationFailed as exc:
            return exc.errors["offer"]

    results = await asyncio.gather(*[attempt(one) for one in seen])
    assert results.count("booked") == 1
    assert all("someone else" in r for r in results if r != "booked")
    winner = [o for o in await WaitlistOffer.select() if o["status"] == "accepted"]
    assert len(winner) == 1 and winner[0]["patient"] in patients
    assert sorted(o["status"] for o in await WaitlistOffer.select()) == ["accepted", "taken", "taken"]
    booked = await Appointment.select().where(Appointment.status == "booked")
    assert [a["patient"] for a in booked] == [winner[0]["patient"]]
    assert (await WaitlistEntry.select().where(WaitlistEntry.id == winner[0]["entry"]).first())["status"] == "booked"
    # an offer answered later still hears it is taken
    later = await waitlist.open_offer(settings.secret_key, next(iter(links.values())))
    if later.offer["status"] != "accepted":
        with pytest.raises(ValidationFailed):
            await waitlist.accept(later, settings)


async def test_expired_and_forged_offers_are_refused(clinic, cal, settings):
    await _waiting(clinic, cal, "Ada")
    await _freed(clinic, cal)
    await waitlist.offer_freed_slots(settings)
    [(offer_id, token)] = (await _offer_tokens(settings)).items()
    await WaitlistOffer.update({WaitlistOffer.expires_at: clock.now() - timedelta(minutes=1)}).where(
        WaitlistOffer.id == offer_id)
    seen = await waitlist.open_offer(settings.secret_key, token)
    with pytest.raises(ValidationFailed) as refused:
        await waitlist.accept(seen, settings)
    assert "expired" in refused.value.errors["offer"]
    assert await Appointment.count().where(Appointment.status == "booked") == 0
    forged = tokens.make("not the secret", "offer", clinic.clinic_id, offer_id, clock.now() + timedelta(hours=1))
    with pytest.raises(NotFound):
        await waitlist.open_offer(settings.secret_key, forged)


async def test_staff_add_from_the_patient_page_and_see_offers_live(client, clinic, cal, settings):
    patient = await factories.make_patient(clinic, given_name="Gijs")
    await sign_in_as(client, clinic)
    refused = await post_form(client, f"/patients/{patient}/recall/waitlist", {"appointment_type_id": ""})
    assert refused.status_code == 422 and 'id="e-appointment_type_id"' in refused.text
    added = await post_form(client, f"/patients/{patient}/recall/waitlist",
                            {"appointment_type_id": str(cal["checkup"]), "part_of_day": "morning"})
    assert added.status_code == 303
    page = await client.get("/waitlist")
    assert page.status_code == 200 and "Gijs" in page.text and "Morning (before 12:00)" in page.text
    await _freed(clinic, cal)
    await waitlist.offer_freed_slots(settings)
    live = await client.get("/waitlist", headers={"HX-Request": "true"})
    assert live.text.lstrip().startswith('<article id="offers"') and "Offered" in live.text
    assert "Not sent (no consented channel)" in live.text  # Gijs gave no reminder consent


async def test_the_offer_page_takes_the_time_signed_out(client, clinic, cal, settings):
    await _waiting(clinic, cal, "Ada")
    await _freed(clinic, cal)
    await waitlist.offer_freed_slots(settings)
    [(offer_id, token)] = (await _offer_tokens(settings)).items()
    page = await client.get(f"/offer/{token}")
    assert page.status_code == 200 and "Take this time" in page.text
    taken = await post_form(client, f"/offer/{token}/accept")
    assert taken.status_code == 303 and taken.headers["location"] == f"/offer/{token}"
    assert "Booked. A confirmation is on its way by email." in (await client.get(f"/offer/{token}")).text
    again = await post_form(client, f"/offer/{token}/accept")
    assert again.status_code == 409 and "already accepted" in again.text


async def test_a_slot_freed_by_a_move_is_offered_by_the_same_rule(clinic, cal, settings):
    first = await _waiting(clinic, cal, "Ada")
    second = await _waiting(clinic, cal, "Bram", part_of_day="afternoon")  # 10:00 is not afternoon
    mover = await factories.make_patient(clinic, given_name="Mover")
    appointment = await factories.book(clinic, cal, mover, _day(3), "10:00")
    await scheduling.move_appointment(clinic, appointment, scheduling.MoveForm(date=_day(5), time="14:00"))
    assert await waitlist.offer_freed_slots(settings) == 1
    assert await waitlist.offer_freed_slots(settings) == 0  # each freed slot once
    [offer] = await WaitlistOffer.select()
    assert offer["patient"] == first and second != first and offer["freed_appointment"] == appointment
    old_start = clock.local(offer["starts_at"], clinic.time_zone)
    assert (old_start.date().isoformat(), f"{old_start:%H:%M}") == (_day(3), "10:00")
    # The one rule decides acceptance too: Ada takes the old time.
    [(offer_id, token)] = (await _offer_tokens(settings)).items()
    await waitlist.accept(await waitlist.open_offer(settings.secret_key, token), settings)
    assert await Appointment.count().where(Appointment.patient == first) == 1


async def test_a_small_shift_frees_nothing_and_a_past_move_is_not_offered(clinic, cal, settings):
    await _waiting(clinic, cal, "Ada")
    mover = await factories.make_patient(clinic, given_name="Mover")
    appointment = await factories.book(clinic, cal, mover, _day(3), "10:00")
    await scheduling.move_appointment(clinic, appointment, scheduling.MoveForm(date=_day(3), time="10:15"))
    assert await waitlist.offer_freed_slots(settings) == 0  # the old start overlaps the new time: not free
    assert await WaitlistOffer.count() == 0


async def test_removing_a_closure_offers_the_reopened_days(client, clinic, cal, settings):
    from portal.calendar import practice_setup
    from portal.tables import Closure

    first = await _waiting(clinic, cal, "Ada")
    closure = await practice_setup.add_closure(clinic, _day(3), _day(4), "Renovation")
    assert await waitlist.offer_freed_slots(settings) == 0
    await sign_in_as(client, clinic)
    page = await client.get("/settings")
    assert "Open after all" in page.text
    removed = await post_form(client, "/settings/closures/remove", {"closure_id": str(closure)})
    assert removed.status_code == 303 and not await Closure.exists()
    made = await waitlist.offer_freed_slots(settings)
    offers = await WaitlistOffer.select().order_by(WaitlistOffer.starts_at)
    # the first free starts of the reopened days; one offer per patient and start (two providers are free at 08:00)
    assert 1 <= made == len(offers) <= waitlist.REOPENED_SLOTS and len({o["starts_at"] for o in offers}) == made
    assert {o["patient"] for o in offers} == {first}
    assert all(clock.local(o["starts_at"], clinic.time_zone).date().isoformat() == _day(3) for o in offers)
    assert await waitlist.offer_freed_slots(settings) == 0
    foreign = await post_form(client, "/settings/closures/remove", {"closure_id": str(closure)})
    assert foreign.status_code == 404


async def test_earlier_if_possible_moves_the_appointment_and_one_acceptance_wins(client, clinic, cal, settings):
    ada = await _waiting(clinic, cal, "Ada")  # joined first: offered first
    bo = await factories.make_patient(clinic, given_name="Bo", email="bo@example.org")
    await consents.record_change(clinic, clinic.clinic_id, bo, ConsentChange(ConsentKind.REMINDER_EMAIL, True,
                                                                             "front_desk"))
    later = await factories.book(clinic, cal, bo, _day(6), "10:00")
    await sign_in_as(client, clinic)
    card = await client.get(f"/patients/{bo}/recall", headers={"HX-Request": "true"})
    assert "Earlier if possible" in card.text
    marked = await post_form(client, f"/patients/{bo}/recall/earlier", {"appointment_id": str(later)})
    assert marked.status_code == 303
    again = await post_form(client, f"/patients/{bo}/recall/earlier", {"appointment_id": str(later)})
    assert again.status_code == 422 and "already waits" in again.text
    assert "earlier than" in (await client.get("/waitlist")).text
    # a start after Bo's appointment is no use to Bo: only Ada hears of it
    await _freed(clinic, cal, day=8)
    await waitlist.offer_freed_slots(settings)
    assert [o["patient"] for o in await WaitlistOffer.select()] == [ada]
    await WaitlistOffer.delete().where(WaitlistOffer.patient == ada)
    # an earlier one: both, in the order they joined, and the first acceptance wins
    await _freed(clinic, cal, day=2)
    await waitlist.offer_freed_slots(settings)
    offers = await WaitlistOffer.select().order_by(WaitlistOffer.id)
    assert [o["patient"] for o in offers] == [ada, bo]
    links = await _offer_tokens(settings)
    seen = [await waitlist.open_offer(settings.secret_key, links[o["id"]]) for o in offers]

    async def attempt(one):
        try:
            return await waitlist.accept(one, settings)
        except ValidationFailed:
            return None

    results = await asyncio.gather(*[attempt(one) for one in seen])
    assert len([r for r in results if r]) == 1
    moved = await Appointment.select().where(Appointment.id == later).first()
    if results[1]:  # Bo won: the same appointment now sits at the freed time, and nothing new was booked
        assert results[1] == later and clock.local(moved["starts_at"], clinic.time_zone).date().isoformat() == _day(2)
        assert await Appointment.count().where(Appointment.patient == bo) == 1
    else:  # Ada won: Bo keeps the later time
        assert clock.local(moved["starts_at"], clinic.time_zone).date().isoformat() == _day(6)
    assert sorted(o["status"] for o in await WaitlistOffer.select()) == ["accepted", "taken"]


async def test_accepting_an_earlier_offer_moves_the_appointment(clinic, cal, settings):
    bo = await factories.make_patient(clinic, given_name="Bo", email="bo@example.org")
    await consents.record_change(clinic, clinic.clinic_id, bo, ConsentChange(ConsentKind.REMINDER_EMAIL, True,
                                                                             "front_desk"))
    later = await factories.book(clinic, cal, bo, _day(6), "10:00")
    await waitlist.mark_earlier(clinic, bo, later)
    await _freed(clinic, cal, day=2)
    await waitlist.offer_freed_slots(settings)
    [(offer_id, token)] = (await _offer_tokens(settings)).items()
    assert await waitlist.accept(await waitlist.open_offer(settings.secret_key, token), settings) == later
    moved = await Appointment.select().where(Appointment.id == later).first()
    assert clock.local(moved["starts_at"], clinic.time_zone).date().isoformat() == _day(2)
    assert (await WaitlistEntry.select().where(WaitlistEntry.patient == bo).first())["status"] == "booked"
    # the time Bo left is itself freed for whoever waits next (the move path)
    ada = await _waiting(clinic, cal, "Ada")
    await waitlist.offer_freed_slots(settings)
    assert (await WaitlistOffer.select().where(WaitlistOffer.patient == ada).first()) is not None
