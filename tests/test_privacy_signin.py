"""Patient and guardian sign-in: a single-use 15-minute link, the same answer either way, throttled,
and patient and staff sessions that never mix."""

import re
from datetime import date, datetime, timedelta, timezone

from portal import patients
from portal.tables import Patient, PatientSession, PatientSignInLink
from tests import factories
from tests.factories import csrf_token, sign_in_as
from tests.privacy_helpers import (
    link_path,
    request_link,
    sign_in_patient,
    wait_for_mail,
)


async def test_patient_signs_in_with_the_mailed_link_and_sees_their_data(client, clinic, mailbox):
    patient_id = await factories.make_patient(clinic, given_name="Eva", email="eva@example.org",
                                              date_of_birth="1980-02-03")
    page = await sign_in_patient(client, mailbox, "eva@example.org", "1980-02-03")
    assert page.status_code == 303 and page.headers["location"] == "/privacy/me"
    me = await client.get("/privacy/me")
    assert me.status_code == 200
    for title in ("Identity", "Contact details", "Appointments", "Consents", "Who accessed your record"):
        assert title in me.text
    assert "eva@example.org" in me.text
    session = await PatientSession.select().first()
    assert session["patient_id"] == patient_id and session["guardian_id"] is None


async def test_the_answer_is_the_same_whether_or_not_the_details_match(client, clinic, mailbox):
    await factories.make_patient(clinic, email="known@example.org", date_of_birth="1980-02-03")
    known = await request_link(client, "known@example.org", "1980-02-03")
    wrong_birthday = await request_link(client, "known@example.org", "1981-02-03")
    unknown = await request_link(client, "nobody@example.org", "1980-02-03")
    assert known.status_code == wrong_birthday.status_code == unknown.status_code == 200
    # The same page apart from the address and the CSRF token, masked afresh in every response (portal/views/csrf.py).
    strip = lambda r: re.sub(r"[0-9a-f]{256,}", "TOKEN", r.text.replace(  # noqa: E731
        "known@example.org", "X").replace("nobody@example.org", "X"))
    assert strip(known) == strip(wrong_birthday) == strip(unknown)
    await wait_for_mail(mailbox, "known@example.org")
    assert len(mailbox.to("known@example.org")) == 1 and not mailbox.to("nobody@example.org")
    assert await PatientSignInLink.count() == 1


async def test_a_link_works_once(client, other_client, clinic, mailbox):
    await factories.make_patient(clinic, email="once@example.org", date_of_birth="1980-02-03")
    await sign_in_patient(client, mailbox, "once@example.org", "1980-02-03")
    path = link_path(mailbox.to("once@example.org")[0])
    again = await other_client.post(path, data={"_csrf_token": await csrf_token(other_client)})
    assert again.status_code == 410 and "no longer works" in again.text
    assert "patient_session" not in other_client.cookies
    assert await PatientSession.count() == 1


async def test_an_expired_link_is_refused(client, clinic, mailbox):
    await factories.make_patient(clinic, email="late@example.org", date_of_birth="1980-02-03")
    await request_link(client, "late@example.org", "1980-02-03")
    path = link_path((await wait_for_mail(mailbox, "late@example.org"))[0])
    await PatientSignInLink.update({PatientSignInLink.expires_at: datetime.now(timezone.utc) - timedelta(seconds=1)},
                                   force=True)
    response = await client.post(path, data={"_csrf_token": await csrf_token(client)})
    assert response.status_code == 410
    assert await PatientSession.count() == 0
    assert (await client.get("/privacy/me")).headers["location"] == "/privacy"


async def test_link_requests_are_throttled(client, clinic, mailbox, settings):
    await factories.make_patient(clinic, email="many@example.org", date_of_birth="1980-02-03")
    for _ in range(settings.login_account_limit):
        assert (await request_link(client, "many@example.org", "1980-02-03")).status_code == 200
    response = await request_link(client, "many@example.org", "1980-02-03")
    assert response.status_code == 429 and "Too many requests" in response.text
    await wait_for_mail(mailbox, "many@example.org", settings.login_account_limit)
    assert await PatientSignInLink.count() == settings.login_account_limit


async def test_bad_input_is_shown_beside_the_fields(client):
    response = await request_link(client, "not-an-email", "31-31-2020")
    assert response.status_code == 422
    assert 'id="e-email"' in response.text and 'id="e-date_of_birth"' in response.text


