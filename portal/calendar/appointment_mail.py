"""Mail about appointments: confirmations (with an .ics) written with the change, and reminders before it.

Confirmations are transactional: they go to the patient's address unless processing is restricted.
Reminders need the patient's reminder consent; `plan_reminders` queues each one when its moment comes
(the clinic's offsets, 48 h and 2 h by default), guarded so that a consent withdrawn or an appointment moved
or cancelled afterwards withdraws it at sending time (see portal/outbox.py).
"""

from dataclasses import dataclass
from datetime import datetime, timezone

import icalendar

from portal import audit, clock
from portal.calendar import ical_feed, statuses
from portal.i18n import gettext
from portal.messaging import mail, outbox
from portal.tables import Appointment

_DETAILS = (
    "SELECT a.id, a.clinic, a.patient, a.sequence, a.starts_at, a.ends_at, a.status, a.created_at, "
    "p.given_name, p.family_name, p.email, p.preferred_language, p.restricted_at, c.name AS clinic_name, "
    "c.address AS clinic_address, c.contact_email AS clinic_email, c.time_zone, c.locale AS clinic_language, "
    "c.country AS clinic_country, t.name AS type_name, "
    "s.name AS provider_name, ch.name AS chair_name FROM appointment a JOIN patient p ON p.id = a.patient "
    "JOIN clinic c ON c.id = a.clinic JOIN appointment_type t ON t.id = a.appointment_type "
    "JOIN staff s ON s.id = a.provider JOIN chair ch ON ch.id = a.chair ")


def _context(row: dict) -> dict:
    starts = clock.local(row["starts_at"], row["time_zone"])
    return {"given_name": row["given_name"], "clinic_name": row["clinic_name"],
            "clinic_address": row["clinic_address"], "clinic_email": row["clinic_email"],
            "type_name": row["type_name"], "provider_name": row["provider_name"],
            "when_date": f"{starts:%d-%m-%Y}", "when_time": f"{starts:%H:%M}", "starts_at": row["starts_at"],
            "time_zone": row["time_zone"], "manage_url": ""}


def _language(row: dict) -> dict:
    """The patient's language, else the clinic's; dates in the clinic's country's conventions."""
    return {"clinic_language": row["clinic_language"], "region": row["clinic_country"]}


def ics(row: dict, change: str) -> bytes:
    """One event with the same UID as the provider's feed; a cancellation is METHOD:CANCEL."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Chairside//Appointment//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if change == "cancelled" else "REQUEST")
    event = icalendar.Event()
    event.add("uid", ical_feed.event_uid(row["id"], row["clinic"]))
    event.add("sequence", row["sequence"])
    event.add("dtstamp", datetime.now(timezone.utc))
    event.add("dtstart", row["starts_at"].astimezone(timezone.utc))
    event.add("dtend", row["ends_at"].astimezone(timezone.utc))
    event.add("summary", f'{row["type_name"]} · {row["clinic_name"]}')
    event.add("location", row["clinic_address"] or row["clinic_name"])
    event.add("status", "CANCELLED" if change == "cancelled" else "CONFIRMED")
    cal.add_component(event)
    return cal.to_ical()


async def confirm_change(appointment_id: int, change: str, manage_url: str = "") -> bool:
    """Queue the booked/moved/cancelled mail in the caller's transaction; False when there is no one to tell.

    `manage_url`: the patient's own link to cancel or reschedule (online bookings), shown in the mail."""
    rows = await Appointment.raw(_DETAILS + "WHERE a.id = {}", appointment_id)
    if not rows or not rows[0]["email"] or rows[0]["restricted_at"] is not None:
        return False
    row = rows[0]
    rendered = mail.render("appointment", row["preferred_language"], change=change, **_language(row),
                           **{**_context(row), "manage_url": manage_url})
    email = outbox.Email(to=row["email"], subject=rendered.subject, text=rendered.text, html=rendered.html,
                         attachments=(outbox.Attachment("appointment.ics", "text/calendar", ics(row, change)),))
    return await outbox.enqueue(email, key=f'appointment:{row["id"]}:{change}:{row["sequence"]}',
                                clinic_id=row["clinic"], patient_id=row["patient"])


@dataclass(frozen=True)
class ReminderChannel:
    """One way a reminder travels: the consent it needs, where the address is, its idempotency-key prefix."""
    name: str  # outbox channel
    consent: str
    address: str  # patient column
    prefix: str


EMAIL = ReminderChannel("email", "reminder_email", "email", "reminder")
SMS = ReminderChannel("sms", "reminder_sms", "phone_mobile", "reminder-sms")
WHATSAPP = ReminderChannel("whatsapp", "reminder_whatsapp", "phone_mobile", "reminder-whatsapp")


