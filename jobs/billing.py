"""Payment-plan reminders every morning (portal/billing/instalments.py); the periodic lock runs one at a time and
the outbox keys make a rerun harmless."""

import procrastinate

from jobs import app
from portal.billing import instalments


@app.periodic(cron="15 7 * * *", periodic_id="billing.instalment_reminders")
@app.task(name="billing.remind_instalments", queueing_lock="billing.remind_instalments",
          lock="billing.remind_instalments", retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=3))
async def remind_instalments(timestamp: int | None = None) -> int:
    return await instalments.send_reminders()
