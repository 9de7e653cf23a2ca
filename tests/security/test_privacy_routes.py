"""Patient routes (from the route table): another patient's ids are 404, staff sessions are refused, and
unsafe patient routes need the CSRF token."""

from portal.privacy import export
from portal.tables import DataExport, Invoice, Patient, PrivacyRequest
from tests import factories
from tests.factories import csrf_token, post_form, sign_in_as
from tests.privacy_helpers import sign_in_patient
from tests.security.routes import PATIENT_PUBLIC, fill, is_patient_route, routes


async def _patient_with_records(client, clinic, mailbox, email: str) -> dict:
    await factories.make_patient(clinic, given_name="Foreign", email=email, date_of_birth="1975-05-05")
    await sign_in_patient(client, mailbox, email, "1975-05-05")
    await post_form(client, "/privacy/me/questions", {"question": "Foreign question"})
    await post_form(client, "/privacy/me/export")
    patient_id = (await Patient.select(Patient.id).where(Patient.given_name == "Foreign").first())["id"]
    invoice_id = await factories.make_invoice(clinic, patient_id)
    account_id = (await Invoice.select(Invoice.account).where(Invoice.id == invoice_id).first())["account"]
    return {"invoice_id": invoice_id, "account_id": account_id,
            "request_id": (await PrivacyRequest.select(PrivacyRequest.id).first())["id"],
            "export_id": (await DataExport.select(DataExport.id).first())["id"],
            "kind": "reminder_email", "token": "x"}


async def test_every_patient_id_route_hides_another_patients_records(app, client, other_client, clinic, other_clinic,
                                                                     mailbox):
    foreign = await _patient_with_records(other_client, clinic, mailbox, "foreign@example.org")
    await export.build_export(foreign["export_id"])
    await factories.make_patient(other_clinic, given_name="Mine", email="mine@example.org", date_of_birth="1990-01-01")
    await sign_in_patient(client, mailbox, "mine@example.org", "1990-01-01")
    token = await csrf_token(client)
    checked = 0
    for method, path, params in routes(app):
        if not is_patient_route(path) or not ({"request_id", "export_id", "invoice_id", "account_id"} & set(params)):
            continue
        response = await client.request(method, fill(path, foreign),
                                        data={"_csrf_token": token} if method != "GET" else None)
        assert response.status_code == 404, f"{method} {path} answered {response.status_code}"
        assert "Foreign" not in response.text
        checked += 1
    assert checked >= 5


async def test_every_patient_page_refuses_a_staff_session(app, client, clinic):
    await sign_in_as(client, clinic)
    for method, path, params in routes(app):
        if method != "GET" or not is_patient_route(path) or path in {"/privacy/schema", "/privacy/schema/about",
                                                                          "/privacy/notice/{clinic_id:int}"}:
            continue
        response = await client.get(fill(path, {name: 1 for name in params}))
        assert response.status_code == 403, f"{path} answered {response.status_code} to a staff session"
        assert "signed in as staff" in response.text


async def test_patient_public_pages_are_listed(app):
    paths = {path for _, path, _ in routes(app) if is_patient_route(path)}
    assert PATIENT_PUBLIC <= paths
