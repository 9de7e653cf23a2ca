"""The waitlist: patients waiting for an earlier appointment, and offers of freed slots where the first to accept
gets it.

Staff put a patient on the list for an appointment type with preferences (provider, earliest day, part of day).
Every minute the worker looks for time freed later than an hour from now (`offer_freed_slots`): appointments
cancelled or marked no-show, appointments moved away (a trigger queues the old time) and closed days reopened by
removing a closure (a trigger queues the days; the slot finder gives their first free starts), and offers each
freed start still free to the first `OFFERS_PER_SLOT` matching patients in the order
they joined, by their first consented channel, with a signed link. Accepting books through
`scheduling.book_appointment` with the ONLINE requester, so the appointment table's exclusion constraints decide
who wins (and a partial unique index allows one accepted offer per start and provider); everyone else is told it
is taken. Offers expire after `OFFER_HOURS` or at the start, whichever is first.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from portal import audit, clock, display, links
from portal.calendar import availability, scheduling, statuses
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import parse_date, too_long, whole_number
from portal.i18n import _, lazy_gettext
from portal.messaging import channels as text_channels
from portal.messaging import mail, outbox
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.recall import booking, tokens
from portal.settings import Settings
from portal.tables import (
    Appointment,
    AppointmentType,
    Clinic,
    Patient,
    Staff,
    WaitlistEntry,
    WaitlistFreed,
    WaitlistFreedSlot,
    WaitlistOffer,
)

OFFERS_PER_SLOT = 3
OFFER_HOURS = 2
MIN_NOTICE = timedelta(hours=1)
OFFER_STATUSES = {"offered": lazy_gettext("Offered"), "accepted": lazy_gettext("Accepted"),
                  "taken": lazy_gettext("Taken by someone else"), "expired": lazy_gettext("Expired"),
                  "declined": lazy_gettext("Declined")}
display.register_labels("waitlist_offer", OFFER_STATUSES)
display.register_labels("part_of_day", {"": lazy_gettext("Any time"), "morning": lazy_gettext("Morning (before 12:00)"),
                                        "afternoon": lazy_gettext("Afternoon (12:00–17:00)"),
                                        "evening": lazy_gettext("Evening (from 17:00)")})
display.register_labels("recall_channel", {"email": lazy_gettext("Email"), "sms": lazy_gettext("SMS"),
                                           "whatsapp": lazy_gettext("WhatsApp")})


@dataclass(frozen=True)
class WaitlistForm:
    appointment_type_id: str = ""
    provider_id: str = ""
    earliest: str = ""
    part_of_day: str = ""
    note: str = ""


async def add_entry(actor: Actor, patient_id: int, form: WaitlistForm) -> int:
    """Put the patient on the waitlist for a type, with their preferences."""
    require(actor, Permission.MANAGE_CALENDAR)
    await ensure_in_clinic(actor, patient_id)
    errors = {}
    kind = await AppointmentType.select(AppointmentType.id).where(
        (AppointmentType.id == (whole_number(form.appointment_type_id) or 0))
        & (AppointmentType.clinic == actor.clinic_id) & (AppointmentType.active == True)).first()  # noqa: E712
    if kind is None:
        errors["appointment_type_id"] = _("Choose the kind of appointment.")
    provider = whole_number(form.provider_id)
    if form.provider_id.strip() and not await Staff.exists().where(
            (Staff.id == (provider or 0)) & (Staff.clinic == actor.clinic_id)):
        errors["provider_id"] = _("Choose who provides the treatment.")
    earliest = parse_date(form.earliest) if form.earliest.strip() else clock.today(actor.time_zone)
    if earliest is None:
        errors["earliest"] = _("Give the earliest date, e.g. 2027-03-15.")
    if form.part_of_day not in availability.PARTS_OF_DAY:
        errors["part_of_day"] = _("Choose a part of the day.")
    if problem := too_long(form.note.strip(), 300):
        errors["note"] = problem
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        row = WaitlistEntry(clinic=actor.clinic_id, patient=patient_id, appointment_type=kind["id"],
                            provider=provider if form.provider_id.strip() else None, earliest=earliest,
                            part_of_day=form.part_of_day, note=form.note.strip(), created_at=clock.now())
        await row.save()
        await audit.record(actor, "waitlist.added", patient_id=patient_id, object_type="waitlist_entry",
                           object_id=row.id)
    return row.id


async def remove_entry(actor: Actor, entry_id: int) -> None:
    require(actor, Permission.MANAGE_CALENDAR)
    async with transaction():
        gone = await WaitlistEntry.update({WaitlistEntry.status: "removed"}).where(
            (WaitlistEntry.id == entry_id) & (WaitlistEntry.clinic == actor.clinic_id)
            & (WaitlistEntry.status == "waiting")).returning(WaitlistEntry.patient)
        if not gone:
            raise NotFound()
        await audit.record(actor, "waitlist.removed", patient_id=gone[0]["patient"], object_type="waitlist_entry",
                           object_id=entry_id)


async def mark_earlier(actor: Actor, patient_id: int, appointment_id: int) -> int:
    """Earlier if possible: the patient's booked appointment waits, in the fair order, for an earlier free start of
    its type with its provider; accepting the offer moves it there (portal/recall/waitlist.py `accept`)."""
    require(actor, Permission.MANAGE_CALENDAR)
    await ensure_in_clinic(actor, patient_id)
    appointment = await Appointment.select().where(
        (Appointment.id == appointment_id) & (Appointment.clinic == actor.clinic_id)
        & (Appointment.patient == patient_id)).first()
    if appointment is None:
        raise NotFound()
    if appointment["status"] not in statuses.OPEN or appointment["starts_at"] <= clock.now():
        raise ValidationFailed({"appointment_id": _("Only an appointment still to come can be moved earlier.")})
    async with transaction():
        rows = await WaitlistEntry.raw(
            "INSERT INTO waitlist_entry (clinic, patient, appointment_type, provider, earliest, part_of_day, note, "
            "created_at, appointment) VALUES ({}, {}, {}, {}, {}, '', '', {}, {}) ON CONFLICT DO NOTHING RETURNING id",
            actor.clinic_id, patient_id, appointment["appointment_type"], appointment["provider"],
            clock.today(actor.time_zone), clock.now(), appointment_id)
        if not rows:
            raise ValidationFailed({"appointment_id": _("This appointment already waits for an earlier time.")})
        await audit.record(actor, "waitlist.earlier", patient_id=patient_id, object_type="waitlist_entry",
                           object_id=rows[0]["id"], detail={"appointment": appointment_id})
    return rows[0]["id"]


async def open_appointments(actor: Actor, patient_id: int) -> list[dict]:
    """The patient's appointments still to come that could be marked "earlier if possible"."""
    return await Appointment.select(Appointment.id, Appointment.starts_at, Appointment.appointment_type.name).where(
        (Appointment.patient == patient_id) & (Appointment.clinic == actor.clinic_id)
        & Appointment.status.is_in([s.value for s in statuses.OPEN]) & (Appointment.starts_at > clock.now())
    ).order_by(Appointment.starts_at).limit(10)


