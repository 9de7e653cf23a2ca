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

TASK_MODULES = ["jobs.outbox", "jobs.reminders", "jobs.housekeeping", "jobs.privacy", "jobs.staff", "jobs.calls",
                "jobs.contacts", "jobs.recall", "jobs.social", "jobs.closing"]
TASK_MODULES.append("jobs.billing")  # payment-plan reminders
TASK_MODULES.append("jobs.lab")  # aligner change reminders

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


HEARTBEAT_SECONDS = 5


async def beat(name: str) -> None:
    """Upsert this worker's heartbeat row every few seconds (a database outage only delays the next one)."""
    import asyncio

    from portal.tables import WorkerHeartbeat

    while True:
        try:
            await WorkerHeartbeat.raw(
                "INSERT INTO worker_heartbeat (name, host, pid, started_at, beat_at) "
                "VALUES ({}, {}, {}, now(), now()) ON CONFLICT (name) DO UPDATE SET beat_at = now()",
                name, socket.gethostname(), os.getpid())
            # Rows of workers that vanished a day ago say nothing any more.
            await WorkerHeartbeat.raw("DELETE FROM worker_heartbeat WHERE beat_at < now() - interval '1 day'")
        except Exception as exc:
            log.warning("heartbeat not written: %s", exc)
        await asyncio.sleep(HEARTBEAT_SECONDS)


async def _forget_heartbeat(name: str) -> None:
    import asyncio

    from portal.tables import WorkerHeartbeat

    try:
        async with asyncio.timeout(5):
            await WorkerHeartbeat.delete().where(WorkerHeartbeat.name == name)
    except Exception as exc:  # the row goes stale and is shown as such; nothing is lost
        log.warning("heartbeat row not removed: %s", exc)


async def _work(concurrency: int, name: str) -> None:
    """One run of procrastinate's worker on fresh connections; returns or raises when it loses the database."""
    limits = settings()
    # psycopg's pool waits 30 s for a connection by default; the settings' timeouts keep an outage short.
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(os.environ["DATABASE_URL"]), min_size=1, max_size=concurrency + 2,
        timeout=limits.db_acquire_timeout + limits.db_connect_timeout,
        kwargs={"connect_timeout": max(1, round(limits.db_connect_timeout))})
    with app.replace_connector(connector):
        async with app.open_async():
            await kick()
            log.info("worker started at %s", datetime.now(timezone.utc).isoformat())
            await app.run_worker_async(
                concurrency=concurrency, name=name, worker_middleware=[record_run],
                install_signal_handlers=False, delete_jobs="successful")


async def run_worker(worker_settings: Settings, concurrency: int = 4, name: str | None = None) -> None:
    """Run one worker until SIGINT/SIGTERM (a graceful stop lets running jobs finish).

    A database restart stops procrastinate's worker ("Side task listener failed"); this loop waits for the
    database and starts it again. A database still away after WORKER_RECONNECT_SECONDS ends the process with
    exit code 1, so that a supervisor (systemd, `portal serve --with-worker`) starts a new one.
    """
    import asyncio
    import signal

    from portal import db

    global _settings
    _settings = worker_settings
    name = name or f"{socket.gethostname()}:{os.getpid()}"
    stop = asyncio.Event()
    current: list[asyncio.Task] = []

    def on_signal() -> None:
        stop.set()
        for task in current:
            task.cancel()  # procrastinate turns the cancellation into a graceful stop

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    await db.start_pool(max_size=concurrency + 2, statement_timeout=4 * worker_settings.db_statement_timeout)
    heartbeat = asyncio.create_task(beat(name), name="heartbeat")
    from portal.messaging import mail_listener

    listener = await mail_listener.start(worker_settings)  # routed mail over SMTP when INBOUND_SMTP is set
    quick_failures = 0
    try:
        while not stop.is_set():
            started = loop.time()
            current[:] = [asyncio.create_task(_work(concurrency, name), name="worker")]
            try:
                await current[0]
            except asyncio.CancelledError:
                if not stop.is_set():
                    raise
            except Exception as exc:
                log.warning("worker lost the database: %s: %s", type(exc).__name__, exc)
            if stop.is_set():
                break
            quick_failures = quick_failures + 1 if loop.time() - started < 10 else 0
            if quick_failures > 5:  # not an outage that passes: let a supervisor start afresh
                log.error("the worker keeps stopping; exiting so that a supervisor restarts it")
                raise SystemExit(1)
            log.warning("worker stopped by itself; waiting up to %ss for the database",
                        worker_settings.worker_reconnect_seconds)
            db.expire_pool()
            current[:] = [asyncio.create_task(db.wait_for_database(
                worker_settings.worker_reconnect_seconds, worker_settings.db_connect_timeout))]
            try:
                back = await current[0]
            except asyncio.CancelledError:
                if not stop.is_set():
                    raise
                break
            if not back:
                log.error("the database stayed unreachable; exiting so that a supervisor restarts the worker")
                raise SystemExit(1)
            log.warning("the database is back; worker resumes")
            await asyncio.sleep(min(quick_failures, 5) * 0.5)
    finally:
        heartbeat.cancel()
        if listener is not None:
            listener.close()
        await _forget_heartbeat(name)
        await db.close_pool()


def _import_task_modules() -> None:
    import importlib

    for module in TASK_MODULES:
        importlib.import_module(module)


_import_task_modules()
