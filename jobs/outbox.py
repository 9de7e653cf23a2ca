"""Outbox delivery: woken by each committed message (a trigger queues this task) and every minute for
retries whose backoff has run out."""

import asyncio
from datetime import timedelta

import procrastinate

import jobs
from jobs import app
from portal.messaging import channels, outbox

CONNECTIONS = 3


@app.periodic(cron="* * * * *", periodic_id="outbox")
@app.task(name="outbox.deliver", queueing_lock="outbox.deliver",
          retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=3))
async def deliver(timestamp: int | None = None) -> int:
    """Send until nothing due is left; several workers may run this at once (rows are leased).

    Messages still leased (another worker is sending them, or one died holding them) get a follow-up run
    just after the lease runs out, so a killed worker's batch goes out within a lease, not a minute.
    """
    async def one_connection() -> int:
        total = 0
        while sent := await outbox.deliver_due(jobs.settings(), limit=50):
            total += sent
        return total

    # A few SMTP connections at once: each waits on the network and the database much of the time.
    total = sum(await asyncio.gather(*(one_connection() for _ in range(CONNECTIONS))))
    while texts := await channels.deliver_due_texts(jobs.settings()):
        total += texts
    if (expiry := await outbox.next_lease_expiry()) is not None:
        try:
            await deliver.configure(queueing_lock="outbox.deliver",
                                    schedule_at=expiry + timedelta(milliseconds=200)).defer_async()
        except procrastinate.exceptions.AlreadyEnqueued:
            pass
    return total
