"""What people read: every time in the clinic's zone (Europe/Amsterdam is UTC+1 in winter), enum values by label,
and no template formatting dates or labels by hand."""

import re
from datetime import datetime, timezone
from pathlib import Path

from portal import display
from portal.messaging import mail
from portal.tables import AuditEntry, ConsentEvent, ConversationMessage, PrivacyRequest
from tests import factories
from tests.factories import sign_in_as
from tests.privacy_helpers import sign_in_patient

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# Folders another branch of the same issue converts (appointment statuses, fragments); empty once merged.
CONVERTED_ELSEWHERE: set[str] = set()  # every folder is converted now
WINTER_NOON = datetime(2026, 1, 15, 12, 34, tzinfo=timezone.utc)  # 13:34 in Amsterdam


def test_no_template_formats_times_or_labels_by_hand():
    offenders = [str(path.relative_to(TEMPLATES)) for path in sorted(TEMPLATES.rglob("*"))
                 if path.is_file() and path.relative_to(TEMPLATES).parts[0] not in CONVERTED_ELSEWHERE
                 and re.search(r"strftime|replace\(\s*[\"']_[\"']", path.read_text())]
    assert offenders == []


async def test_a_consent_time_on_the_patients_page_is_clinic_time(client, clinic, mailbox):
    patient_id = await factories.make_patient(clinic, email="eva@example.org", date_of_birth="1980-02-03")
    await ConsentEvent(clinic=clinic.clinic_id, patient=patient_id, kind="reminder_email", granted=True,
                       actor_kind="staff", actor_name="Desk", source="front_desk", at=WINTER_NOON).save()
    await sign_in_patient(client, mailbox, "eva@example.org", "1980-02-03")
    page = await client.get("/privacy/me/consents")
    assert page.status_code == 200
    assert "15 Jan 2026, 13:34" in page.text and "12:34" not in page.text


async def test_a_message_and_an_audit_row_show_in_clinic_time(client, clinic):
    patient_id = await factories.make_patient(clinic)
    await ConversationMessage(clinic=clinic.clinic_id, patient=patient_id, channel="whatsapp", direction="in",
                              phone="+31612345678", body="YES", outcome="no_appointment", at=WINTER_NOON).save()
    await AuditEntry(clinic_id=clinic.clinic_id, actor_kind="staff", actor_name="Someone", patient_id=patient_id,
                     action="patient.viewed", at=WINTER_NOON).save()
    await sign_in_as(client, clinic)
    messages = await client.get(f"/patients/{patient_id}/messages")
    assert messages.status_code == 200
    assert "15 Jan 2026, 13:34" in messages.text and "No appointment to change" in messages.text
    trail = await client.get("/audit")
    assert "15 Jan 2026, 13:34:00" in trail.text


async def test_a_privacy_request_shows_received_in_clinic_time_and_channel_by_label(client, clinic):
    patient_id = await factories.make_patient(clinic)
    row = PrivacyRequest(clinic=clinic.clinic_id, patient_id=patient_id, kind="access", status="received",
                         channel="front_desk", filed_by_kind="staff", filed_by_name="Desk", identity_check="ID card",
                         details={"text": "All of it"}, received_at=WINTER_NOON, due_at=WINTER_NOON)
    await row.save()
    await sign_in_as(client, clinic)
    page = await client.get(f"/privacy-requests/{row.id}")
    assert "15 January 2026, 13:34" in page.text and "At the desk" in page.text
    listing = await client.get("/privacy-requests?show=all")
    assert "At the desk" in listing.text and "front desk" not in listing.text


def test_pages_saying_utc_are_utc_and_mail_has_the_same_filters(tmp_path):
    assert display.when_utc(WINTER_NOON) == "Thu, 15 Jan 2026, 12:34 UTC"
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "probe.txt").write_text('{% set subject = "At " ~ (at | when("time")) %}'
                                                    '{{ at | when }} / {{ at | when_utc }}')
    rendered = mail.render("probe", "en", templates_dir=tmp_path, at=WINTER_NOON, time_zone="Europe/Amsterdam")
    assert rendered.subject == "At 13:34"
    assert rendered.text == "Thu, 15 Jan 2026, 13:34 / Thu, 15 Jan 2026, 12:34 UTC"