async def overview(actor: Actor) -> dict:
    """The waitlist page: who waits for what, and the offers of the last days with their answers (live)."""
    require(actor, Permission.MANAGE_CALENDAR)
    entries = await WaitlistEntry.select(
        *WaitlistEntry.all_columns(), WaitlistEntry.patient.given_name, WaitlistEntry.patient.family_name,
        WaitlistEntry.appointment_type.name, WaitlistEntry.provider.name, WaitlistEntry.appointment.starts_at).where(
        (WaitlistEntry.clinic == actor.clinic_id) & (WaitlistEntry.status == "waiting")
        & WaitlistEntry.patient.isolated_at.is_null()).order_by(WaitlistEntry.created_at)
    offers = await WaitlistOffer.select(
        *WaitlistOffer.all_columns(), WaitlistOffer.patient.given_name, WaitlistOffer.patient.family_name,
        WaitlistOffer.appointment_type.name, WaitlistOffer.provider.name).where(
        (WaitlistOffer.clinic == actor.clinic_id)
        & (WaitlistOffer.created_at > clock.now() - timedelta(days=3))).order_by(
        WaitlistOffer.created_at, ascending=False).limit(100)
    now = clock.now()
    for offer in offers:
        if offer["status"] == "offered" and offer["expires_at"] <= now:
            offer["status"] = "expired"
    await audit.record_patients_shown(actor, "waitlist.viewed", sorted({r["patient"] for r in entries + offers}))
    return {"entries": entries, "offers": offers}


