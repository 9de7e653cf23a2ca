"""Recall reminders: every ten minutes, queue those whose day has come (portal/recall/reminders.py); the
periodic lock makes it one run at a time however many workers run, and the outbox keys make a rerun harmless."""

import procrastinate

import jobs
from jobs import app
from portal.recall import reminders


@app.periodic(cron="*/10 * * * *", periodic_id="recall.reminders")
@app.task(name="recall.remind", queueing_lock="recall.remind", lock="recall.remind",
          retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=3))
async def remind(timestamp: int | None = None) -> int:
    return await reminders.plan_recall_reminders(jobs.settings())
