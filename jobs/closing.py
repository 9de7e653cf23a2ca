"""Closing a clinic account: the whole-clinic export, and the deletion 30 days after the owner asked."""

import procrastinate

from jobs import app
from portal.closing import closure


@app.task(name="closing.export", retry=procrastinate.RetryStrategy(max_attempts=3, exponential_wait=30))
async def build_export(closure_id: int, clinic_id: int | None = None) -> None:
    """Every patient's export, the staff, settings and audit trail in one ZIP; the owner's page shows progress."""
    await closure.build_export(closure_id)


@app.task(name="closing.delete", retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=300))
async def delete(closure_id: int, clinic_id: int | None = None) -> str:
    """Scheduled at the end of the 30 days; a cancelled closure does nothing, a waiting one tries again tomorrow."""
    return await closure.delete_if_due(closure_id)