async def for_patient(actor: Actor, patient_id: int) -> list[dict]:
    return await WaitlistEntry.select(*WaitlistEntry.all_columns(), WaitlistEntry.appointment_type.name,
                                      WaitlistEntry.appointment.starts_at).where(
        (WaitlistEntry.patient == patient_id) & (WaitlistEntry.clinic == actor.clinic_id)
        & (WaitlistEntry.status == "waiting")).order_by(WaitlistEntry.created_at)


# --- Offers -----------------------------------------------------------------------------------------------------

_FREED = (
    "SELECT a.id, a.clinic, a.patient, a.provider, a.chair, a.appointment_type, a.starts_at, a.ends_at, "
    "c.time_zone FROM appointment a JOIN clinic c ON c.id = a.clinic "
    f"WHERE a.status IN {statuses.sql_list(statuses.FREED)} AND a.starts_at > {{}} "
    "AND a.updated_at > {} AND NOT EXISTS (SELECT 1 FROM waitlist_freed f WHERE f.appointment = a.id) "
    "ORDER BY a.updated_at LIMIT 200")

_MATCHING = (
    "SELECT w.id, w.patient, p.given_name, p.email, p.phone_mobile, p.preferred_language, "
    "chairside_may_contact(p.id, 'reminder_email') AS reminder_email, "
    "chairside_may_contact(p.id, 'reminder_sms') AS reminder_sms, "
    "chairside_may_contact(p.id, 'reminder_whatsapp') AS reminder_whatsapp "
    "FROM waitlist_entry w JOIN patient p ON p.id = w.patient AND p.isolated_at IS NULL "
    "WHERE w.clinic = {} AND w.status = 'waiting' AND w.appointment_type = {} "
    "AND (w.provider IS NULL OR w.provider = {}) AND w.earliest <= {} AND w.patient <> {} "
    "AND w.part_of_day IN ('', {}) "
    # an "earlier if possible" entry matches only a start before its appointment, while that one is still to come
    "AND (w.appointment IS NULL OR EXISTS (SELECT 1 FROM appointment a WHERE a.id = w.appointment "
    f"AND a.status IN {statuses.sql_list(statuses.OPEN)} AND a.starts_at > {{}})) "
    "ORDER BY w.created_at, w.id LIMIT {}")


def _part_of_day(hour: int) -> str:
    return "morning" if hour < 12 else ("afternoon" if hour < 17 else "evening")


