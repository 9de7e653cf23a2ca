"""Lab jobs: aligner change reminders every hour (portal/lab/aligners.py); outbox keys make a rerun harmless."""

import procrastinate

from jobs import app
from portal.lab import aligners


@app.periodic(cron="5 * * * *", periodic_id="aligners.reminders")
@app.task(name="aligners.remind", queueing_lock="aligners.remind", lock="aligners.remind",
          retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=3))
async def remind(timestamp: int | None = None) -> int:
    return await aligners.plan_change_reminders()
