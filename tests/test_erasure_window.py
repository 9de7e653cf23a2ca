"""An approved erasure waits its undo window: the owner sees what it will erase and keep, nothing is destroyed until
the window has passed, and an undo in the meantime leaves the record whole."""

from dataclasses import replace

import httpx
import pytest

from portal.app import create_app
from portal.permissions import Role
from portal.privacy import requests
from portal.tables import AuditEntry, Patient, PrivacyRequest
from tests import factories
from tests.factories import csrf_token, run_queued_jobs, sign_in_as


@pytest.fixture(scope="module")
def window_app(settings):
    return create_app(replace(settings, erasure_undo_minutes=30), manage_pool=False)


@pytest.fixture
async def owner_client(window_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=window_app), base_url="http://testserver") as c:
        yield c


async def _filed(clinic) -> tuple[int, int]:
    desk = await factories.make_staff(clinic, Role.RECEPTIONIST)
    patient_id = await factories.make_patient(clinic, email="gone@example.org")
    request_id = await requests.file_on_behalf(desk, patient_id, requests.OnBehalfForm(
        kind="erasure", channel="front_desk", identity_check="Passport", details="Asked at the desk"))
    return patient_id, request_id


async def _approve(client, request_id: int) -> httpx.Response:
    return await client.post(f"/privacy-requests/{request_id}/decide", data={
        "_csrf_token": await csrf_token(client), "decision": "approved", "identity_check": "Passport seen"})


async def _make_due(request_id: int) -> None:
    await PrivacyRequest.raw("UPDATE privacy_request SET erasure_due_at = now() - interval '1 minute' WHERE id = {}",
                             request_id)
    await PrivacyRequest.raw("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE task_name = 'privacy.erase'")


async def _whole(patient_id: int) -> bool:
    row = await Patient.select(Patient.email, Patient.isolated_at).where(Patient.id == patient_id).first()
    return row["email"] == "gone@example.org" and row["isolated_at"] is None


async def test_the_owner_sees_what_will_be_erased_and_kept_and_nothing_goes_before_the_window(owner_client, clinic):
    patient_id, request_id = await _filed(clinic)
    await sign_in_as(owner_client, clinic)
    page = await owner_client.get(f"/privacy-requests/{request_id}")
    preview = page.text.split('id="erasure-preview"', 1)[1].split("</article>", 1)[0]
    assert "Contact details: 1" in preview and "Identity: 1" in preview and "Medical history: 0" in preview
    assert (await _approve(owner_client, request_id)).status_code == 303
    await run_queued_jobs()  # the erasure job is scheduled for later: the worker leaves it
    assert await _whole(patient_id)
    row = await PrivacyRequest.select().where(PrivacyRequest.id == request_id).first()
    assert row["status"] == "in_progress" and row["erasure_due_at"] is not None
    assert "can be undone" in (await owner_client.get(f"/privacy-requests/{request_id}")).text
    await _make_due(request_id)
    await run_queued_jobs()
    assert not await _whole(patient_id)
    assert (await PrivacyRequest.select(PrivacyRequest.status).first())["status"] == "approved"
    entry = await AuditEntry.select().where(AuditEntry.action == "privacy.request_approved").output(
        load_json=True).first()
    assert entry["detail"]["identity_check"] == "Passport seen" and entry["actor_id"] == clinic.id


async def test_an_undone_erasure_erases_nothing_even_when_its_job_runs(owner_client, clinic):
    patient_id, request_id = await _filed(clinic)
    await sign_in_as(owner_client, clinic)
    assert (await _approve(owner_client, request_id)).status_code == 303
    undone = await owner_client.post(f"/privacy-requests/{request_id}/undo-erasure",
                                     data={"_csrf_token": await csrf_token(owner_client)})
    assert undone.status_code == 303
    again = await owner_client.post(f"/privacy-requests/{request_id}/undo-erasure",
                                    data={"_csrf_token": await csrf_token(owner_client)})
    assert again.status_code == 422 and "no longer waiting" in again.text
    await _make_due(request_id)
    await run_queued_jobs()
    assert await _whole(patient_id)
    assert (await PrivacyRequest.select(PrivacyRequest.status).first())["status"] == "in_progress"
    assert await AuditEntry.exists().where(AuditEntry.action == "privacy.erasure_undone")


async def test_a_refused_approval_schedules_nothing(owner_client, clinic):
    patient_id, request_id = await _filed(clinic)
    await sign_in_as(owner_client, clinic)
    refused = await owner_client.post(f"/privacy-requests/{request_id}/decide", data={
        "_csrf_token": await csrf_token(owner_client), "decision": "approved", "identity_check": "none"})
    assert refused.status_code == 422
    assert (await PrivacyRequest.select(PrivacyRequest.erasure_due_at).first())["erasure_due_at"] is None
