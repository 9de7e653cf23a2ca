"""Deferring a background job from domain code, inside the caller's transaction.

procrastinate's own `defer_async` uses its own connection, so a job deferred that way could run for a change
that later rolled back, or be lost if the process died right after the commit. This writes the job row with
Piccolo in the current transaction instead: the job exists exactly when the change does. Tasks are named by
their registered name (e.g. "privacy.export", see jobs/); a worker picks the job up through procrastinate's
insert trigger (LISTEN/NOTIFY) at once. Pass `clinic_id=` among the arguments of a clinic's job: its owner
then sees it (and its failure) on /jobs; jobs without one are the operator's (portal/job_status.py).
"""

import json
from datetime import datetime

from portal.tables import JobRun


async def defer(task_name: str, *, queueing_lock: str | None = None, lock: str | None = None,
                schedule_at: datetime | None = None, queue: str = "default", **args) -> int | None:
    """Queue `task_name(**args)`; returns the job id, or None when a job with this queueing lock is waiting."""
    rows = await JobRun.raw(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, queueing_lock, args, scheduled_at) "
        "VALUES ({}, {}, {}, {}, {}::jsonb, {}) ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING "
        "RETURNING id", queue, task_name, lock, queueing_lock, json.dumps(args), schedule_at)
    return rows[0]["id"] if rows else None