async def offer_freed_slots(settings: Settings, now: datetime | None = None) -> int:
    """Offer each newly freed start to the first matching waiting patients; returns how many offers went out.

    Freed by a status (cancelled, no-show): read from the appointment, claimed once in `waitlist_freed`. Freed by a
    move or by removing a closure: queued by triggers in `waitlist_freed_slot`, claimed once by `scanned_at`.
    Either way each start goes through `_offer_slot`, the one rule."""
    now = now or datetime.now(timezone.utc)
    made = 0
    for freed in await Appointment.raw(_FREED, now + MIN_NOTICE, now - timedelta(days=2)):
        async with transaction():
            inserted = await WaitlistFreed.raw(
                "INSERT INTO waitlist_freed (appointment, clinic, offers, scanned_at) VALUES ({}, {}, 0, {}) "
                "ON CONFLICT DO NOTHING RETURNING appointment", freed["id"], freed["clinic"], now)
            if not inserted:  # another worker took it
                continue
            offered = await _offer_slot(settings, freed, now)
            await WaitlistFreed.update({WaitlistFreed.offers: offered}).where(WaitlistFreed.appointment == freed["id"])
            made += offered
    async with transaction():  # claimed here once, whatever the number of workers
        queued = await WaitlistFreedSlot.raw(
            "UPDATE waitlist_freed_slot q SET scanned_at = {} FROM clinic c WHERE c.id = q.clinic AND q.id IN "
            "(SELECT id FROM waitlist_freed_slot WHERE scanned_at IS NULL ORDER BY id LIMIT 200 "
            "FOR UPDATE SKIP LOCKED) RETURNING q.*, c.time_zone", now)
    for freed in queued:
        if freed["cause"] == "moved":
            if freed["starts_at"] > now + MIN_NOTICE:
                async with transaction():
                    made += await _offer_slot(settings, {**freed, "id": freed["appointment"]}, now)
        else:
            made += await _offer_reopened(settings, freed, now)
    return made


_STILL_FREE = (
    "SELECT NOT EXISTS (SELECT 1 FROM appointment a WHERE a.clinic = {} AND a.status NOT IN "
    f"{statuses.sql_list(statuses.FREED)} AND (a.provider = {{}} OR a.chair = {{}}) "
    "AND tstzrange(a.starts_at, a.ends_at) && tstzrange({}, {})) AS free")


async def _offer_slot(settings: Settings, freed: dict, now: datetime) -> int:
    """The one rule: a start still free is offered to the first `OFFERS_PER_SLOT` waiting patients who match it
    (type, provider, earliest day, part of day), in the order they joined; never to whoever just left it."""
    still = await Appointment.raw(_STILL_FREE, freed["clinic"], freed["provider"], freed["chair"],
                                  freed["starts_at"], freed["ends_at"])
    if not still[0]["free"]:
        return 0
    local = clock.local(freed["starts_at"], freed["time_zone"])
    matching = await WaitlistEntry.raw(_MATCHING, freed["clinic"], freed["appointment_type"], freed["provider"],
                                       local.date(), freed["patient"] or 0, _part_of_day(local.hour),
                                       freed["starts_at"], OFFERS_PER_SLOT)
    expires = min(now + timedelta(hours=OFFER_HOURS), freed["starts_at"])
    made = 0
    for entry in matching:
        made += await _offer(settings, freed, entry, expires, now)
    return made


REOPENED_SLOTS = 3  # free starts per waited-for type offered when closed days reopen


async def _offer_reopened(settings: Settings, reopened: dict, now: datetime) -> int:
    """Days a removed closure gives back: the first free starts of each type people wait for, each by the one rule."""
    actor = Actor(kind="system", id=0, clinic_id=reopened["clinic"], name="Waitlist",
                  time_zone=reopened["time_zone"])
    first, last = reopened["first_day"], reopened["last_day"]
    kinds = await AppointmentType.raw(
        "SELECT t.id, t.minutes, t.provider_roles FROM appointment_type t WHERE t.clinic = {} AND t.active "
        "AND EXISTS (SELECT 1 FROM waitlist_entry w WHERE w.appointment_type = t.id AND w.status = 'waiting') "
        "ORDER BY t.id", reopened["clinic"])
    if not kinds:
        return 0
    rules = await availability.load_rules(actor, first, last)
    made = 0
    for kind in kinds:
        query = availability.SlotQuery(minutes=kind["minutes"], roles=tuple(kind["provider_roles"].split(",")),
                                       first_day=first, days=(last - first).days + 1, limit=REOPENED_SLOTS)
        for slot in availability.free_slots(rules, query, first, now + MIN_NOTICE):
            freed = {"id": None, "clinic": reopened["clinic"], "patient": None, "provider": slot.provider_id,
                     "chair": slot.chair_id, "appointment_type": kind["id"], "starts_at": slot.starts_at,
                     "ends_at": slot.starts_at + timedelta(minutes=kind["minutes"]),
                     "time_zone": reopened["time_zone"]}
            async with transaction():
                made += await _offer_slot(settings, freed, now)
    return made


