"""Held messages: what was waiting to be sent when a backup was taken waits for the owner after a restore.

The live system may have delivered those messages after the dump; sending them again from the restored
database would remind patients twice, or of appointments long gone. `hold_after_restore` (run by
`portal restore`) holds every queued or leased message and drops reminders whose appointment has started;
the owner then releases or drops each held message on /jobs.
"""

from portal import audit
from portal.db import transaction
from portal.errors import NotFound
from portal.permissions import Actor, Permission, require
from portal.tables import OutboxMessage

HELD_REASON = "held after a restore: it may have been sent before the backup's copy was restored"
PASSED_REASON = "dropped at restore: the appointment had already started"


async def hold_after_restore() -> dict:
    """Hold every waiting message; drop those guarding an appointment that has started. Returns the counts."""
    async with transaction():
        dropped = await OutboxMessage.raw(
            "UPDATE outbox_message m SET status = 'withdrawn', locked_until = NULL, last_error = {} "
            "WHERE m.status IN ('queued', 'sending', 'held') AND m.guard_appointment_id IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM appointment a WHERE a.id = m.guard_appointment_id "
            "AND a.starts_at > now()) RETURNING id", PASSED_REASON)
        held = await OutboxMessage.raw(
            "UPDATE outbox_message SET status = 'held', locked_until = NULL, last_error = {} "
            "WHERE status IN ('queued', 'sending') RETURNING id", HELD_REASON)
    return {"held": len(held), "dropped": len(dropped)}


async def held_messages(actor: Actor, limit: int = 100) -> list[dict]:
    """The clinic's held messages, oldest first (the owner decides each)."""
    require(actor, Permission.MANAGE_CLINIC)
    rows = await OutboxMessage.select(
        OutboxMessage.id, OutboxMessage.channel, OutboxMessage.recipient, OutboxMessage.subject,
        OutboxMessage.created_at, OutboxMessage.idempotency_key, OutboxMessage.patient_id,
    ).where((OutboxMessage.clinic_id == actor.clinic_id) & (OutboxMessage.status == "held")).order_by(
        OutboxMessage.id).limit(limit)
    if rows:
        await audit.record(actor, "outbox.held_viewed", object_type="outbox",
                           detail={"messages": [r["id"] for r in rows]})
    return rows


async def release(actor: Actor, message_id: int) -> None:
    """Send a held message after all (its guards are checked again when it is claimed)."""
    await _decide(actor, message_id, "outbox.held_released",
                  "status = 'queued', attempts = 0, next_attempt_at = now(), last_error = ''")
    await OutboxMessage.raw("SELECT chairside_queue_delivery()")  # wake a worker now


async def drop(actor: Actor, message_id: int) -> None:
    """Never send a held message."""
    await _decide(actor, message_id, "outbox.held_dropped",
                  "status = 'withdrawn', last_error = 'dropped by the owner after a restore'")


async def _decide(actor: Actor, message_id: int, action: str, assignment: str) -> None:
    require(actor, Permission.MANAGE_CLINIC)
    async with transaction():
        rows = await OutboxMessage.raw(
            f"UPDATE outbox_message SET {assignment} WHERE id = {{}} AND clinic_id = {{}} AND status = 'held' "
            "RETURNING patient_id", message_id, actor.clinic_id)
        if not rows:
            raise NotFound()
        await audit.record(actor, action, patient_id=rows[0]["patient_id"], object_type="outbox",
                           object_id=message_id)
