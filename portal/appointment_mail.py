"""Mail about appointments: confirmations (with an .ics) written with the change, and reminders before it.

Confirmations are transactional: they go to the patient's address unless processing is restricted.
Reminders need the patient's reminder consent; `plan_reminders` queues each one when its moment comes
(the clinic's offsets, 48 h and 2 h by default), guarded so that a consent withdrawn or an appointment moved
or cancelled afterwards withdraws it at sending time (see portal/outbox.py).
"""

from datetime import datetime, timezone

import icalendar

from portal import audit, clock, mail, outbox
from portal.tables import Appointment

_DETAILS = (
    "SELECT a.id, a.clinic, a.patient, a.sequence, a.starts_at, a.ends_at, a.status, a.created_at, "
    "p.given_name, p.family_name, p.email, p.preferred_language, p.restricted_at, c.name AS clinic_name, "
    "c.address AS clinic_address, c.contact_email AS clinic_email, c.time_zone, t.name AS type_name, "
    "s.name AS provider_name, ch.name AS chair_name FROM appointment a JOIN patient p ON p.id = a.patient "
    "JOIN clinic c ON c.id = a.clinic JOIN appointment_type t ON t.id = a.appointment_type "
    "JOIN staff s ON s.id = a.provider JOIN chair ch ON ch.id = a.chair ")


def _context(row: dict) -> dict:
    starts = clock.local(row["starts_at"], row["time_zone"])
    return {"given_name": row["given_name"], "clinic_name": row["clinic_name"],
            "clinic_address": row["clinic_address"], "clinic_email": row["clinic_email"],
            "type_name": row["type_name"], "provider_name": row["provider_name"],
            "when_date": f"{starts:%d-%m-%Y}", "when_time": f"{starts:%H:%M}"}


def ics(row: dict, change: str) -> bytes:
    """One event with the same UID as the provider's feed; a cancellation is METHOD:CANCEL."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Chairside//Appointment//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if change == "cancelled" else "REQUEST")
    event = icalendar.Event()
    event.add("uid", f'appointment-{row["id"]}@{row["clinic"]}.chairside')
    event.add("sequence", row["sequence"])
    event.add("dtstamp", datetime.now(timezone.utc))
    event.add("dtstart", row["starts_at"].astimezone(timezone.utc))
    event.add("dtend", row["ends_at"].astimezone(timezone.utc))
    event.add("summary", f'{row["type_name"]} · {row["clinic_name"]}')
    event.add("location", row["clinic_address"] or row["clinic_name"])
    event.add("status", "CANCELLED" if change == "cancelled" else "CONFIRMED")
    cal.add_component(event)
    return cal.to_ical()


async def confirm_change(appointment_id: int, change: str) -> bool:
    """Queue the booked/moved/cancelled mail in the caller's transaction; False when there is no one to tell."""
    rows = await Appointment.raw(_DETAILS + "WHERE a.id = {}", appointment_id)
    if not rows or not rows[0]["email"] or rows[0]["restricted_at"] is not None:
        return False
    row = rows[0]
    rendered = mail.render("appointment", row["preferred_language"], change=change, **_context(row))
    email = outbox.Email(to=row["email"], subject=rendered.subject, text=rendered.text, html=rendered.html,
                         attachments=(outbox.Attachment("appointment.ics", "text/calendar", ics(row, change)),))
    return await outbox.enqueue(email, key=f'appointment:{row["id"]}:{change}:{row["sequence"]}',
                                clinic_id=row["clinic"], patient_id=row["patient"])


# For each appointment, the nearest reminder moment already reached (after downtime only the latest one
# goes out), if the appointment existed in its present form at that moment and no reminder was queued yet.
_DUE_REMINDERS = (
    "SELECT due.hours, d.* FROM (SELECT DISTINCT ON (a.id) a.id, a.sequence, h.hours FROM appointment a "
    "JOIN clinic c ON c.id = a.clinic CROSS JOIN LATERAL unnest(c.reminder_hours) AS h(hours) "
    "JOIN patient p ON p.id = a.patient "
    "WHERE a.status IN ('booked', 'confirmed') AND a.starts_at > {}::timestamptz "
    "AND a.starts_at <= {}::timestamptz + make_interval(hours => h.hours) "
    "AND a.updated_at <= a.starts_at - make_interval(hours => h.hours) AND p.email <> '' "
    "AND chairside_may_contact(p.id, 'reminder_email') ORDER BY a.id, h.hours) due "
    "JOIN LATERAL (" + _DETAILS + "WHERE a.id = due.id) d ON true "
    "WHERE NOT EXISTS (SELECT 1 FROM outbox_message m WHERE m.idempotency_key = "
    "'reminder:' || due.id || ':' || due.hours || ':' || due.sequence) ORDER BY due.id LIMIT {}")

