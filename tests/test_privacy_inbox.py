"""The staff inbox: legal clocks, one extension with its reason mailed, assignment, requests filed on a
patient's behalf, the dashboard's overdue and due-this-week counts."""

from datetime import datetime, timedelta, timezone

from portal import dashboard
from portal.permissions import Role
from portal.privacy import requests
from portal.privacy.deadlines import extended_due
from portal.tables import AuditEntry, PrivacyRequest
from tests import factories
from tests.factories import post_form, sign_in_as
from tests.mail_sink import body_text
from tests.privacy_helpers import wait_for_mail


async def _filed(owner, patient_id: int, kind: str = "access") -> int:
    return await requests.file_on_behalf(owner, patient_id, requests.OnBehalfForm(
        kind=kind, channel="phone", identity_check="Called back on the number on file", details="A copy please"))


async def test_staff_file_a_request_on_a_patients_behalf(client, clinic):
    patient_id = await factories.make_patient(clinic, given_name="Phoebe")
    await sign_in_as(client, clinic)
    form = await client.get(f"/privacy-requests/new/{patient_id}")
    assert form.status_code == 200 and "Phoebe" in form.text
    bad = await post_form(client, f"/privacy-requests/new/{patient_id}", {"kind": "access", "channel": "phone"})
    assert bad.status_code == 422 and 'id="e-identity_check"' in bad.text
    ok = await post_form(client, f"/privacy-requests/new/{patient_id}", {
        "kind": "access", "channel": "letter", "identity_check": "ID copy enclosed", "details": "Send my file"})
    assert ok.status_code == 303
    row = await PrivacyRequest.select().first()
    assert (row["channel"], row["filed_by_kind"], row["identity_check"]) == ("letter", "staff", "ID copy enclosed")
    inbox = await client.get("/privacy-requests")
    assert "Phoebe" in inbox.text and "ID copy enclosed" in inbox.text


async def test_extension_is_allowed_once_and_its_reason_is_mailed(client, clinic, mailbox):
    patient_id = await factories.make_patient(clinic, email="ext@example.org")
    request_id = await _filed(clinic, patient_id)
    received = (await PrivacyRequest.select(PrivacyRequest.received_at).first())["received_at"]
    await sign_in_as(client, clinic)
    no_reason = await post_form(client, f"/privacy-requests/{request_id}/extend", {"months": "2", "reason": ""})
    assert no_reason.status_code == 422
    too_long = await post_form(client, f"/privacy-requests/{request_id}/extend", {"months": "3", "reason": "x"})
    assert too_long.status_code == 422
    ok = await post_form(client, f"/privacy-requests/{request_id}/extend",
                         {"months": "2", "reason": "Twenty years of X-rays to gather"})
    assert ok.status_code == 303
    after = (await PrivacyRequest.select(PrivacyRequest.due_at).first())["due_at"]
    assert after == extended_due(received, 2, clinic.time_zone)  # three months from receipt in all
    mail = await wait_for_mail(mailbox, "ext@example.org")
    assert "Twenty years of X-rays" in body_text(mail[0])
    again = await post_form(client, f"/privacy-requests/{request_id}/extend", {"months": "1", "reason": "More"})
    assert again.status_code == 422 and "cannot be extended" in again.text
    assert (await PrivacyRequest.select(PrivacyRequest.due_at).first())["due_at"] == after


async def test_assigning_starts_the_work_and_is_audited(client, clinic):
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST, name="Rita")
    request_id = await _filed(clinic, await factories.make_patient(clinic))
    await sign_in_as(client, receptionist)
    response = await post_form(client, f"/privacy-requests/{request_id}/assign", {"assignee": str(receptionist.id)})
    assert response.status_code == 303
    row = await PrivacyRequest.select().first()
    assert row["assignee"] == receptionist.id and row["status"] == "in_progress"
    assert await AuditEntry.exists().where(AuditEntry.action == "privacy.request_assigned")
    assert "Rita" in (await client.get("/privacy-requests")).text


async def test_dentists_have_no_privacy_inbox(client, clinic):
    await sign_in_as(client, await factories.make_staff(clinic, Role.DENTIST))
    assert (await client.get("/privacy-requests")).status_code == 403


async def test_dashboard_counts_overdue_and_due_this_week(client, clinic):
    patient_id = await factories.make_patient(clinic)
    overdue, soon, later = [await _filed(clinic, patient_id) for _ in range(3)]
    now = datetime.now(timezone.utc)
    await PrivacyRequest.update({PrivacyRequest.due_at: now - timedelta(days=1)}).where(PrivacyRequest.id == overdue)
    await PrivacyRequest.update({PrivacyRequest.due_at: now + timedelta(days=3)}).where(PrivacyRequest.id == soon)
    overview = await dashboard.clinic_figures(clinic)
    assert (overview["privacy"]["overdue"], overview["privacy"]["this_week"]) == (1, 1)
    await sign_in_as(client, clinic)
    page = await client.get("/dashboard/figures")
    assert 'id="privacy-clocks"' in page.text
    inbox = await client.get("/privacy-requests")
    assert "overdue" in inbox.text and "this week" in inbox.text
    dentist = await factories.make_staff(clinic, Role.DENTIST)
    assert (await dashboard.clinic_figures(dentist))["privacy"] is None


async def test_a_decision_mail_waits_in_the_outbox_for_the_worker(client, clinic, mailbox):
    """No view talks SMTP: the response commits the mail to the outbox, and only the worker delivers it."""
    from portal.tables import OutboxMessage

    patient_id = await factories.make_patient(clinic, email="queued@example.org")
    request_id = await _filed(clinic, patient_id)
    await sign_in_as(client, clinic)
    ok = await post_form(client, f"/privacy-requests/{request_id}/extend",
                         {"months": "1", "reason": "Archive in storage"})
    assert ok.status_code == 303
    [row] = await OutboxMessage.select(OutboxMessage.status).where(OutboxMessage.recipient == "queued@example.org")
    assert row["status"] == "queued" and not mailbox.to("queued@example.org")
    mail = await wait_for_mail(mailbox, "queued@example.org")
    assert "Archive in storage" in body_text(mail[0])
    assert (await OutboxMessage.select(OutboxMessage.status).first())["status"] == "sent"


def test_no_view_or_privacy_module_delivers_mail():
    """Delivery (`deliver_due`, SMTP) belongs to the worker's job alone."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "portal"
    offenders = [str(p.relative_to(root)) for folder in ("views", "privacy") for p in (root / folder).glob("*.py")
                 if any(word in p.read_text() for word in ("deliver_due", "aiosmtplib", "send_now", "send_soon"))]
    assert offenders == []
