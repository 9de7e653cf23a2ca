"""An address is trusted only after its holder confirmed it (issue 13): every route that can change a patient's or
guardian's email or mobile number leaves the new address unable to sign in to the privacy centre or to receive the
clinic's mail until the link (or code) sent to it is used; the route table says which routes those are."""

import dataclasses
import inspect
import io
import json
import re
import zipfile
from datetime import date, timedelta

import pytest

from portal.permissions import Role
from portal.privacy import request_answers, request_decisions
from portal.tables import ContactChange, Guardian, OutboxMessage, Patient, PrivacyRequest
from tests import factories
from tests.factories import csrf_token, post_form, run_queued_jobs, sign_in_as
from tests.mail_sink import body_text
from tests.privacy_helpers import LINK, request_link, sign_in_patient

INTRUDER = "intruder@evil.test"
ADULT = "1985-04-12"
CHILD = (date.today() - timedelta(days=365 * 9)).isoformat()
CONFIRM = re.compile(r"https?://\S+(/contact/confirm/[\w\-]+)")
REPORT = re.compile(r"https?://\S+(/contact/report/[\w\-]+)")
ADDRESS_FIELDS = {"email", "phone", "phone_mobile"}
STAFF_FORM = {"given_name": "Eva", "family_name": "Jansen", "date_of_birth": ADULT, "gender": "", "national_id": "",
              "phone_mobile": "", "phone_other": "", "address": "", "preferred_language": "en"}

# Routes whose form names an email or phone that is not a patient's or guardian's (staff accounts, sign-in requests).
NOT_PATIENT_ADDRESSES = {
    "/staff": "a staff member's sign-in address (owner only)",
    "/staff/{staff_id:int}": "a staff member's sign-in address (owner only)",
    "/privacy": "asks for a sign-in link; changes nothing",
    "/password/forgot": "asks for a staff password reset; changes nothing",
    "/account/email": "a staff member's own sign-in address, confirmed by its holder (test_staff_email_change.py)",
    "/lab/labs": "a dental lab's order address (owner only)",
    "/lab/labs/{lab_id:int}": "a dental lab's order address (owner only)",
    "/settings/billing/payers": "an insurer's or fund's claims address (owner only)",
    "/settings/billing/payers/{payer_id:int}": "an insurer's or fund's claims address (owner only)",
    "/online-booking/{clinic_id:int}/new": "asks for a booking code; a record is made only when the code sent to "
                                           "the address is typed back (tests/test_booking_codes.py)",
}


async def _staff_form(client, clinic, patient_id):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    response = await post_form(client, f"/patients/{patient_id}", {**STAFF_FORM, "email": INTRUDER})
    assert response.status_code == 303, response.text
    return patient_id, ADULT


async def _new_patient(client, clinic, patient_id):
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    response = await post_form(client, "/patients", {**STAFF_FORM, "family_name": "Nieuw", "email": INTRUDER})
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1]), ADULT


async def _guardian_added(client, clinic, patient_id):
    await Patient.update({Patient.date_of_birth: date.fromisoformat(CHILD)}).where(Patient.id == patient_id)
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, desk)
    response = await post_form(client, f"/patients/{patient_id}/guardians", {"name": "Not a parent",
                                                                            "email": INTRUDER})
    assert response.status_code == 303, response.text
    return patient_id, CHILD


async def _privacy_centre(client, clinic, patient_id, mailbox=None):
    email = (await Patient.select(Patient.email).where(Patient.id == patient_id).first())["email"]
    await sign_in_patient(client, mailbox, email, ADULT)
    response = await post_form(client, "/privacy/me/contact", {"email": INTRUDER, "phone_mobile": "",
                                                                "address": "", "preferred_language": "en"})
    assert response.status_code == 303, response.text
    await post_form(client, "/privacy/signout")
    return patient_id, ADULT


