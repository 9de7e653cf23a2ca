"""Outbox delivery: woken by each committed message (a trigger queues this task) and every minute for
retries whose backoff has run out.

No procrastinate retry: the outbox keeps each message's own retry schedule (portal/messaging/outbox.py), and
a procrastinate retry would put this job back to "todo" beside the one the trigger already queued under the
same queueing lock; PostgreSQL refuses that, and the job stayed "doing" until its lease ran out.
"""

import asyncio
from datetime import datetime, timedelta, timezone

import procrastinate

import jobs
from jobs import app
from portal.messaging import channels, outbox

CONNECTIONS = 3
PROBE_SECONDS = 10  # while the mail server is away, ask every this often whether it is back


@app.periodic(cron="* * * * *", periodic_id="outbox")
@app.task(name="outbox.deliver", queueing_lock="outbox.deliver")
async def deliver(timestamp: int | None = None) -> int:
    """Send until nothing due is left; several workers may run this at once (rows are leased).

    Messages still leased (another worker is sending them, or one died holding them) get a follow-up run
    just after the lease runs out, so a killed worker's batch goes out within a lease, not a minute. Mail
    waiting for an unreachable server gets a follow-up probe every PROBE_SECONDS, so delivery resumes within
    seconds of the server's return.
    """
    settings = jobs.settings()

    async def one_connection() -> int:
        total = 0
        while sent := await outbox.deliver_due(settings, limit=50):
            total += sent
        return total

    async def all_connections() -> int:
        # A few SMTP connections at once: each waits on the network and the database much of the time.
        return sum(await asyncio.gather(*(one_connection() for _ in range(CONNECTIONS))))

    total = await all_connections()
    if await outbox.waiting_for_server() and await outbox.resume_after_outage(settings):
        total += await all_connections()
    while texts := await channels.deliver_due_texts(settings):
        total += texts
    follow_up = await outbox.next_lease_expiry()
    if follow_up is not None:
        follow_up += timedelta(milliseconds=200)
    if await outbox.waiting_for_server():
        probe = datetime.now(timezone.utc) + timedelta(seconds=PROBE_SECONDS)
        follow_up = min(follow_up, probe) if follow_up else probe
    if follow_up is not None:
        try:
            await deliver.configure(queueing_lock="outbox.deliver", schedule_at=follow_up).defer_async()
        except procrastinate.exceptions.AlreadyEnqueued:
            pass
    return total
