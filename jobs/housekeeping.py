"""Housekeeping on schedule: expired sessions and tokens, old sign-in attempts, old logs and finished jobs,
and jobs left running by a worker that died."""

import procrastinate

import jobs
from jobs import app
from portal.operations import housekeeping
from portal.tables import JobRun


@app.periodic(cron="17 * * * *", periodic_id="housekeeping")
@app.task(name="housekeeping.purge", lock="housekeeping.purge",
          retry=procrastinate.RetryStrategy(max_attempts=3, exponential_wait=5))
async def purge(timestamp: int | None = None) -> dict:
    return await housekeeping.purge(jobs.settings())


@app.periodic(cron="* * * * *", periodic_id="stalled")
@app.task(name="housekeeping.retry_stalled", queueing_lock="housekeeping.retry_stalled", pass_context=True)
async def retry_stalled(context: procrastinate.JobContext, timestamp: int | None = None) -> int:
    """A job whose worker stopped sending heartbeats (killed, machine lost) is put back in the queue."""
    manager = context.app.job_manager
    stalled = list(await manager.get_stalled_jobs())
    for job in stalled:
        try:
            await manager.retry_job(job)
        except procrastinate.exceptions.ConnectorException:
            # Its queueing lock is held by a waiting twin (e.g. the next outbox.deliver): that one does the work.
            await JobRun.raw("UPDATE procrastinate_jobs SET status = 'cancelled' WHERE id = {} AND status = 'doing'",
                             job.id)
    return len(stalled)