async def _correction(client, clinic, patient_id, mailbox=None):
    email = (await Patient.select(Patient.email).where(Patient.id == patient_id).first())["email"]
    await sign_in_patient(client, mailbox, email, ADULT)
    filed = await post_form(client, "/privacy/me/correction", {"target": "contact.email", "proposed": INTRUDER})
    assert filed.status_code == 303, filed.text
    await post_form(client, "/privacy/signout")
    request_id = (await PrivacyRequest.select(PrivacyRequest.id).first())["id"]
    await request_decisions.decide(clinic, request_id, request_decisions.DecisionForm(decision="approved"))
    return patient_id, ADULT


async def _lead_converted(client, clinic, patient_id):
    lead_id = await factories.make_lead(clinic)
    await sign_in_as(client, clinic)
    response = await post_form(client, f"/leads/{lead_id}/convert", {**STAFF_FORM, "family_name": "Lead",
                                                                     "email": INTRUDER})
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1]), ADULT


async def _kiosk(client, clinic, patient_id):
    await Patient.update({Patient.family_name: "Kiosk"}).where(Patient.id == patient_id)
    await factories.book_today(clinic, await factories.make_calendar(clinic), patient_id, "17:00")
    await sign_in_as(client, clinic)
    assert (await post_form(client, "/kiosk/start")).status_code == 303
    assert (await post_form(client, "/kiosk/find", {"family_name": "Kiosk", "date_of_birth": ADULT})).status_code == 303
    response = await post_form(client, "/kiosk/contact", {"email": INTRUDER, "phone": "", "postal": ""})
    assert response.status_code == 303, response.text
    return patient_id, ADULT


# Every route that can change a patient's or guardian's address, with how a request there sets INTRUDER.
ADDRESS_ROUTES = {
    ("POST", "/patients/{patient_id:int}"): _staff_form,
    ("POST", "/patients"): _new_patient,
    ("POST", "/patients/{patient_id:int}/guardians"): _guardian_added,
    ("POST", "/privacy/me/contact"): _privacy_centre,
    ("POST", "/privacy/me/correction"): _correction,
    ("POST", "/leads/{lead_id:int}/convert"): _lead_converted,
    ("POST", "/kiosk/contact"): _kiosk,
}


def _address_forms(app) -> set[str]:
    """POST routes whose handler reads a form with an email or phone field (found in the handler's source)."""
    found = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if "POST" not in handler.http_methods:
                continue
            for name in re.findall(r"read_form\(request, ([\w.]+)\)", inspect.getsource(handler.fn)):
                form = eval(name, handler.fn.__globals__)  # noqa: S307  (a dotted name from our own source)
                if {f.name for f in dataclasses.fields(form)} & ADDRESS_FIELDS:
                    found.add(route.path)
    return found


def test_every_route_with_an_address_field_is_checked_here(app):
    unchecked = _address_forms(app) - {path for _, path in ADDRESS_ROUTES} - set(NOT_PATIENT_ADDRESSES)
    assert unchecked == set()
    assert {path for _, path in ADDRESS_ROUTES} <= {route.path for route in app.routes}


async def _links_mailed_to(mailbox, address: str) -> list[str]:
    await run_queued_jobs()
    return [body_text(m) for m in mailbox.to(address) if LINK.search(body_text(m))]