async def _offer(settings: Settings, freed: dict, entry: dict, expires: datetime, now: datetime) -> int:
    rows = await WaitlistOffer.raw(
        "INSERT INTO waitlist_offer (clinic, entry, patient, appointment_type, provider, chair, starts_at, ends_at, "
        "freed_appointment, expires_at, created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}) "
        "ON CONFLICT (entry, starts_at) DO NOTHING RETURNING id", freed["clinic"], entry["id"], entry["patient"],
        freed["appointment_type"], freed["provider"], freed["chair"], freed["starts_at"], freed["ends_at"],
        freed["id"], expires, now)
    if not rows:
        return 0
    offer_id = rows[0]["id"]
    enabled = [booking_channel for booking_channel in ("email", "sms", "whatsapp")
               if booking_channel == "email" or await text_channels.in_use(settings, booking_channel)]
    address = {"email": "email", "sms": "phone_mobile", "whatsapp": "phone_mobile"}
    channel = next((c for c in enabled if entry[f"reminder_{c}"] and entry[address[c]]), "")
    if channel:
        clinic = await Clinic.select().where(Clinic.id == freed["clinic"]).first()
        token = tokens.make(settings.secret_key, "offer", freed["clinic"], offer_id, expires)
        context = {"given_name": entry["given_name"], "clinic_name": clinic["name"], "starts_at": freed["starts_at"],
                   "time_zone": clinic["time_zone"], "offer_url": links.absolute_url(settings, f"/offer/{token}"),
                   "clinic_address": clinic["address"] or ""}
        kind = "waitlist_offer" if channel == "email" else "waitlist_offer_text"
        rendered = mail.render(kind, entry["preferred_language"], clinic_language=clinic["locale"],
                               region=clinic["country"], **context)
        await outbox.enqueue(outbox.Email(to=entry[address[channel]], subject=rendered.subject,
                                          text=rendered.text.strip() if channel != "email" else rendered.text,
                                          html=rendered.html), key=f"waitlist-offer:{offer_id}",
                             clinic_id=freed["clinic"], patient_id=entry["patient"],
                             guard_consent=f"reminder_{channel}", channel=channel)
        await WaitlistOffer.update({WaitlistOffer.channel: channel}).where(WaitlistOffer.id == offer_id)
    await audit.record(None, "waitlist.offered", patient_id=entry["patient"], clinic_id=freed["clinic"],
                       object_type="waitlist_offer", object_id=offer_id, detail={"channel": channel})
    return 1


@dataclass(frozen=True)
class OfferVisit:
    visit: booking.Visit
    offer: dict


async def open_offer(secret: str, token: str) -> OfferVisit:
    """The offer behind a link (NotFound for a bad or expired link: one answer for all)."""
    link = tokens.read(secret, token, "offer")
    offer = await WaitlistOffer.select(*WaitlistOffer.all_columns(), WaitlistOffer.appointment_type.name,
                                       WaitlistOffer.provider.name).where(
        (WaitlistOffer.id == link.subject_id) & (WaitlistOffer.clinic == link.clinic_id)).first()
    if offer is None:
        raise NotFound()
    patient = await Patient.select(Patient.given_name, Patient.preferred_language, Patient.isolated_at).where(
        Patient.id == offer["patient"]).first()
    clinic = await Clinic.select().where(Clinic.id == link.clinic_id).first()
    if patient is None or patient["isolated_at"] is not None:
        raise NotFound()
    actor = Actor(kind="patient", id=offer["patient"], clinic_id=link.clinic_id, name="Patient (waitlist offer)",
                  clinic_name=clinic["name"], time_zone=clinic["time_zone"], country=clinic["country"],
                  patient_id=offer["patient"], language=patient["preferred_language"])
    visit = booking.Visit(actor, {**clinic, "given_name": patient["given_name"]},
                          await booking.booking_settings(link.clinic_id))
    return OfferVisit(visit, offer)


