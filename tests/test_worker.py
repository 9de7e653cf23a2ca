"""The worker's own pieces: every task area registered, periodic tasks on their schedule, and the middleware
that keeps each task's last run and a failed job's error for the owner page."""

from types import SimpleNamespace

import pytest

import jobs
from portal.tables import JobError, JobRun


def test_every_area_registers_its_tasks_and_schedules():
    expected = {"outbox.deliver", "reminders.plan", "housekeeping.purge", "housekeeping.retry_stalled"}
    assert expected <= set(jobs.app.tasks)
    crons = {p.task.name: p.cron for p in jobs.app.periodic_registry.periodic_tasks.values()}
    assert crons["reminders.plan"] == "* * * * *" and crons["housekeeping.purge"] == "17 * * * *"


def test_the_conninfo_is_the_database_url():
    url = "postgresql://postgres:@/chairside?host=/srv/var/pgdata"
    assert jobs.conninfo(url) == url
    assert jobs.conninfo("postgresql+asyncpg://u:p@db/x") == "postgresql://u:p@db/x"


async def test_a_failing_job_leaves_its_error_and_a_succeeding_one_clears_the_status():
    context = SimpleNamespace(job=SimpleNamespace(id=41, task_name="outbox.deliver"))

    async def boom():
        raise OSError("connection refused by smtp.example.org")

    with pytest.raises(OSError):
        await jobs.record_run(boom, context, None)
    run = await JobRun.select().first()
    assert run["last_status"] == "failed" and "connection refused" in run["last_error"]
    assert (await JobError.select().first())["error"] == "OSError: connection refused by smtp.example.org"

    async def fine():
        return 3

    assert await jobs.record_run(fine, context, None) == 3
    run = await JobRun.select().first()
    assert run["last_status"] == "succeeded" and run["last_finished_at"] is not None


async def test_jobs_of_a_vanished_worker_are_requeued_or_left_to_their_waiting_twin():
    import os
    from types import SimpleNamespace

    import procrastinate

    from jobs.housekeeping import retry_stalled

    rows = await JobRun.raw("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 hour') "
                            "RETURNING id")
    dead = rows[0]["id"]
    insert = ("INSERT INTO procrastinate_jobs (queue_name, task_name, queueing_lock, status, worker_id) "
              "VALUES ('default', {}, {}, {}, {}) RETURNING id")
    purge = (await JobRun.raw(insert, "housekeeping.purge", None, "doing", dead))[0]["id"]
    deliver = (await JobRun.raw(insert, "outbox.deliver", "outbox.deliver", "doing", dead))[0]["id"]
    await JobRun.raw(insert, "outbox.deliver", "outbox.deliver", "todo", None)  # the twin already waiting
    connector = procrastinate.PsycopgConnector(conninfo=jobs.conninfo(os.environ["DATABASE_URL"]))
    with jobs.app.replace_connector(connector):
        async with jobs.app.open_async():
            assert await retry_stalled.func(SimpleNamespace(app=jobs.app)) == 2
    statuses = {r["id"]: r["status"] for r in await JobRun.raw(
        "SELECT id, status::text FROM procrastinate_jobs WHERE id IN ({}, {})", purge, deliver)}
    assert statuses == {purge: "todo", deliver: "cancelled"}


async def test_a_job_deferred_in_a_rolled_back_transaction_never_exists():
    from portal import db, job_queue

    try:
        async with db.transaction():
            await job_queue.defer("housekeeping.purge", clinic_id=3)
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    assert await JobRun.raw("SELECT 1 FROM procrastinate_jobs") == []
    async with db.transaction():
        job_id = await job_queue.defer("housekeeping.purge", queueing_lock="purge", clinic_id=3)
    assert await job_queue.defer("housekeeping.purge", queueing_lock="purge") is None  # one waiting is enough
    [row] = await JobRun.raw("SELECT task_name, args::text, status::text FROM procrastinate_jobs")
    assert job_id and row["task_name"] == "housekeeping.purge" and row["status"] == "todo"
    assert row["args"] == '{"clinic_id": 3}'


async def test_two_workers_defer_each_periodic_tick_once():
    """Each worker runs procrastinate's periodic deferrer; the database keeps one job per task and minute."""
    import os
    import time

    import procrastinate
    from procrastinate.periodic import PeriodicDeferrer

    connector = procrastinate.PsycopgConnector(conninfo=jobs.conninfo(os.environ["DATABASE_URL"]))
    now = time.time()
    with jobs.app.replace_connector(connector):
        async with jobs.app.open_async():
            for _worker in range(2):
                deferrer = PeriodicDeferrer(registry=jobs.app.periodic_registry)
                await deferrer.defer_jobs(deferrer.get_previous_tasks(at=now))
    counts = {r["task_name"]: r["n"] for r in await JobRun.raw(
        "SELECT task_name, count(*) AS n FROM procrastinate_jobs GROUP BY task_name")}
    assert counts.get("reminders.plan") == 1 and counts.get("housekeeping.retry_stalled") == 1
    defers = await JobRun.raw("SELECT task_name, count(*) AS n FROM procrastinate_periodic_defers GROUP BY task_name")
    assert defers and all(r["n"] == 1 for r in defers)


def test_privacy_work_runs_on_the_worker():
    crons = {p.task.name: p.cron for p in jobs.app.periodic_registry.periodic_tasks.values()}
    assert crons["privacy.daily"] == "30 3 * * *"  # retention erases what is due once a day
    assert "privacy.export" in jobs.app.tasks


async def test_running_the_queue_in_a_test_runs_no_periodic_task(monkeypatch):
    """At 03:31 UTC the daily privacy purge is due; a test's `run_queued_jobs` must not run it (it once deleted a
    test's ended sign-in links, whenever the suite passed that window)."""
    from datetime import datetime, timezone

    from procrastinate import periodic

    from portal.privacy import daily
    from tests import factories

    at = datetime.now(timezone.utc).replace(hour=3, minute=31, second=0).timestamp()
    monkeypatch.setattr(periodic, "time", SimpleNamespace(time=lambda: at))
    ran = []

    async def purge(*_args):
        ran.append(1)
        return {}

    monkeypatch.setattr(daily, "run_daily", purge)
    await factories.run_queued_jobs()
    await factories.run_queued_jobs()
    assert ran == []