# For each appointment, the nearest reminder moment already reached (after downtime only the latest one
# goes out), if the appointment existed in its present form at that moment and no reminder was queued yet.
def _due_reminders(channel: ReminderChannel) -> str:
    return (
        "SELECT due.hours, d.* FROM (SELECT DISTINCT ON (a.id) a.id, a.sequence, h.hours FROM appointment a "
        "JOIN clinic c ON c.id = a.clinic CROSS JOIN LATERAL unnest(c.reminder_hours) AS h(hours) "
        "JOIN patient p ON p.id = a.patient "
        f"WHERE a.status IN {statuses.sql_list(statuses.OPEN)} AND a.starts_at > {{}}::timestamptz "
        "AND a.starts_at <= {}::timestamptz + make_interval(hours => h.hours) "
        f"AND a.updated_at <= a.starts_at - make_interval(hours => h.hours) AND p.{channel.address} <> '' "
        f"AND chairside_may_contact(p.id, '{channel.consent}') ORDER BY a.id, h.hours) due "
        f"JOIN LATERAL ({_DETAILS.replace('p.email,', f'p.{channel.address} AS address, p.email,')}"
        "WHERE a.id = due.id) d ON true "
        "WHERE NOT EXISTS (SELECT 1 FROM outbox_message m WHERE m.idempotency_key = "
        f"'{channel.prefix}:' || due.id || ':' || due.hours || ':' || due.sequence) ORDER BY due.id LIMIT {{}}")


# One statement per batch: the outbox rows (guarded) and their audit rows.
_INSERT_REMINDERS = (
    "WITH new AS (INSERT INTO outbox_message (clinic_id, patient_id, idempotency_key, recipient, subject, "
    "text_body, html_body, headers, channel, guard_consent, guard_appointment_id, guard_sequence) "
    "SELECT r.clinic, r.patient, r.key, r.address, r.subject, r.text, r.html, r.headers::jsonb, {}, {}, "
    "r.appointment, r.sequence FROM unnest({}::int[], {}::int[], {}::text[], {}::text[], {}::text[], {}::text[], "
    "{}::text[], {}::text[], {}::bigint[], {}::int[]) AS r(clinic, patient, key, address, subject, text, html, "
    "headers, appointment, sequence) ON CONFLICT (idempotency_key) DO NOTHING "
    "RETURNING clinic_id, patient_id, guard_appointment_id, idempotency_key) "
    "INSERT INTO audit_entry (clinic_id, actor_kind, actor_id, actor_name, patient_id, action, object_type, "
    "object_id, request_id, detail, at) SELECT clinic_id, 'anonymous', NULL, '', patient_id, 'reminder.queued', "
    "'appointment', guard_appointment_id::text, '', jsonb_build_object('key', idempotency_key), now() FROM new "
    "RETURNING 1")


def reminder_key(appointment_id: int, hours: int, sequence: int, channel: ReminderChannel = EMAIL) -> str:
    return f"{channel.prefix}:{appointment_id}:{hours}:{sequence}"


def _render_reminder(row: dict, channel: ReminderChannel, settings) -> tuple[str, str, str, dict]:
    """(subject, text, html, headers) for one reminder on one channel."""
    context = _context(row)
    if channel is EMAIL:
        rendered = mail.render("reminder", row["preferred_language"], **_language(row), **context)
        return rendered.subject[:300], rendered.text, rendered.html, {}
    rendered = mail.render("reminder_text", row["preferred_language"], **_language(row), **context)
    headers = {}
    if channel is WHATSAPP:  # outside the 24-hour window WhatsApp only delivers approved templates
        headers = {"template": settings.whatsapp_reminder_template, "language": rendered.language,
                   "parameters": "\n".join([context["given_name"], context["clinic_name"], context["when_date"],
                                             context["when_time"]])}
    return "", rendered.text.strip(), "", headers


async def plan_reminders(now: datetime | None = None, batch: int = 1000, settings=None) -> int:
    """Queue every reminder whose moment has come, `batch` per transaction; returns how many were queued.

    Email always; SMS and WhatsApp when those channels are configured, each only with its own consent. Each is
    guarded by that consent and the appointment's present sequence number, re-checked when the outbox claims
    it (portal/outbox.py).
    """
    import json

    from portal.db import transaction
    from portal.messaging import channels as text_channels
    from portal.settings import Settings

    settings = settings or Settings.from_env()
    now = now or datetime.now(timezone.utc)
    enabled = [EMAIL] + [c for c in (SMS, WHATSAPP) if await text_channels.in_use(settings, c.name)]
    total = 0
    for channel in enabled:
        while True:
            due = await Appointment.raw(_due_reminders(channel), now, now, batch)
            if not due:
                break
            columns: list[list] = [[] for _ in range(10)]
            for row in due:
                subject, text, html, headers = _render_reminder(row, channel, settings)
                key = reminder_key(row["id"], row["hours"], row["sequence"], channel)
                values = (row["clinic"], row["patient"], key, row["address"], subject, text, html,
                          json.dumps(headers), row["id"], row["sequence"])
                for column, value in zip(columns, values):
                    column.append(value)
            async with transaction():
                queued = len(await Appointment.raw(_INSERT_REMINDERS, channel.name, channel.consent, *columns))
            total += queued
            if len(due) < batch or not queued:
                break
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
        raise ValidationFailed({"reminder_hours": gettext(
            "Up to four whole numbers of hours between 1 and 336, e.g. 48, 2.")})
    hours = sorted({int(p) for p in parts}, reverse=True)
    async with transaction():
        await Clinic.update({Clinic.reminder_hours: hours}).where(Clinic.id == actor.clinic_id)
        await audit.record(actor, "clinic.reminder_hours", detail={"hours": hours})
    return hours