@pytest.mark.parametrize("route", list(ADDRESS_ROUTES), ids=lambda r: r[1])
async def test_a_new_address_signs_in_and_gets_mail_only_after_its_holder_confirmed_it(route, client, clinic,
                                                                                        mailbox):
    patient_id = await factories.make_patient(clinic, email="eva@example.org", date_of_birth=ADULT)
    change = ADDRESS_ROUTES[route]
    takes_mailbox = "mailbox" in inspect.signature(change).parameters
    patient_id, born = await (change(client, clinic, patient_id, mailbox) if takes_mailbox
                              else change(client, clinic, patient_id))
    client.cookies.clear()
    mailbox.clear()
    # Not trusted yet: no column holds it, no sign-in link goes there, the clinic writes only to confirmed ones.
    assert not await Patient.exists().where(Patient.email == INTRUDER)
    assert not await Guardian.exists().where(Guardian.email == INTRUDER)
    assert INTRUDER not in await request_answers.addresses(patient_id)
    assert (await request_link(client, INTRUDER, born)).status_code == 200
    assert await _links_mailed_to(mailbox, INTRUDER) == []
    queued = await OutboxMessage.select(OutboxMessage.idempotency_key).where(OutboxMessage.recipient == INTRUDER)
    assert queued and all(row["idempotency_key"].startswith("contact-confirm:") for row in queued)
    # Its holder confirms with the mailed link: from then on it signs in (the same test, so it can fail).
    confirm = CONFIRM.search(body_text(mailbox.to(INTRUDER)[-1])).group(1)
    assert (await client.get(confirm)).status_code == 200
    assert (await client.post(confirm, data={"_csrf_token": await csrf_token(client)})).status_code == 200
    assert (await request_link(client, INTRUDER, born)).status_code == 200
    assert len(await _links_mailed_to(mailbox, INTRUDER)) == 1


async def test_the_receptionist_attack_no_longer_hands_over_the_clinical_record(client, other_client, clinic,
                                                                               mailbox):
    """Four requests used to do it: change the email, ask for a link, use it, download everything."""
    dentist = await factories.make_staff(clinic, Role.DENTIST)
    patient_id = await factories.make_patient(clinic, email="eva@example.org", date_of_birth=ADULT)
    await factories.make_chart_records(clinic, dentist, patient_id)
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(other_client, desk)
    # 1. the receptionist puts their own address on the record
    changed = await post_form(other_client, f"/patients/{patient_id}", {**STAFF_FORM, "email": INTRUDER})
    assert changed.status_code == 303
    # 2. asks the privacy centre for a link with it: none comes
    assert (await request_link(client, INTRUDER, ADULT)).status_code == 200
    assert await _links_mailed_to(mailbox, INTRUDER) == []
    # The real patient is told at the address they confirmed, with a way to report it.
    notice = body_text(mailbox.to("eva@example.org")[-1])
    assert "i•••@evil.test" in notice and REPORT.search(notice)
    # 3. the receptionist "confirms in person" (their best move) and 4. signs in: no clinical record for 7 days
    change_id = (await ContactChange.select(ContactChange.id).where(ContactChange.address == INTRUDER).first())["id"]
    confirmed = await post_form(other_client, f"/patients/{patient_id}/contacts/{change_id}/in-person",
                                {"identity_check": "passport"})
    assert confirmed.status_code == 303
    await sign_in_patient(client, mailbox, INTRUDER, ADULT)
    me = await client.get("/privacy/me")
    assert me.status_code == 200 and 'id="cooling-off"' in me.text
    assert "latex" not in me.text and "Seen for check-up" not in me.text and 'id="clinical_notes"' not in me.text
    started = await post_form(client, "/privacy/me/export")
    await run_queued_jobs()
    archive = await client.get(started.headers["location"] + "/download")
    assert archive.status_code == 200
    document = zipfile.ZipFile(io.BytesIO(archive.content)).read("export.json").decode()
    notes = json.loads(document)["categories"]["clinical_notes"]
    assert notes["records"] == [] and notes["withheld_until"]
    assert "Seen for check-up" not in document and "latex" not in document
    # The patient reports it (from their own browser): the change is undone and the intruder's session ends.
    intruder_session = client.cookies.get("patient_session")
    client.cookies.clear()
    report = REPORT.search(notice).group(1)
    assert (await client.get(report)).status_code == 200
    reported = await client.post(report, data={"_csrf_token": await csrf_token(client)})
    assert reported.status_code == 200 and "undone" in reported.text
    assert (await Patient.select(Patient.email).where(Patient.id == patient_id).first())["email"] == "eva@example.org"
    client.cookies.set("patient_session", intruder_session)
    assert (await client.get("/privacy/me")).status_code == 303
