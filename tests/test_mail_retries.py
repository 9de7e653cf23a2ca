"""Mail retries that fit the appointment: minutes, not hours, between tries; a reminder that could only arrive
late is dropped with its reason; an SMTP outage mid-batch loses nothing, leaves no job "doing", and delivery
resumes within a minute of the server's return (a real worker process and a real SMTP server)."""

import asyncio
import os
import signal
import time
from collections import Counter
from dataclasses import replace
from datetime import timedelta

from bench.jobs import seed_reminders, start_worker
from jobs.outbox import CONNECTIONS
from portal.messaging import outbox
from portal.tables import OutboxMessage
from tests import factories
from tests.mail_sink import MailSink, free_port


async def _appointment(clinic, cal, patient: int, starts_in: timedelta) -> tuple[int, int]:
    rows = await OutboxMessage.raw(
        "INSERT INTO appointment (clinic, patient, provider, chair, appointment_type, starts_at, ends_at, created_at, "
        "updated_at) VALUES ({}, {}, {}, {}, {}, now() + {}, now() + {} + interval '30 minutes', "
        "now() - interval '3 days', now() - interval '3 days') RETURNING id, sequence",
        clinic.clinic_id, patient, cal["dentist"].id, cal["chairs"][0], cal["checkup"], starts_in, starts_in)
    return rows[0]["id"], rows[0]["sequence"]


async def _reminder(clinic, cal, key: str, starts_in: timedelta) -> None:
    patient = await factories.make_patient(clinic, email=f"{key}@example.org")
    appointment = await _appointment(clinic, cal, patient, starts_in)
    await outbox.enqueue(outbox.Email(to=f"{key}@example.org", subject="Reminder", text="See you soon"), key=key,
                         clinic_id=clinic.clinic_id, patient_id=patient, guard_appointment=appointment)


async def _row(key: str) -> dict:
    return await OutboxMessage.select().where(OutboxMessage.idempotency_key == key).first()


async def _make_due() -> None:
    await OutboxMessage.raw("UPDATE outbox_message SET next_attempt_at = now() WHERE status = 'queued'")


async def test_a_reminder_that_would_arrive_after_its_appointment_starts_is_dropped(clinic, cal, settings):
    down = replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    await _reminder(clinic, cal, "soon", timedelta(seconds=90))
    await outbox.enqueue(outbox.Email(to="plain@example.org", subject="Booked", text="Booked"), key="plain")
    await outbox.deliver_due(down)  # first failure: the next try is a minute away, before the appointment
    assert (await _row("soon"))["status"] == "queued"
    await _make_due()
    await outbox.deliver_due(down)  # second failure: the next try (2 minutes) would be after it starts
    row = await _row("soon")
    assert row["status"] == "withdrawn" and row["last_error"].startswith(outbox.LATE_REASON)
    assert (await _row("plain"))["status"] == "queued"  # mail without an appointment keeps trying


async def test_a_reminder_whose_appointment_has_started_is_dropped_with_that_reason(clinic, cal, settings, mailbox):
    await _reminder(clinic, cal, "late", timedelta(minutes=-1))
    await _reminder(clinic, cal, "fine", timedelta(hours=3))
    assert await outbox.deliver_due(settings) == 1
    row = await _row("late")
    assert row["status"] == "withdrawn" and row["last_error"] == outbox.STARTED_REASON
    assert len(mailbox.to("fine@example.org")) == 1 and not mailbox.to("late@example.org")


async def test_mail_that_waited_for_the_server_is_due_again_as_soon_as_it_answers(settings, mailbox):
    down = replace(settings, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    await outbox.enqueue(outbox.Email(to="wait@example.org", subject="Hi", text="Hi"), key="wait")
    for _ in range(4):  # four failures: the next try is 10 minutes away
        await _make_due()
        await outbox.deliver_due(down)
    row = await _row("wait")
    assert row["status"] == "queued" and row["last_error"].startswith(outbox.CONNECTION_ERROR)
    assert await outbox.waiting_for_server()
    assert await outbox.resume_after_outage(down) == 0  # still away
    assert await outbox.deliver_due(settings) == 0  # not due yet
    assert await outbox.resume_after_outage(settings) == 1  # back: due now
    assert await outbox.deliver_due(settings) == 1
    assert len(mailbox.to("wait@example.org")) == 1 and not await outbox.waiting_for_server()


def _keys(*sinks: MailSink) -> Counter:
    keys: Counter = Counter()
    for sink in sinks:
        with sink.lock:
            keys.update(m["X-Chairside-Key"] for m in sink.messages)
    return keys


async def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_an_smtp_outage_mid_batch_loses_nothing_and_delivery_resumes_within_a_minute(clinic, cal):
    count, outage = 400, 15
    keys = await seed_reminders(clinic, cal, count)
    port = free_port()
    first, second = MailSink(port), MailSink(port)
    first.start()
    worker = start_worker({**os.environ, "SMTP_URL": first.url, "WORKER_QUIET": "1"})
    try:
        async def mid_batch():
            return sum(_keys(first).values()) >= 80

        assert await _wait_for(mid_batch, 60), "the worker never started sending"
        first.stop()  # the mail server goes away in the middle of the batch
        at_drop = sum(_keys(first).values())
        assert at_drop < count, "the batch finished before the outage; the test proves nothing"
        await asyncio.sleep(outage)
        stuck = await OutboxMessage.count().where(OutboxMessage.status == "sending")
        second.start()
        back = time.monotonic()

        async def resumed():
            return bool(second.messages)

        assert await _wait_for(resumed, 60), "delivery did not resume within 60 s of the server's return"
        resume_seconds = time.monotonic() - back

        async def all_sent():
            return await OutboxMessage.count().where(OutboxMessage.status.is_in(["queued", "sending"])) == 0

        assert await _wait_for(all_sent, 120)

        async def no_job_doing():
            rows = await OutboxMessage.raw("SELECT count(*) AS n FROM procrastinate_jobs WHERE status = 'doing'")
            return rows[0]["n"] == 0

        assert await _wait_for(no_job_doing, 15), "a job stayed 'doing' after the outage"
        failed = await OutboxMessage.raw("SELECT count(*) AS n FROM procrastinate_jobs WHERE status = 'failed'")
        assert failed[0]["n"] == 0
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except Exception:
            worker.kill()
        second.stop()
    arrived = _keys(first, second)
    assert set(arrived) == set(keys)  # 0 lost
    repeated = [key for key, n in arrived.items() if n > 1]
    assert len(repeated) <= CONNECTIONS  # only a message in flight at the drop can arrive twice
    print(f"\nSMTP outage of {outage} s after {at_drop} of {count}: {stuck} left leased during the outage, "
          f"resumed {resume_seconds:.1f} s after the server returned, 0 lost, {len(repeated)} repeated")


async def test_a_batch_whose_lease_runs_out_gives_the_rest_back_instead_of_sending_it(settings, mailbox):
    """Sending on an expired lease could overlap a worker that claimed the row again: a duplicate."""
    await outbox.enqueue(outbox.Email(to="lease@example.org", subject="Hi", text="Hi"), key="lease")
    assert await outbox.deliver_due(replace(settings, outbox_lease_seconds=0)) == 0
    row = await _row("lease")
    assert row["status"] == "queued" and row["attempts"] == 0 and row["locked_until"] is None
    assert not mailbox.to("lease@example.org")
    assert await outbox.deliver_due(settings) == 1
