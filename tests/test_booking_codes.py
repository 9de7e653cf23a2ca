"""Online booking without a link: one-time codes for existing and new patients, the same answer for strangers, the
desk's review of new records, and the rate limits on every public booking step."""

import re
from datetime import timedelta

import pytest

from portal import clock
from portal.errors import Throttled, ValidationFailed
from portal.recall import booking, booking_codes, booking_limits
from portal.tables import BookingCode, ContactChange, LoginAttempt, OnlinePatient, OutboxMessage, Patient
from tests import factories
from tests.factories import post_form, sign_in_as


async def _enable(clinic, cal):
    await booking.save_settings(clinic, booking.SettingsForm(enabled=True, appointment_types=str(cal["checkup"]),
                                                             lead_hours="0"))


async def _send_all(settings) -> list[bool]:
    """What the worker does for every waiting request."""
    return [await booking_codes.send_code(settings, row["id"]) for row in await BookingCode.select().order_by(
        BookingCode.id)]


async def _code_sent_to(address: str) -> str:
    row = await OutboxMessage.select().where(OutboxMessage.recipient == address).first()
    return re.search(r"\b(\d{6})\b", row["text_body"]).group(1)


def _ref(response) -> str:
    return response.headers["location"].rsplit("/", 1)[1]


async def test_an_existing_patient_books_by_code_and_a_stranger_hears_the_same(client, clinic, cal, settings):
    await _enable(clinic, cal)
    patient = await factories.make_patient(clinic, given_name="Elif", email="elif@example.org",
                                           date_of_birth="1990-02-03")
    start = await client.get(f"/online-booking/{clinic.clinic_id}")
    assert start.status_code == 200 and "Send me a code" in start.text
    known = await post_form(client, f"/online-booking/{clinic.clinic_id}",
                            {"contact": "Elif@Example.org", "date_of_birth": "1990-02-03"})
    stranger = await post_form(client, f"/online-booking/{clinic.clinic_id}",
                               {"contact": "nobody@example.org", "date_of_birth": "1990-02-03"})
    wrong_birthday = await post_form(client, f"/online-booking/{clinic.clinic_id}",
                                     {"contact": "elif@example.org", "date_of_birth": "1990-02-04"})
    pages = []
    for response in (known, stranger, wrong_birthday):
        assert response.status_code == 303 and "/code/" in response.headers["location"]
        page = await client.get(response.headers["location"])
        # the same page but for the reference in its address and the per-response CSRF mask and nonce
        pages.append(re.sub(r'[0-9a-f]{40,}|nonce="[^"]+"', "X", page.text.replace(_ref(response), "REF")))
    assert pages[0] == pages[1] == pages[2] and "If your details match our records" in pages[0]
    assert await _send_all(settings) == [True, False, False]  # only the worker knows who matched
    assert await OutboxMessage.count().where(OutboxMessage.idempotency_key.like("booking-code:%")) == 1
    code = await _code_sent_to("elif@example.org")
    stored = await BookingCode.select().where(BookingCode.patient == patient).first()
    assert stored["code_hash"] and code not in stored["code_hash"]  # kept only as an HMAC
    path = f"/online-booking/{clinic.clinic_id}/code/{_ref(known)}"
    refused = await post_form(client, path, {"code": "000000" if code != "000000" else "111111"})
    assert refused.status_code == 422 and "That code is not right" in refused.text
    for guess in ("123456", code):  # a stranger's page takes no code at all, the right one for someone else neither
        nothing = await post_form(client, f"/online-booking/{clinic.clinic_id}/code/{_ref(stranger)}", {"code": guess})
        assert nothing.status_code == 422 and "That code is not right" in nothing.text
    opened = await post_form(client, path, {"code": code})
    assert opened.status_code == 303 and opened.headers["location"].startswith("/book/")
    booking_page = await client.get(opened.headers["location"])
    assert booking_page.status_code == 200 and "Hello Elif" in booking_page.text
    again = await post_form(client, path, {"code": code})
    assert again.status_code == 422  # once only


