"""Consents: the current answer per kind is the newest ledger row; every change appends one.

`may_contact` is the one question the reminder and marketing senders ask: consent given for that channel,
and processing neither restricted (Art. 18) nor objected to (Art. 21).
"""

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum

from portal import audit, display
from portal.errors import NotFound
from portal.i18n import lazy_gettext
from portal.permissions import Actor
from portal.tables import ConsentEvent, Patient


class ConsentKind(StrEnum):
    REMINDER_EMAIL = "reminder_email"
    REMINDER_SMS = "reminder_sms"
    REMINDER_WHATSAPP = "reminder_whatsapp"
    MARKETING_EMAIL = "marketing_email"
    CALL_RECORDING = "call_recording"
    CASE_PHOTOS = "case_photos"


LABELS = {
    ConsentKind.REMINDER_EMAIL: lazy_gettext("Appointment reminders by email"),
    ConsentKind.REMINDER_SMS: lazy_gettext("Appointment reminders by SMS"),
    ConsentKind.REMINDER_WHATSAPP: lazy_gettext("Appointment reminders by WhatsApp"),
    ConsentKind.MARKETING_EMAIL: lazy_gettext("News and offers by email"),
    ConsentKind.CALL_RECORDING: lazy_gettext("Recording of phone calls"),
    ConsentKind.CASE_PHOTOS: lazy_gettext("Use of photos for case presentations"),
}

SOURCES = {"privacy_centre": lazy_gettext("in the privacy centre"), "front_desk": lazy_gettext("at the front desk"),
           "phone": lazy_gettext("by phone"), "letter": lazy_gettext("by letter"),
           "unsubscribe_link": lazy_gettext("by the unsubscribe link in a mail"),
           "sms_keyword": lazy_gettext("by a text message (STOP or START)"),
           "gpc": lazy_gettext("by your browser's Global Privacy Control signal")}
ACTOR_KINDS = {"staff": lazy_gettext("Staff"), "patient": lazy_gettext("You"), "guardian": lazy_gettext("Guardian"),
               "unsubscribe": lazy_gettext("You")}
display.register_labels("consent_source", SOURCES)
display.register_labels("consent_kind", {kind.value: text for kind, text in LABELS.items()})
display.register_labels("consent_actor", ACTOR_KINDS)

# Channels that stop while processing is restricted or objected to.
CONTACT_KINDS = {ConsentKind.REMINDER_EMAIL, ConsentKind.REMINDER_SMS, ConsentKind.REMINDER_WHATSAPP,
                 ConsentKind.MARKETING_EMAIL}


@dataclass(frozen=True)
class ConsentChange:
    kind: ConsentKind
    granted: bool
    source: str  # privacy_centre | front_desk | phone | letter | unsubscribe_link | sms_keyword | gpc
    notice_version: str = ""


async def current(patient_id: int) -> dict[ConsentKind, bool]:
    """Every kind with its present answer (never asked = not given)."""
    rows = await ConsentEvent.raw(
        "SELECT DISTINCT ON (kind) kind, granted FROM consent_event WHERE patient = {} ORDER BY kind, id DESC",
        patient_id)
    given = {row["kind"]: row["granted"] for row in rows}
    return {kind: given.get(kind.value, False) for kind in ConsentKind}


async def _notice_in_force(clinic_id: int) -> str:
    rows = await ConsentEvent.raw("SELECT max(version) AS v FROM privacy_notice WHERE clinic = {}", clinic_id)
    return f'v{rows[0]["v"]}' if rows and rows[0]["v"] else ""


async def record_change(actor: Actor | None, clinic_id: int, patient_id: int, change: ConsentChange,
                        actor_kind: str | None = None, even_if_same: bool = False) -> bool:
    """Append a ledger row when the answer changes (the caller has checked who may act); True if it changed.

    `actor_kind` overrides the actor's own kind, e.g. "guardian" for a guardian's patient session or
    "unsubscribe" for a one-click link (actor None). `even_if_same` records an objection that repeats the
    present answer (a browser's Global Privacy Control signal is kept even when marketing was already off).
    """
    patient = await Patient.select(Patient.id).where((Patient.id == patient_id) & (Patient.clinic == clinic_id)).first()
    if patient is None:
        raise NotFound("patient")
    before = (await current(patient_id))[change.kind]
    if before == change.granted and not even_if_same:
        return False
    version = change.notice_version or await _notice_in_force(clinic_id)  # every row names the notice in force
    await ConsentEvent.insert(ConsentEvent(
        clinic=clinic_id, patient=patient_id, kind=change.kind.value, granted=change.granted, previous=before,
        actor_kind=actor_kind or (actor.kind if actor else "unsubscribe"), actor_id=actor.id if actor else None,
        actor_name=actor.name if actor else "", source=change.source, notice_version=version,
        at=datetime.now(timezone.utc)))
    await audit.record(actor, "consent_changed", patient_id=patient_id, object_type="consent",
                       object_id=change.kind.value, detail={"granted": change.granted, "source": change.source},
                       clinic_id=clinic_id)
    return True


async def ledger(patient_id: int) -> list[dict]:
    return await ConsentEvent.select().where(ConsentEvent.patient == patient_id).order_by(ConsentEvent.id)


async def may_contact(patient_id: int, kind: ConsentKind) -> bool:
    """True only with consent for this channel and processing neither restricted nor objected to.

    The rule itself is the SQL function `chairside_may_contact` (migration 2026-11-25T11:00), so the reminder
    planner, the outbox's last check before sending and marketing ask exactly the same question in SQL.
    """
    rows = await Patient.raw("SELECT chairside_may_contact({}, {}) AS ok", patient_id, kind.value)
    return bool(rows and rows[0]["ok"])
