"""The privacy centre's background work: the daily retention run and clean-up, and data exports."""

import procrastinate

import jobs
from jobs import app
from portal.privacy import daily, export, request_decisions


@app.periodic(cron="30 3 * * *", periodic_id="privacy.daily")
@app.task(name="privacy.daily", lock="privacy.daily",
          retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=60))
async def run_daily(timestamp: int | None = None) -> dict:
    """Erase what retention makes due (recorded in the audit trail), purge expired downloads, links, sessions."""
    return await daily.run_daily()


@app.task(name="privacy.export", retry=procrastinate.RetryStrategy(max_attempts=3, exponential_wait=10))
async def build_export(export_id: int, clinic_id: int | None = None) -> None:
    """Build one patient's ZIP; the page polls the row's progress."""
    await export.build_export(export_id, jobs.settings().contact_cooling_days)


@app.task(name="privacy.erase", retry=procrastinate.RetryStrategy(max_attempts=3, exponential_wait=30))
async def erase(request_id: int, clinic_id: int | None = None) -> bool:
    """An approved erasure whose undo window has passed (nothing happens when it was undone)."""
    return await request_decisions.complete_erasure(request_id)