async def test_a_code_lapses_and_allows_five_tries(clinic, cal, settings):
    await _enable(clinic, cal)
    await factories.make_patient(clinic, email="kai@example.org", date_of_birth="1980-01-01")
    place = await booking_codes.open_clinic(clinic.clinic_id)
    ref = await booking_codes.request_known(place, booking_codes.KnownForm("kai@example.org", "1980-01-01"),
                                            "10.0.0.1", settings)
    await _send_all(settings)
    code = await _code_sent_to("kai@example.org")
    for _ in range(booking_codes.CODE_ATTEMPTS):
        with pytest.raises(ValidationFailed):
            await booking_codes.redeem(place, ref, booking_codes.CodeForm("99999" + str((int(code[-1]) + 1) % 10)),
                                       "10.0.0.1", settings)
    with pytest.raises(ValidationFailed):  # the right code after five wrong ones: void
        await booking_codes.redeem(place, ref, booking_codes.CodeForm(code), "10.0.0.1", settings)
    late = await booking_codes.request_known(place, booking_codes.KnownForm("kai@example.org", "1980-01-01"),
                                             "10.0.0.1", settings)
    await _send_all(settings)
    [row] = await BookingCode.select().where(BookingCode.attempts == 0)
    fresh = re.findall(r"\b(\d{6})\b", (await OutboxMessage.select().where(
        OutboxMessage.idempotency_key == f"booking-code:{row['id']}").first())["text_body"])[0]
    await BookingCode.update({BookingCode.expires_at: clock.now() - timedelta(seconds=1)}).where(
        BookingCode.id == row["id"])
    with pytest.raises(ValidationFailed):
        await booking_codes.redeem(place, late, booking_codes.CodeForm(fresh), "10.0.0.1", settings)


async def test_a_new_patient_confirms_by_code_and_waits_for_the_desks_review(client, clinic, cal, settings):
    await _enable(clinic, cal)
    url = f"/online-booking/{clinic.clinic_id}/new"
    assert (await client.get(url)).status_code == 200
    refused = await post_form(client, url, {"given_name": "Noor", "family_name": "", "email": "noor@example",
                                            "date_of_birth": "1992-05-06"})
    assert refused.status_code == 422 and 'id="e-family_name"' in refused.text and 'id="e-email"' in refused.text
    assert 'value="Noor"' in refused.text and await BookingCode.count() == 0
    asked = await post_form(client, url, {"given_name": "Noor", "family_name": "Bakker", "email": "noor@example.org",
                                          "phone_mobile": "06 1234 5699", "date_of_birth": "1992-05-06",
                                          "preferred_language": "nl"})
    assert asked.status_code == 303
    assert "sent a six-digit code to the email address you gave" in (await client.get(asked.headers["location"])).text
    assert await Patient.count() == 0  # nobody is made before the address is proven
    await _send_all(settings)
    code = await _code_sent_to("noor@example.org")
    opened = await post_form(client, asked.headers["location"], {"code": code})
    assert opened.status_code == 303 and "Hello Noor" in (await client.get(opened.headers["location"])).text
    patient = await Patient.select().where(Patient.family_name == "Bakker").first()
    assert patient["email"] == "noor@example.org"  # proven by the code
    assert patient["phone_mobile"] == "" and await ContactChange.count().where(
        (ContactChange.channel == "phone") & (ContactChange.status == "pending")) == 1  # waits for its holder
    assert patient["preferred_language"] == "nl"
    await sign_in_as(client, clinic)
    recall = await client.get("/recall")
    assert "Booked online" in recall.text and 'class="badge">1<' in recall.text
    review = await client.get("/recall/online-patients")
    assert review.status_code == 200 and "Noor" in review.text and "noor@example.org" in review.text
    card = await client.get(f"/patients/{patient['id']}/recall", headers={"HX-Request": "true"})
    assert "waits for the front desk" in card.text
    done = await post_form(client, "/recall/online-patients/reviewed", {"patient_id": str(patient["id"])})
    assert done.status_code == 303
    assert "Noor" not in (await client.get("/recall/online-patients")).text
    assert (await OnlinePatient.select().first())["reviewed_by_name"] == clinic.name


