"""The owner's jobs page: failed jobs with their error and a retry button, dead letters with a resend button,
periodic runs, channels on or off, and caught development mail."""

from email.message import EmailMessage

from portal.messaging import dev_mail, outbox
from portal.tables import AuditEntry, OutboxMessage
from tests import factories
from tests.factories import csrf_token, sign_in_as


async def test_owner_sees_a_failed_job_with_its_error_and_retries_it(client, clinic):
    job_id = await factories.make_failed_job()
    await OutboxMessage.raw("SELECT chairside_queue_delivery()")  # one delivery job already waiting
    await sign_in_as(client, clinic)
    page = await client.get("/jobs")
    assert page.status_code == 200 and "OSError: gateway down" in page.text and "outbox.deliver" in page.text
    assert "SMS</strong>: off" in page.text and "no credentials" in page.text
    response = await client.post(f"/jobs/{job_id}/retry", data={"_csrf_token": await csrf_token(client)})
    assert response.status_code == 303
    rows = await OutboxMessage.raw("SELECT status::text FROM procrastinate_jobs WHERE id = {}", job_id)
    assert rows[0]["status"] == "todo"
    assert (await client.post(f"/jobs/{job_id}/retry", data={"_csrf_token": await csrf_token(client)})
            ).status_code == 404  # no longer failed
    assert await AuditEntry.exists().where(AuditEntry.action == "job.retried")


async def test_another_clinics_owner_sees_no_system_jobs(client, clinic, other_clinic):
    await factories.make_failed_job()
    await sign_in_as(client, other_clinic)
    page = await client.get("/jobs")
    assert "gateway down" not in page.text and "No failed jobs." in page.text


async def test_a_dead_letter_is_resent_to_the_real_server(client, clinic, settings, mailbox):
    message_id = await factories.make_dead_letter(clinic, to="gone@example.org")
    await sign_in_as(client, clinic)
    page = await client.get("/jobs")
    assert "gone@example.org" in page.text and "550 mailbox unavailable" in page.text
    response = await client.post(f"/jobs/messages/{message_id}/resend", data={"_csrf_token": await csrf_token(client)})
    assert response.status_code == 303
    assert await outbox.deliver_due(settings) == 1
    assert len(mailbox.to("gone@example.org")) == 1


def test_caught_mail_is_listed_per_clinic(tmp_path):
    for clinic_id, subject in ((1, "Ours"), (2, "Theirs")):
        message = EmailMessage()
        message["To"], message["Subject"], message["X-Chairside-Clinic"] = "a@example.org", subject, str(clinic_id)
        message.set_content("Hello")
        (tmp_path / f"2026{clinic_id}.eml").write_bytes(message.as_bytes())
    assert [m["subject"] for m in dev_mail.caught(tmp_path, 1)] == ["Ours"]
    assert dev_mail.caught(None, 1) == []


async def test_every_owner_sees_queue_depth_and_periodic_runs_but_only_the_operator_their_errors(
        client, clinic, other_clinic):
    from portal.tables import JobRun

    await OutboxMessage.raw("SELECT chairside_queue_delivery()")
    await JobRun.raw("INSERT INTO job_run (task_name, last_status, last_error) "
                     "VALUES ('reminders.plan', 'failed', 'secret detail of clinic one')")
    await sign_in_as(client, other_clinic)
    page = await client.get("/jobs")
    assert "<code>outbox.deliver</code></td><td>1</td>" in page.text and "failed" in page.text
    assert "secret detail" not in page.text
    await sign_in_as(client, clinic)
    assert "secret detail of clinic one" in (await client.get("/jobs")).text
