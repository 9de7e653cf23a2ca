"""Background work on procrastinate's PostgreSQL queue; `portal worker` runs it, any number at once.

One module per area registers its tasks on `app` (`@app.task(name="area.verb")`, `@app.periodic(...)`) and
is named in TASK_MODULES; importing this package imports them all, so the worker knows every task. Domain
code defers a job inside its own transaction with `portal.job_queue.defer("area.verb", clinic_id=..., ...)`.
Jobs call domain modules, never views.
"""

import logging
import os
import socket
from datetime import datetime, timezone

import procrastinate

from portal.settings import Settings

log = logging.getLogger(__name__)

TASK_MODULES = ["jobs.outbox", "jobs.reminders", "jobs.housekeeping", "jobs.privacy", "jobs.staff"]

# The connector gets its conninfo when a worker opens the app (DATABASE_URL is known only then).
app = procrastinate.App(connector=procrastinate.PsycopgConnector(), import_paths=TASK_MODULES)

_settings: Settings | None = None


def settings() -> Settings:
    """The worker's settings (read from the environment once)."""
    global _settings
    if _settings is None:
        _settings = Settings.from_env()
    return _settings


def conninfo(database_url: str) -> str:
    """libpq reads the same URL as asyncpg, including the embedded server's `?host=/socket/dir`."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def record_run(call_next, context, worker):
    """Worker middleware: keep each task's last run, and a failed job's error for the owner page."""
    from portal.tables import JobError, JobRun

    name = context.job.task_name
    await JobRun.raw(
        "INSERT INTO job_run (task_name, last_started_at, last_status, last_error) VALUES ({}, now(), 'running', '') "
        "ON CONFLICT (task_name) DO UPDATE SET last_started_at = now(), last_status = 'running'", name)
    try:
        result = await call_next()
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        await JobRun.raw("UPDATE job_run SET last_finished_at = now(), last_status = 'failed', last_error = {} "
                         "WHERE task_name = {}", error, name)
        await JobError.raw("INSERT INTO job_error (job_id, task_name, error, at) VALUES ({}, {}, {}, now()) "
                           "ON CONFLICT (job_id) DO UPDATE SET error = EXCLUDED.error, at = now()",
                           context.job.id, name, error)
        raise
    await JobRun.raw("UPDATE job_run SET last_finished_at = now(), last_status = 'succeeded', last_error = '' "
                     "WHERE task_name = {}", name)
    return result


async def kick(names=("outbox.deliver", "reminders.plan")) -> None:
    """Queue the catch-up tasks now rather than at the next minute (at most one waiting of each)."""
    for name in names:
        try:
            await app.tasks[name].configure(queueing_lock=name).defer_async()
        except procrastinate.exceptions.AlreadyEnqueued:
            pass


async def run_worker(worker_settings: Settings, concurrency: int = 4, name: str | None = None) -> None:
    """Run one worker until SIGINT/SIGTERM (a graceful stop lets running jobs finish)."""
    from portal import db

    global _settings
    _settings = worker_settings
    await db.start_pool(max_size=concurrency + 2)
    connector = procrastinate.PsycopgConnector(conninfo=conninfo(os.environ["DATABASE_URL"]),
                                               min_size=1, max_size=concurrency + 2)
    try:
        with app.replace_connector(connector):
            async with app.open_async():
                await kick()
                log.info("worker started at %s", datetime.now(timezone.utc).isoformat())
                await app.run_worker_async(
                    concurrency=concurrency, name=name or f"{socket.gethostname()}:{os.getpid()}",
                    worker_middleware=[record_run], install_signal_handlers=True, delete_jobs="successful")
    finally:
        await db.close_pool()


def _import_task_modules() -> None:
    import importlib

    for module in TASK_MODULES:
        importlib.import_module(module)


_import_task_modules()