async def test_guardian_signs_in_with_own_email_and_picks_a_child(client, clinic, mailbox):
    young = (date.today() - timedelta(days=365 * 8)).isoformat()
    older = (date.today() - timedelta(days=365 * 12)).isoformat()
    child = await factories.make_patient(clinic, given_name="Tim", email="", date_of_birth=young)
    sibling = await factories.make_patient(clinic, given_name="Lotte", email="", date_of_birth=older)
    for patient_id in (child, sibling):
        await patients.add_guardian(clinic, patient_id,
                                    patients.GuardianForm(name="Mia Parent", email="mia@example.org"))
        await factories.confirm_addresses(clinic, patient_id)
    chooser = await sign_in_patient(client, mailbox, "mia@example.org", young)
    assert chooser.status_code == 200 and "Tim" in chooser.text and "Lotte" in chooser.text
    token = await csrf_token(client)
    chosen = await client.post("/privacy/choose", data={"_csrf_token": token, "patient_id": str(sibling)})
    assert chosen.status_code == 303
    me = await client.get("/privacy/me")
    assert "Lotte" in me.text and "acting as guardian" in me.text


async def test_guardian_of_a_now_adult_patient_is_refused(client, clinic, mailbox):
    child_born = (date.today() - timedelta(days=365 * 10)).isoformat()
    child = await factories.make_patient(clinic, given_name="Sam", email="", date_of_birth=child_born)
    await patients.add_guardian(clinic, child, patients.GuardianForm(name="Dad", email="dad@example.org"))
    await factories.confirm_addresses(clinic, child)
    await sign_in_patient(client, mailbox, "dad@example.org", child_born)
    assert (await client.get("/privacy/me")).status_code == 200
    # Sam comes of age (17 now): the open session and a new choice are both refused.
    await Patient.update({Patient.date_of_birth: date.today() - timedelta(days=365 * 17 + 5)}, force=True)
    me = await client.get("/privacy/me")
    assert me.status_code == 303 and me.headers["location"] == "/privacy/choose"
    refused = await client.post("/privacy/choose", data={"_csrf_token": await csrf_token(client),
                                                         "patient_id": str(child)})
    assert refused.status_code == 403 and "now decides for themselves" in refused.text
    assert (await client.get("/privacy/me")).status_code == 303
    # and no new link is mailed to the guardian for an adult's date of birth
    mailbox.clear()
    await request_link(client, "dad@example.org", (date.today() - timedelta(days=365 * 17 + 5)).isoformat())
    assert await PatientSignInLink.count() == 1


async def test_patient_pages_refuse_a_staff_session(client, clinic):
    await sign_in_as(client, clinic)
    for url in ("/privacy", "/privacy/me", "/privacy/me/consents"):
        response = await client.get(url)
        assert response.status_code == 403, url
        assert "signed in as staff" in response.text


async def test_staff_pages_refuse_a_patient_session(client, clinic, mailbox):
    await factories.make_patient(clinic, email="pat@example.org", date_of_birth="1980-02-03")
    await sign_in_patient(client, mailbox, "pat@example.org", "1980-02-03")
    for url in ("/", "/patients", "/privacy-requests", "/privacy-settings"):
        response = await client.get(url)
        assert response.status_code == 403, url
        assert "signed in as a patient" in response.text


async def test_sign_out_ends_the_patient_session(client, clinic, mailbox):
    await factories.make_patient(clinic, email="bye@example.org", date_of_birth="1980-02-03")
    await sign_in_patient(client, mailbox, "bye@example.org", "1980-02-03")
    response = await client.post("/privacy/signout", data={"_csrf_token": await csrf_token(client)})
    assert response.status_code == 303
    assert await PatientSession.count() == 0
    assert (await client.get("/privacy/me")).status_code == 303


async def test_mailed_links_use_the_public_url_not_the_host_header(app, client, clinic, mailbox, settings):
    import dataclasses

    await factories.make_patient(clinic, email="host@example.org", date_of_birth="1980-02-03")
    app.state.settings = dataclasses.replace(settings, public_url="https://portal.example.nl")
    try:
        await request_link(client, "host@example.org", "1980-02-03")
        from tests.mail_sink import body_text

        body = body_text((await wait_for_mail(mailbox, "host@example.org"))[0])
    finally:
        app.state.settings = settings
    assert "https://portal.example.nl/privacy/link/" in body and "testserver" not in body


async def test_staff_filing_a_restriction_flags_the_record_at_once(clinic):
    from portal.privacy import requests

    patient_id = await factories.make_patient(clinic)
    await requests.file_on_behalf(clinic, patient_id, requests.OnBehalfForm(
        kind="restriction", channel="phone", identity_check="Called back", details="Disputes the address"))
    assert (await Patient.select(Patient.restricted_at).first())["restricted_at"] is not None