# One statement per batch: the outbox rows (guarded) and their audit rows.
_INSERT_REMINDERS = (
    "WITH new AS (INSERT INTO outbox_message (clinic_id, patient_id, idempotency_key, recipient, subject, "
    "text_body, html_body, guard_consent, guard_appointment_id, guard_sequence) "
    "SELECT r.clinic, r.patient, r.key, r.email, r.subject, r.text, r.html, 'reminder_email', r.appointment, "
    "r.sequence FROM unnest({}::int[], {}::int[], {}::text[], {}::text[], {}::text[], {}::text[], {}::text[], "
    "{}::bigint[], {}::int[], {}::int[]) AS r(clinic, patient, key, email, subject, text, html, appointment, "
    "sequence, hours) ON CONFLICT (idempotency_key) DO NOTHING "
    "RETURNING clinic_id, patient_id, guard_appointment_id, idempotency_key) "
    "INSERT INTO audit_entry (clinic_id, actor_kind, actor_id, actor_name, patient_id, action, object_type, "
    "object_id, request_id, detail, at) SELECT clinic_id, 'anonymous', NULL, '', patient_id, 'reminder.queued', "
    "'appointment', guard_appointment_id::text, '', jsonb_build_object('key', idempotency_key), now() FROM new "
    "RETURNING 1")


def reminder_key(appointment_id: int, hours: int, sequence: int) -> str:
    return f"reminder:{appointment_id}:{hours}:{sequence}"


def _render_reminders(due: list[dict]) -> list[list]:
    columns: list[list] = [[] for _ in range(10)]
    for row in due:
        rendered = mail.render("reminder", row["preferred_language"], **_context(row))
        values = (row["clinic"], row["patient"], reminder_key(row["id"], row["hours"], row["sequence"]),
                  row["email"], rendered.subject[:300], rendered.text, rendered.html, row["id"], row["sequence"],
                  row["hours"])
        for column, value in zip(columns, values):
            column.append(value)
    return columns


async def plan_reminders(now: datetime | None = None, batch: int = 1000) -> int:
    """Queue every reminder whose moment has come, `batch` per transaction; returns how many were queued.

    Each is guarded by the reminder consent and the appointment's present sequence number, re-checked when
    the outbox claims it (portal/outbox.py).
    """
    from portal.db import transaction

    now = now or datetime.now(timezone.utc)
    total = 0
    while True:
        due = await Appointment.raw(_DUE_REMINDERS, now, now, batch)
        if not due:
            return total
        columns = _render_reminders(due)
        async with transaction():
            queued = len(await Appointment.raw(_INSERT_REMINDERS, *columns))
        total += queued
        if len(due) < batch or not queued:
            return total


async def reminder_hours(actor) -> list[int]:
    from portal.tables import Clinic

    row = await Clinic.select(Clinic.reminder_hours).where(Clinic.id == actor.clinic_id).first()
    return list(row["reminder_hours"]) if row else []


async def set_reminder_hours(actor, text: str) -> list[int]:
    """The clinic's reminder offsets, e.g. "48, 2" (hours before; empty = no reminders)."""
    from portal.db import transaction
    from portal.errors import ValidationFailed
    from portal.permissions import Permission, require
    from portal.tables import Clinic

    require(actor, Permission.MANAGE_CLINIC)
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not all(p.isdigit() and 1 <= int(p) <= 14 * 24 for p in parts) or len(parts) > 4:
        raise ValidationFailed({"reminder_hours": "Up to four whole numbers of hours between 1 and 336, e.g. 48, 2."})
    hours = sorted({int(p) for p in parts}, reverse=True)
    async with transaction():
        await Clinic.update({Clinic.reminder_hours: hours}).where(Clinic.id == actor.clinic_id)
        await audit.record(actor, "clinic.reminder_hours", detail={"hours": hours})
    return hours
