"""Recall reminders: at the clinic's offsets from the due date, by the patient's first consented channel, with the
personal booking link, up to the clinic's daily cap; run every few minutes by the worker (jobs/recall.py).

Only clinics that saved their online booking settings send (the owner chose the offsets and the cap); the
booking link is in the message when online booking is on. After downtime only the latest offset reached goes
out, and only within a week of it. A recall already booked, or a patient who declined since the recall last
moved, gets nothing. Each message is keyed `recall:<recall>:<due date>:<offset>` in the outbox, so a second
run (or a second worker) queues nothing twice, and it carries its consent as a guard re-checked when sent.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from portal import audit, clock
from portal.calendar import statuses
from portal.db import transaction
from portal.messaging import channels as text_channels
from portal.messaging import mail, outbox
from portal.recall import booking
from portal.settings import Settings
from portal.tables import OutboxMessage, PatientRecall, RecallContact

LATE_WINDOW_DAYS = 7


@dataclass(frozen=True)
class Channel:
    name: str  # outbox channel
    consent: str
    address: str  # patient column
    contact_kind: str  # what the contact log shows


EMAIL = Channel("email", "reminder_email", "email", "mailed")
SMS = Channel("sms", "reminder_sms", "phone_mobile", "texted")
WHATSAPP = Channel("whatsapp", "reminder_whatsapp", "phone_mobile", "texted")
ORDER = (EMAIL, SMS, WHATSAPP)

_CLINICS = ("SELECT b.*, c.name AS clinic_name, c.time_zone, c.locale AS clinic_language, c.country, "
            "c.contact_email AS clinic_email, c.address AS clinic_address "
            "FROM online_booking b JOIN clinic c ON c.id = b.clinic "
            "WHERE cardinality(b.reminder_days) > 0 AND b.daily_cap > 0 ORDER BY b.clinic")

# For each recall, the latest offset reached (due date + offset <= today, within the late window), when that
# reminder was never queued, the recall is not booked and the patient has not declined since it last moved.
_DUE = (
    "SELECT DISTINCT ON (r.id) r.id, r.patient, r.due_on, o.days, t.name AS type_name, p.given_name, p.email, "
    "p.phone_mobile, p.preferred_language, chairside_may_contact(p.id, 'reminder_email') AS reminder_email, "
    "chairside_may_contact(p.id, 'reminder_sms') AS reminder_sms, "
    "chairside_may_contact(p.id, 'reminder_whatsapp') AS reminder_whatsapp "
    "FROM patient_recall r JOIN recall_type t ON t.id = r.recall_type AND t.active "
    "JOIN patient p ON p.id = r.patient AND p.isolated_at IS NULL "
    "CROSS JOIN LATERAL unnest({}::int[]) AS o(days) "
    "WHERE r.clinic = {} AND r.due_on + o.days <= {}::date AND r.due_on + o.days > {}::date "
    "AND NOT EXISTS (SELECT 1 FROM appointment a WHERE a.patient = r.patient AND a.clinic = r.clinic "
    f"AND a.status IN {statuses.sql_list(statuses.OPEN)} AND a.starts_at > now() "
    "AND (t.appointment_type IS NULL OR a.appointment_type = t.appointment_type)) "
    "AND NOT EXISTS (SELECT 1 FROM recall_contact c WHERE c.patient = r.patient AND c.kind = 'declined' "
    "AND c.at >= r.updated_at) "
    "ORDER BY r.id, o.days DESC")


def reminder_key(recall_id: int, due_on: date, days: int) -> str:
    return f"recall:{recall_id}:{due_on.isoformat()}:{days}"


async def _sent_today(clinic: dict, now: datetime) -> int:
    start, _ = clock.day_bounds(clock.local(now, clinic["time_zone"]).date(), clinic["time_zone"])
    return await OutboxMessage.count().where((OutboxMessage.clinic_id == clinic["clinic"])
                                             & OutboxMessage.idempotency_key.like("recall:%")
                                             & (OutboxMessage.created_at >= start))


def _render(row: dict, clinic: dict, channel: Channel, link: str, settings: Settings) -> outbox.Email:
    context = {"given_name": row["given_name"], "clinic_name": clinic["clinic_name"], "type_name": row["type_name"],
               "due_on": row["due_on"], "booking_url": link, "clinic_email": clinic["clinic_email"] or "",
               "clinic_address": clinic["clinic_address"] or ""}
    language = {"clinic_language": clinic["clinic_language"], "region": clinic["country"]}
    if channel is EMAIL:
        rendered = mail.render("recall_reminder", row["preferred_language"], **language, **context)
        return outbox.Email(to=row["email"], subject=rendered.subject, text=rendered.text, html=rendered.html)
    rendered = mail.render("recall_reminder_text", row["preferred_language"], **language, **context)
    headers = {}
    if channel is WHATSAPP:  # outside the 24-hour window WhatsApp only delivers approved templates
        headers = {"template": settings.whatsapp_recall_template, "language": rendered.language,
                   "parameters": "\n".join([row["given_name"], clinic["clinic_name"], link or "-"])}
    return outbox.Email(to=row["phone_mobile"], subject="", text=rendered.text.strip(), headers=headers)


async def plan_recall_reminders(settings: Settings, now: datetime | None = None) -> int:
    """Queue the recall reminders whose day has come, clinic by clinic, up to each clinic's daily cap."""
    now = now or datetime.now(timezone.utc)
    enabled = [EMAIL] + [c for c in (SMS, WHATSAPP) if await text_channels.in_use(settings, c.name)]
    total = 0
    for clinic in await PatientRecall.raw(_CLINICS):
        room = clinic["daily_cap"] - await _sent_today(clinic, now)
        if room <= 0:
            continue
        today = clock.local(now, clinic["time_zone"]).date()
        rows = await PatientRecall.raw(_DUE + " LIMIT {}", list(clinic["reminder_days"]), clinic["clinic"], today,
                                       today - timedelta(days=LATE_WINDOW_DAYS), room * 2)
        for row in rows:
            if room <= 0:
                break
            channel = next((c for c in enabled if row[c.consent] and row[c.address]), None)
            if channel is None:
                continue
            link = booking.recall_link(settings, clinic["clinic"], row["patient"], now) if clinic["enabled"] else ""
            async with transaction():
                queued = await outbox.enqueue(_render(row, clinic, channel, link, settings),
                                              key=reminder_key(row["id"], row["due_on"], row["days"]),
                                              clinic_id=clinic["clinic"], patient_id=row["patient"],
                                              guard_consent=channel.consent, channel=channel.name)
                if queued:
                    await RecallContact.insert(RecallContact(
                        clinic=clinic["clinic"], patient=row["patient"], kind="reminded", at=now,
                        note=f"{channel.name} ({row['days']:+d} d)", actor_name=""))
                    await audit.record(None, "recall.reminder_queued", patient_id=row["patient"],
                                       clinic_id=clinic["clinic"], object_type="patient_recall", object_id=row["id"],
                                       detail={"channel": channel.name, "days": row["days"]})
            if queued:
                total += 1
                room -= 1
    return total
