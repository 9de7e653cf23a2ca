"""Outbox delivery: woken by each committed message (a trigger queues this task) and every minute for
retries whose backoff has run out."""

import procrastinate

import jobs
from jobs import app
from portal import outbox


@app.periodic(cron="* * * * *", periodic_id="outbox")
@app.task(name="outbox.deliver", queueing_lock="outbox.deliver",
          retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=3))
async def deliver(timestamp: int | None = None) -> int:
    """Send until nothing due is left; several workers may run this at once (rows are leased)."""
    total = 0
    while sent := await outbox.deliver_due(jobs.settings(), limit=200):
        total += sent
    return total
