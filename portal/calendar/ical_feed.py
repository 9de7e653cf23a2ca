"""Providers' iCal subscriptions: secret tokens (rotate, revoke) and RFC 5545 feeds, initials by default."""

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

import icalendar

from portal import audit, i18n
from portal.calendar import statuses
from portal.db import transaction
from portal.errors import NotFound
from portal.permissions import Actor
from portal.tables import Appointment, Clinic, IcalToken

PAST_DAYS, FUTURE_DAYS = 30, 365


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def feed_status(actor: Actor) -> dict | None:
    return await IcalToken.select(IcalToken.created_at).where(
        (IcalToken.provider == actor.id) & IcalToken.revoked_at.is_null()).first()


async def rotate_token(actor: Actor) -> str:
    """A new secret for the acting staff member's own feed; the old link stops working at once."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(timezone.utc)
    async with transaction():
        await IcalToken.update({IcalToken.revoked_at: now}).where(
            (IcalToken.provider == actor.id) & IcalToken.revoked_at.is_null())
        await IcalToken.insert(IcalToken(clinic=actor.clinic_id, provider=actor.id, token_hash=_hash(token),
                                         created_at=now))
        await audit.record(actor, "ical.token_rotated", object_type="staff", object_id=actor.id)
    return token


async def revoke_token(actor: Actor) -> None:
    async with transaction():
        await IcalToken.update({IcalToken.revoked_at: datetime.now(timezone.utc)}).where(
            (IcalToken.provider == actor.id) & IcalToken.revoked_at.is_null())
        await audit.record(actor, "ical.token_revoked", object_type="staff", object_id=actor.id)


async def set_full_names(actor: Actor, enabled: bool) -> None:
    """The owner's choice for the whole clinic; off means initials and type only."""
    from portal.permissions import Permission, require

    require(actor, Permission.MANAGE_CLINIC)
    async with transaction():
        await Clinic.update({Clinic.ical_full_names: enabled}).where(Clinic.id == actor.clinic_id)
        await audit.record(actor, "clinic.ical_full_names", detail={"enabled": enabled})


async def full_names_enabled(actor: Actor) -> bool:
    row = await Clinic.select(Clinic.ical_full_names).where(Clinic.id == actor.clinic_id).first()
    return bool(row and row["ical_full_names"])


async def render_feed(token: str) -> bytes:
    """The feed behind a live token (NotFound for unknown or revoked ones); each fetch is audited."""
    row = await IcalToken.select(IcalToken.provider, IcalToken.clinic, IcalToken.provider.name,
                                 IcalToken.clinic.time_zone, IcalToken.clinic.name,
                                 IcalToken.clinic.ical_full_names, IcalToken.provider.language,
                                 IcalToken.clinic.locale, IcalToken.clinic.country).where(
        (IcalToken.token_hash == _hash(token)) & IcalToken.revoked_at.is_null()).first()
    if row is None:
        raise NotFound()
    now = datetime.now(timezone.utc)
    appointments = await Appointment.select(
        Appointment.id, Appointment.patient, Appointment.starts_at, Appointment.ends_at, Appointment.status,
        Appointment.sequence, Appointment.updated_at, Appointment.created_at, Appointment.patient.given_name,
        Appointment.patient.family_name, Appointment.appointment_type.name, Appointment.chair.name,
        Appointment.patient.isolated_at,
    ).where((Appointment.provider == row["provider"]) & (Appointment.clinic == row["clinic"])
            & (Appointment.starts_at >= now - timedelta(days=PAST_DAYS))
            & (Appointment.starts_at < now + timedelta(days=FUTURE_DAYS))).order_by(Appointment.starts_at)
    # The summaries speak the provider's language (else the clinic's), like the portal does for them.
    with i18n.using(i18n.choose(row["provider.language"], row["clinic.locale"]), row["clinic.country"]):
        calendar = _calendar(row, appointments, now)
    feed_actor = Actor(kind="staff", id=row["provider"], clinic_id=row["clinic"], name=row["provider.name"])
    await audit.record(feed_actor, "ical.fetched", object_type="ical_feed", object_id=row["provider"],
                       detail={"patients": sorted({a["patient"] for a in appointments})})
    return calendar.to_ical()


def event_uid(appointment_id: int, clinic_id: int) -> str:
    """One UID per appointment in every calendar file we send (feeds and mailed invitations), so calendar
    apps update or cancel the same event."""
    return f"appointment-{appointment_id}@{clinic_id}.chairside"


def _calendar(row: dict, appointments: list[dict], now: datetime) -> icalendar.Calendar:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(row["clinic.time_zone"])
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Chairside//Clinic calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f'{row["provider.name"]} · {row["clinic.name"]}')
    cal.add("x-wr-timezone", row["clinic.time_zone"])
    for a in appointments:
        if a["patient.isolated_at"]:  # erased on request: the kept record shows as a placeholder
            who = i18n.gettext("Restricted record")
        elif row["clinic.ical_full_names"]:
            who = f'{a["patient.given_name"]} {a["patient.family_name"]}'
        else:
            who = f'{a["patient.given_name"][:1]}.{a["patient.family_name"][:1]}.'
        event = icalendar.Event()
        event.add("uid", event_uid(a["id"], row["clinic"]))
        event.add("sequence", a["sequence"])
        event.add("dtstamp", now)
        event.add("last-modified", a["updated_at"])
        event.add("created", a["created_at"])
        event.add("dtstart", a["starts_at"].astimezone(zone))
        event.add("dtend", a["ends_at"].astimezone(zone))
        event.add("summary", f'{who} · {a["appointment_type.name"]}')
        event.add("location", a["chair.name"])
        event.add("status", "CANCELLED" if a["status"] in statuses.FREED else "CONFIRMED")
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal
