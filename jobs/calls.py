"""Calls: fetching a consented recording from the provider (then deleting it there), deleting one we may not keep,
and the daily purge of recordings past CALL_RECORDING_DAYS."""

import procrastinate

import jobs
from jobs import app
from portal.messaging import calls


@app.task(name="calls.fetch_recording", retry=procrastinate.RetryStrategy(max_attempts=8, exponential_wait=15))
async def fetch_recording(recording_id: int, clinic_id: int | None = None) -> bool:
    return await calls.fetch_recording(jobs.settings(), recording_id)


@app.task(name="calls.delete_recording", retry=procrastinate.RetryStrategy(max_attempts=8, exponential_wait=15))
async def delete_recording(recording_sid: str, clinic_id: int | None = None) -> None:
    await calls.delete_at_provider(jobs.settings(), recording_sid, clinic_id)


@app.periodic(cron="45 3 * * *", periodic_id="calls.purge")
@app.task(name="calls.purge_recordings", lock="calls.purge_recordings")
async def purge_recordings(timestamp: int | None = None) -> int:
    return await calls.purge_recordings(jobs.settings().call_recording_days)
