"""Reminders: every minute, queue those whose moment has come (the periodic lock makes it once per minute
however many workers run; the outbox key makes a second run harmless anyway)."""

import procrastinate

import jobs
from jobs import app
from portal.calendar import appointment_mail


@app.periodic(cron="* * * * *", periodic_id="reminders")
@app.task(name="reminders.plan", queueing_lock="reminders.plan", lock="reminders.plan",
          retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=3))
async def plan(timestamp: int | None = None) -> int:
    return await appointment_mail.plan_reminders(settings=jobs.settings())
