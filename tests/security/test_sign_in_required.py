"""Every page but the public ones sends an anonymous visitor to sign in (built from the route table)."""

from tests.security.routes import PATIENT_PUBLIC, WEBHOOKS, fill, is_patient_route, routes

# The iCal feed is public by design: its secret token is the key (tested in test_ical.py).
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


async def test_every_private_page_redirects_to_sign_in(app, client):
    checked = 0
    for method, path, params in routes(app):
        if method != "GET" or path in PUBLIC or is_patient_route(path):
            continue
        url = fill(path, {name: 1 for name in params})
        response = await client.get(url)
        assert response.status_code == 303, f"{url} answered {response.status_code} without a session"
        assert response.headers["location"].startswith("/login?next=")
        checked += 1
    assert checked >= 10


async def test_every_patient_page_needs_a_patient_session(app, client):
    """Privacy-centre pages send a visitor without a patient session to the patient sign-in, not staff's."""
    checked = 0
    for method, path, params in routes(app):
        if method != "GET" or not is_patient_route(path) or path in PATIENT_PUBLIC:
            continue
        response = await client.get(fill(path, {name: 1 for name in params}))
        assert response.status_code == 303, f"{path} answered {response.status_code} without a patient session"
        assert response.headers["location"] == "/privacy"
        checked += 1
    assert checked >= 8