def taken_message() -> str:
    return _("Sorry, someone else has just taken this time.")


async def accept(seen: OfferVisit, app_settings: Settings) -> int:
    """Book the offered start for the patient; the first acceptance wins, everyone after is told it is taken."""
    offer, actor = seen.offer, seen.visit.actor
    now = clock.now()
    if offer["status"] == "accepted":
        raise ValidationFailed({"offer": _("You have already accepted this offer.")})
    if offer["status"] != "offered" or offer["expires_at"] <= now:
        raise ValidationFailed({"offer": taken_message() if offer["status"] == "taken"
                                else _("This offer has expired.")})
    local = clock.local(offer["starts_at"], actor.time_zone)
    minutes = str(int((offer["ends_at"] - offer["starts_at"]).total_seconds() // 60))
    # the cancel/move link only where the clinic lets patients change appointments online
    manage_url = (lambda aid: booking.manage_link(app_settings, actor.clinic_id, aid, offer["starts_at"])) \
        if seen.visit.settings["enabled"] else None
    entry = await WaitlistEntry.select(WaitlistEntry.appointment).where(WaitlistEntry.id == offer["entry"]).first()
    try:
        if entry and entry["appointment"]:  # earlier if possible: the patient's appointment moves to the offered time
            await scheduling.move_appointment(actor, entry["appointment"], scheduling.MoveForm(
                date=local.date().isoformat(), time=f"{local:%H:%M}", chair_id=str(offer["chair"]),
                provider_id=str(offer["provider"]), minutes=minutes), by=scheduling.ONLINE, manage_url=manage_url)
            appointment_id = entry["appointment"]
        else:
            appointment_id = await scheduling.book_appointment(actor, scheduling.BookingForm(
                patient_id=str(offer["patient"]), appointment_type_id=str(offer["appointment_type"]),
                provider_id=str(offer["provider"]), chair_id=str(offer["chair"]), date=local.date().isoformat(),
                time=f"{local:%H:%M}", minutes=minutes, notes="Waitlist offer"), by=scheduling.ONLINE,
                manage_url=manage_url)
    except ValidationFailed:
        await WaitlistOffer.update({WaitlistOffer.status: "taken", WaitlistOffer.answered_at: now}).where(
            (WaitlistOffer.id == offer["id"]) & (WaitlistOffer.status == "offered"))
        raise ValidationFailed({"offer": taken_message()}) from None
    async with transaction():
        await WaitlistOffer.update({WaitlistOffer.status: "accepted", WaitlistOffer.answered_at: now,
                                    WaitlistOffer.appointment: appointment_id}).where(WaitlistOffer.id == offer["id"])
        await WaitlistOffer.update({WaitlistOffer.status: "taken", WaitlistOffer.answered_at: now}).where(
            (WaitlistOffer.provider == offer["provider"]) & (WaitlistOffer.starts_at == offer["starts_at"])
            & (WaitlistOffer.status == "offered"))
        await WaitlistEntry.update({WaitlistEntry.status: "booked"}).where(WaitlistEntry.id == offer["entry"])
        await audit.record(actor, "waitlist.accepted", patient_id=offer["patient"], object_type="waitlist_offer",
                           object_id=offer["id"])
    return appointment_id


async def decline(seen: OfferVisit) -> None:
    async with transaction():
        await WaitlistOffer.update({WaitlistOffer.status: "declined", WaitlistOffer.answered_at: clock.now()}).where(
            (WaitlistOffer.id == seen.offer["id"]) & (WaitlistOffer.status == "offered"))
        await audit.record(seen.visit.actor, "waitlist.declined", patient_id=seen.offer["patient"],
                           object_type="waitlist_offer", object_id=seen.offer["id"])