async def test_the_new_form_with_a_patients_own_address_and_birthday_finds_that_patient(clinic, cal, settings):
    await _enable(clinic, cal)
    existing = await factories.make_patient(clinic, email="ria@example.org", date_of_birth="1970-07-07")
    place = await booking_codes.open_clinic(clinic.clinic_id)
    ref = await booking_codes.request_new(place, booking_codes.NewForm("Ria", "Other", "ria@example.org", "",
                                                                        "1970-07-07"), "10.0.0.2", settings)
    await _send_all(settings)
    patient = await booking_codes.redeem(place, ref, booking_codes.CodeForm(await _code_sent_to("ria@example.org")),
                                         "10.0.0.2", settings)
    assert patient == existing and await Patient.count() == 1 and await OnlinePatient.count() == 0


async def test_a_clinic_without_online_booking_has_no_public_page(client, clinic, cal):
    assert (await client.get(f"/online-booking/{clinic.clinic_id}")).status_code == 404
    assert (await post_form(client, f"/online-booking/{clinic.clinic_id}",
                            {"contact": "a@example.org", "date_of_birth": "1990-01-01"})).status_code == 404


async def test_code_requests_are_limited_per_address_and_per_client(client, clinic, cal, settings):
    await _enable(clinic, cal)
    url = f"/online-booking/{clinic.clinic_id}"
    for _ in range(settings.login_account_limit):
        assert (await post_form(client, url, {"contact": "same@example.org",
                                              "date_of_birth": "1990-01-01"})).status_code == 303
    refused = await post_form(client, url, {"contact": "same@example.org", "date_of_birth": "1990-01-01"})
    assert refused.status_code == 429 and "Too many tries" in refused.text and "Please wait" in refused.text
    assert await BookingCode.count() == settings.login_account_limit  # nothing stored, nothing sent
    for n in range(settings.login_ip_limit - settings.login_account_limit):
        assert (await post_form(client, url, {"contact": f"other{n}@example.org",
                                              "date_of_birth": "1990-01-01"})).status_code == 303
    fresh_address = await post_form(client, url, {"contact": "fresh@example.org", "date_of_birth": "1990-01-01"})
    assert fresh_address.status_code == 429  # the client has asked too often, whatever address it types
    place = await booking_codes.open_clinic(clinic.clinic_id)
    assert await booking_codes.request_known(place, booking_codes.KnownForm("fresh@example.org", "1990-01-01"),
                                             "10.9.9.9", settings)  # another client is not held up


async def test_code_entry_and_every_step_behind_a_link_are_limited(client, clinic, cal, settings):
    await _enable(clinic, cal)
    place = await booking_codes.open_clinic(clinic.clinic_id)
    for _ in range(booking_limits.CODE_ENTRY.per_address * settings.login_account_limit):  # per code page
        with pytest.raises(ValidationFailed):
            await booking_codes.redeem(place, "unknown-ref", booking_codes.CodeForm("123456"), "10.1.1.1", settings)
    with pytest.raises(Throttled):
        await booking_codes.redeem(place, "unknown-ref", booking_codes.CodeForm("123456"), "10.1.1.1", settings)
    patient = await factories.make_patient(clinic)
    token = booking.recall_link(settings, clinic.clinic_id, patient).rsplit("/", 1)[1]
    limit = booking_limits.LINK_STEP.per_address * settings.login_account_limit
    for _ in range(limit):
        await booking_limits.count(booking_limits.LINK_STEP, settings, "10.2.2.2", "link:" + token)
    held = await post_form(client, f"/book/{token}/hold", {"type": str(cal["checkup"]), "slot": "x"})
    assert held.status_code == 429 and "Too many tries" in held.text
    assert await LoginAttempt.count().where(LoginAttempt.email == f"booking-link:link:{token}") == limit
