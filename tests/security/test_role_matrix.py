"""Every role against every page (from the route table): 200 where the permission table allows, else 403."""

from datetime import date, timedelta

import pytest

from portal.permissions import ROLE_PERMISSIONS, Role
from tests import factories, image_samples
from tests.factories import sign_in_as
from tests.security.role_expectations import REQUIRED
from tests.security.routes import WEBHOOKS, fill, is_patient_route, routes

PUBLIC = {"/healthz", "/.well-known/gpc.json", "/cookies", "/login", "/ical/{feed:str}"}
# Unsubscribe links and the WhatsApp webhook authenticate themselves (signed token, HMAC signature):
# tests/test_marketing.py and tests/test_whatsapp.py check that.
PUBLIC |= {"/unsubscribe/{token:str}"} | WEBHOOKS
# Password links: the single-use token is the key (tests/test_staff_tokens.py).
PUBLIC |= {"/password/forgot", "/password/{token:str}"}
PUBLIC |= {"/contact/confirm/{token:str}", "/contact/report/{token:str}"}  # the token is the key
PUBLIC |= {"/login/code"}  # the second sign-in step: only a pending sign-in gets past it
# Online booking: the signed link is the key (tests/test_online_booking.py, tests/test_booking_pages.py).
PUBLIC |= {"/book/{token:str}", "/book/{token:str}/confirm", "/my-appointment/{token:str}",
           "/my-appointment/{token:str}/confirm", "/offer/{token:str}"}
PUBLIC |= {"/form/{token:str}", "/kiosk"}  # a form link; the kiosk (tests/test_patient_forms.py, test_kiosk.py)
PUBLIC |= {"/social/deletion/{code:str}"}  # Meta's deletion status page: a person opens it
# The clinic's public booking page and its code step (tests/test_booking_codes.py).
PUBLIC |= {"/online-booking/{clinic_id:int}", "/online-booking/{clinic_id:int}/new",
           "/online-booking/{clinic_id:int}/code/{ref:str}"}
PUBLIC |= {"/lab-download/{token:str}"}  # the lab's signed, expiring link (tests/test_lab_downloads.py)
PUBLIC |= {"/readyz"}  # readiness for load balancers: database up or not, a heartbeat age
PUBLIC |= {"/staff-email/done", "/staff-email/{token:str}"}  # email-change links: the token is the key
PUBLIC |= {"/export-keys/{clinic_id:int}", "/export-keys/{clinic_id:int}/keys.json"}  # tests/test_export_signing


@pytest.mark.parametrize("role", list(Role))
async def test_each_role_reaches_exactly_what_its_permissions_allow(app, client, clinic, role):
    cal = await factories.make_calendar(clinic)
    patient = await factories.make_patient(clinic)
    appointment = await factories.book(clinic, cal, patient, (date.today() + timedelta(days=7)).isoformat(), "10:00")
    request_id = await _privacy_request(clinic, patient)
    ids = {"patient_id": patient, "staff_id": cal["dentist"].id, "appointment_id": appointment,
           **await factories.make_chart_records(clinic, cal["dentist"], patient),
           "image_id": await image_samples.stored(clinic, patient), "request_id": request_id,
           "attachment_id": await factories.make_mail_attachment(clinic, patient),
           "recording_id": await factories.make_call_recording(clinic, patient),
           **await factories.make_lab_records(clinic, cal["dentist"], patient),
           "invoice_id": await factories.make_invoice(clinic, patient),
           "breach_id": await factories.make_breach(clinic),
           "form_id": await factories.make_signed_form(clinic, patient),
           **await factories.make_payer_claim(clinic, cal["dentist"], patient),
           **await factories.make_imported_records(clinic, patient)}
    member = clinic if role == Role.OWNER else await factories.make_staff(clinic, role)
    await sign_in_as(client, member)
    for method, path, params in routes(app):
        if method != "GET" or path in PUBLIC or is_patient_route(path):  # patient pages: test_privacy_routes
            continue
        assert path in REQUIRED, f"add {path} to tests/security/role_expectations.py"
        allowed = REQUIRED[path] in ROLE_PERMISSIONS[role]
        response = await client.get(fill(path, ids))
        assert response.status_code == (200 if allowed else 403), f"{role} GET {path}: {response.status_code}"


async def _privacy_request(owner, patient_id: int) -> int:
    from portal.privacy import requests

    return await requests.file_on_behalf(owner, patient_id, requests.OnBehalfForm(
        kind="access", channel="phone", identity_check="Called back on the number on file", details="A copy"))
