"""The owner's view of background work: queue depth, failed jobs (with their error) to retry, the last run
of each periodic task, dead letters to resend, and which message channels are on.

Most jobs serve the whole installation, not one clinic. Every owner sees the queue's counts and when each
periodic task last ran; failed installation-wide jobs and error texts (which may quote any clinic's data)
only the installation's operator: the owner of the first clinic, the one `portal create-owner` made. A job
whose arguments name a clinic (`clinic_id`) is also shown to that clinic's owner.
"""

from portal import audit
from portal.db import transaction
from portal.errors import NotFound
from portal.i18n import lazy_gettext
from portal.messaging import channels, dev_mail, outbox
from portal.permissions import Actor, Permission, require
from portal.settings import Settings
from portal.tables import Clinic, JobRun, OutboxMessage, WorkerHeartbeat

PERIODIC = {"reminders.plan": lazy_gettext("Queue due reminders (every minute)"),
            "outbox.deliver": lazy_gettext("Deliver mail (on each new message, and every minute)"),
            "housekeeping.purge": lazy_gettext("Housekeeping (hourly)"),
            "housekeeping.retry_stalled": lazy_gettext("Requeue jobs of vanished workers (every minute)")}
PERIODIC["recall.remind"] = lazy_gettext("Queue due recall reminders (every ten minutes)")
PERIODIC["waitlist.offer"] = lazy_gettext("Offer freed slots to the waitlist (every minute)")
PERIODIC["billing.remind_instalments"] = lazy_gettext("Queue payment-plan reminders (every morning)")


async def freshest_heartbeat(timeout: float) -> dict:
    """Seconds since the freshest worker heartbeat (None when no worker has ever reported)."""
    import asyncio

    async with asyncio.timeout(timeout):
        rows = await WorkerHeartbeat.raw(
            "SELECT extract(epoch FROM now() - max(beat_at))::float AS age FROM worker_heartbeat")
    age = rows[0]["age"] if rows else None
    return {"age_seconds": None if age is None else round(age, 1)}


async def workers(settings: Settings) -> list[dict]:
    """Each worker's last heartbeat and whether it is stale (nothing heard for WORKER_STALE_SECONDS)."""
    rows = await WorkerHeartbeat.raw(
        "SELECT name, host, pid, started_at, beat_at, extract(epoch FROM now() - beat_at)::float AS age "
        "FROM worker_heartbeat ORDER BY beat_at DESC")
    for row in rows:
        row["age"] = round(row["age"])
        row["stale"] = row["age"] > settings.worker_stale_seconds
    return rows


async def is_operator(actor: Actor) -> bool:
    rows = await Clinic.raw("SELECT min(id) AS first FROM clinic")
    return bool(rows) and rows[0]["first"] == actor.clinic_id


def _visible(operator: bool) -> str:
    """SQL condition on procrastinate_jobs j for the jobs this actor may see ({} = the clinic id)."""
    if operator:
        return "(NOT (j.args ? 'clinic_id') OR (j.args->>'clinic_id')::int = {})"
    return "(j.args ? 'clinic_id' AND (j.args->>'clinic_id')::int = {})"


async def overview(actor: Actor, settings: Settings) -> dict:
    require(actor, Permission.MANAGE_CLINIC)
    operator = await is_operator(actor)
    visible = _visible(operator)
    # Counts per task name say nothing about anyone, so every owner sees the whole queue.
    queue = await JobRun.raw(
        "SELECT j.task_name, count(*) FILTER (WHERE j.status = 'todo') AS waiting, "
        "count(*) FILTER (WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())) AS due, "
        "count(*) FILTER (WHERE j.status = 'doing') AS running FROM procrastinate_jobs j "
        "WHERE j.status IN ('todo', 'doing') GROUP BY j.task_name ORDER BY j.task_name")
    failed = await JobRun.raw(
        f"SELECT j.id, j.task_name, j.attempts, j.args::text AS args, e.error, e.at FROM procrastinate_jobs j "
        f"LEFT JOIN job_error e ON e.job_id = j.id WHERE j.status = 'failed' AND {visible} "
        f"ORDER BY j.id DESC LIMIT 50", actor.clinic_id)
    runs = {r["task_name"]: r for r in await JobRun.select()}
    if not operator:  # when and whether, but not the error text (it may quote another clinic's data)
        for run in runs.values():
            run["last_error"] = ""
    periodic = [{"task_name": name, "label": label, **(runs.get(name) or {})} for name, label in PERIODIC.items()]
    mail_counts = {r["status"]: r["n"] for r in await OutboxMessage.raw(
        "SELECT status, count(*) AS n FROM outbox_message WHERE clinic_id = {} GROUP BY status", actor.clinic_id)}
    dead = await OutboxMessage.select(
        OutboxMessage.id, OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.attempts,
        OutboxMessage.last_error, OutboxMessage.created_at, OutboxMessage.channel,
    ).where((OutboxMessage.clinic_id == actor.clinic_id) & (OutboxMessage.status == "dead")).order_by(
        OutboxMessage.id, ascending=False).limit(50)
    if dead:
        await audit.record(actor, "outbox.dead_letters_viewed", object_type="outbox",
                           detail={"messages": [d["id"] for d in dead]})
    heartbeats = await workers(settings)
    return {"operator": operator, "workers": heartbeats, "stale_after": settings.worker_stale_seconds,
            "no_live_worker": not any(not w["stale"] for w in heartbeats), "queue": queue, "failed": failed,
            "periodic": periodic,
            "mail_counts": mail_counts, "dead": dead, "channels": channels.status(settings),
            "caught": dev_mail.caught(settings.dev_mail_dir, actor.clinic_id),
            "dev_mail": settings.dev_mail_dir is not None}


async def retry_job(actor: Actor, job_id: int) -> None:
    """Put a failed job back in the queue (NotFound for jobs the actor may not see)."""
    require(actor, Permission.MANAGE_CLINIC)
    visible = _visible(await is_operator(actor))
    async with transaction():
        rows = await JobRun.raw(
            # Without its queueing lock: a waiting job of the same kind must not block the retry.
            "UPDATE procrastinate_jobs j SET status = 'todo', attempts = 0, scheduled_at = NULL, "
            "queueing_lock = NULL "
            f"WHERE j.id = {{}} AND j.status = 'failed' AND {visible} RETURNING j.task_name",
            job_id, actor.clinic_id)
        if not rows:
            raise NotFound()
        await audit.record(actor, "job.retried", object_type="job", object_id=job_id,
                           detail={"task": rows[0]["task_name"]})


async def resend_message(actor: Actor, message_id: int) -> None:
    """The resend button of a dead letter (NotFound for another clinic's message)."""
    require(actor, Permission.MANAGE_CLINIC)
    async with transaction():
        if not await outbox.resend(message_id, actor.clinic_id):
            raise NotFound()
        row = await OutboxMessage.select(OutboxMessage.patient_id).where(OutboxMessage.id == message_id).first()
        await audit.record(actor, "outbox.resent", patient_id=row["patient_id"], object_type="outbox",
                           object_id=message_id)
