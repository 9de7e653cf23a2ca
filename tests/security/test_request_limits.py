"""Every request has a price limit: body bytes and form fields are capped per route (built from the route table)
before anything parses the body; sign-in-free routes get the strictest caps; uploads keep their own limit."""

import time

from portal import request_limits
from portal.request_limits import PUBLIC, SIGNED_IN, limits_for
from portal.tables import AuditEntry, ClinicalNote, Patient
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.security.routes import UNSAFE, fill

MILLION_FIELDS = b"&".join(b"f%d=" % i for i in range(1_000_000))  # ~8.9 MB: 8.7 s of parsing here before the cap


def _handlers(app):
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods & UNSAFE:
                yield method, route.path, handler


def _ids():
    return {"patient_id": 1, "guardian_id": 1, "staff_id": 1, "appointment_id": 1, "chair_id": 1, "tooth": 36,
            "alert_id": 1, "plan_id": 1, "item_id": 1, "note_id": 1,
            "exam_id": 1, "code_id": 1, "version": 1, "kind": 1,
            "request_id": 1, "processor_id": 1, "export_id": 1, "job_id": 1, "message_id": 1, "lead_id": 1,
            "token": "t", "feed": "f.ics", "image_id": 1, "attachment_id": 1,
            "recording_id": 1, "lab_id": 1, "case_id": 1, "prescription_id": 1, "referral_id": 1,
            "change_id": 1, "invoice_id": 1, "breach_id": 1, "form_id": 1,
            "clinic_id": 1, "ref": "r", "series_id": 1, "member_id": 1, "payer_id": 1, "claim_id": 1,
            "coverage_id": 1}


# Signed by their provider and carrying files (a forwarded mail's attachments): a larger body, the public field cap.
FILE_CARRYING_WEBHOOKS = {"/webhooks/mail"}
# Uploads besides the image gallery: another clinic's export ZIP (its images included), owner only.
FILE_UPLOADS = {"/patients/import"}


def test_every_unsafe_route_has_caps_and_public_ones_the_strictest(app):
    checked = public = uploads = 0
    for method, path, handler in _handlers(app):
        limits = limits_for(handler)
        if limits is None:  # an upload route: its own request_max_body_size, Litestar's multipart part limit
            assert (path.startswith("/patients/") and "images" in path) or path in FILE_UPLOADS, \
                f"{method} {path} has no cap"
            assert handler.resolve_request_max_body_size() is not None
            uploads += 1
            continue
        assert limits.body_bytes <= 1024 * 1024 or path in FILE_CARRYING_WEBHOOKS, f"{method} {path}: body cap"
        assert limits.fields <= SIGNED_IN.fields
        guards = {getattr(g, "__name__", "") for g in handler.resolve_guards()}
        if not guards & request_limits.SIGNED_IN_GUARDS:
            assert limits.fields <= PUBLIC.fields, f"{method} {path} is open to anyone but has loose caps"
            public += 1
        checked += 1
    assert checked >= 40 and public >= 5 and uploads >= 1


async def test_a_million_field_form_is_refused_in_milliseconds_on_every_route(app, client, clinic):
    await sign_in_as(client, clinic)
    token = await factories.csrf_token(client)
    before = await AuditEntry.count()
    slowest = 0.0
    for method, path, handler in _handlers(app):
        if limits_for(handler) is None:
            continue
        started = time.perf_counter()
        response = await client.request(method, fill(path, _ids()), content=MILLION_FIELDS + b"&_csrf_token=" +
                                        token.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"})
        slowest = max(slowest, time.perf_counter() - started)
        # Too large (413), or for a route whose byte cap holds 9.6 MB, too many fields (400): never parsed.
        expected = 400 if limits_for(handler).body_bytes > len(MILLION_FIELDS) else 413
        assert response.status_code == expected, f"{method} {path} answered {response.status_code}"
    assert slowest < 0.5, f"the slowest refusal took {slowest:.3f} s"
    assert await AuditEntry.count() == before


async def test_many_fields_in_a_small_body_are_refused_before_parsing(client, clinic):
    """Under the byte cap but over the field cap: 400, for signed-in pages and (stricter) for public ones."""
    await sign_in_as(client, clinic)
    token = await factories.csrf_token(client)
    many = "&".join(f"f{i}=" for i in range(SIGNED_IN.fields + 1)) + f"&_csrf_token={token}&given_name=Bob"
    response = await client.post("/patients", content=many.encode(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    some = "&".join(f"f{i}=" for i in range(PUBLIC.fields + 1)) + f"&_csrf_token={token}"
    response = await client.post("/password/forgot", content=some.encode(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    assert await Patient.count() == 0


async def test_multipart_parts_are_counted_by_their_boundary(client, clinic):
    await sign_in_as(client, clinic)
    token = await factories.csrf_token(client)
    files = {f"f{i}": (None, "x") for i in range(PUBLIC.fields + 5)}
    response = await client.post("/password/forgot", data={"_csrf_token": token}, files=files)
    assert response.status_code == 400
    fine = await client.post("/password/forgot", data={"_csrf_token": token, "email": "x@example.org"},
                             files={"email2": (None, "y")})
    assert fine.status_code == 200


async def test_public_routes_take_a_smaller_body_than_signed_in_ones(client, clinic):
    await sign_in_as(client, clinic)
    body = "x" * (PUBLIC.body_bytes + 1)
    assert (await post_form(client, "/password/forgot", {"email": body})).status_code == 413
    response = await post_form(client, "/patients", {"given_name": "Ann", "family_name": "Lee", "address": body})
    assert response.status_code == 422 and "Use at most 500 characters." in response.text


async def test_a_long_clinical_note_is_kept_whole_not_cut_to_2000_characters(client, clinic):
    """read_form used to cut every field to 2000 characters silently; the note's own rule allows 20,000."""
    patient_id = await factories.make_patient(clinic)
    await sign_in_as(client, clinic)
    body = "Sensitive to cold on 36. " * 200  # 5,000 characters
    response = await post_form(client, f"/patients/{patient_id}/notes", {"template": "exam", "body": body})
    assert response.status_code in (200, 303), response.text[:300]
    assert (await ClinicalNote.select(ClinicalNote.body).first())["body"].strip() == body.strip()


async def test_an_over_long_field_is_refused_beside_the_field(client, clinic):
    await sign_in_as(client, clinic)
    response = await post_form(client, "/patients", {"given_name": "A" * 2500, "family_name": "Lee"})
    assert response.status_code == 422 and "Use at most 120 characters." in response.text
    assert "A" * 2500 in response.text  # what was typed comes back whole
    assert await Patient.count() == 0
