"""WhatsApp conversations: the webhook's checks, matching a sender to a patient of the clinic that owns the
business number, replies that confirm or cancel the next appointment, and leads for unknown numbers.

Meta signs each POST with `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with the app secret>`. The
body is read only to learn which business number it is about (so which clinic's app secret signs it: its own,
else the shared WHATSAPP_APP_SECRET); anything unsigned or wrongly signed is refused before any of it is acted
on. Meta retries deliveries, so each
message is stored once by its provider id and acted on only the first time.
"""

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

from portal import audit, display, i18n, patients
from portal.calendar import scheduling, statuses
from portal.contacts import changes as contact_changes
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.i18n import N_, gettext
from portal.messaging import channel_accounts, outbox
from portal.permissions import Actor, Permission, require
from portal.settings import Settings
from portal.tables import Appointment, Clinic, ConversationMessage, Lead, Patient

# The answers the reminder text asks for (YES/NO), in each shipped language (en, nl, de, tr).
CONFIRM_WORDS = {"yes", "y", "ja", "j", "ok", "confirm", "bevestig", "bestätigen", "evet", "e", "onayla", "1"}
CANCEL_WORDS = {"no", "n", "nee", "nein", "cancel", "annuleer", "annuleren", "absagen", "hayır", "hayir", "h",
                "iptal", "2"}
# Translated into the patient's language (else the clinic's) when sent: portal/locale catalogues.
REPLIES = {"confirmed": N_("Thank you, your appointment on %(when)s is confirmed."),
           "cancelled": N_("Your appointment on %(when)s is cancelled. Call us to book a new one."),
           "no_appointment": N_("We found no upcoming appointment to change. Please call us.")}
display.register_labels("message_outcome", {statuses.Status.CONFIRMED: N_("Confirmed"),
                                             statuses.Status.CANCELLED: N_("Cancelled"),
                                             "no_appointment": N_("No appointment to change"),
                                             "sms_stopped": N_("SMS consent withdrawn (STOP)"),
                                             "sms_started": N_("SMS consent given (START)")})


def signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of X-Hub-Signature-256; False without a configured secret."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.removeprefix("sha256="), expected)


class SignatureRefused(Exception):
    """No signature, or not the one the number's app would make."""


def _number_ids(payload) -> set[str]:
    """The business numbers a (not yet verified) payload is about; shapes are checked later, after the signature."""
    found = set()
    entries = payload.get("entry") if isinstance(payload, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            metadata = value.get("metadata") if isinstance(value, dict) else None
            if isinstance(metadata, dict) and isinstance(metadata.get("phone_number_id"), (str, int)):
                found.add(str(metadata["phone_number_id"]))
    return found


async def read_signed(settings: Settings, body: bytes, header: str | None) -> list[tuple[str, str, str, str, str]]:
    """The messages of a webhook POST signed by the app of the number(s) it is about (read_payload's tuples).
    Raises SignatureRefused, or MalformedPayload for a signed body that is not Meta's shape."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        payload = None
    secrets = {await channel_accounts.whatsapp_secret_for_number(settings, n) for n in _number_ids(payload)}
    secrets = secrets or {settings.whatsapp_app_secret}
    # One delivery comes from one app: numbers of two apps in one body cannot all be signed, so it is refused.
    if len(secrets) != 1 or not signature_valid(secrets.pop(), body, header):
        raise SignatureRefused()
    if payload is None:
        raise MalformedPayload("not JSON")
    return read_payload(payload)


def verify_subscription(settings: Settings, mode: str, token: str, challenge: str) -> str | None:
    """Meta's GET handshake: the challenge back when the verify token matches, else None."""
    if mode == "subscribe" and settings.whatsapp_verify_token and hmac.compare_digest(
            token.encode(), settings.whatsapp_verify_token.encode()):
        return challenge
    return None


def intent(text: str) -> str | None:
    word = text.strip().strip(".!").lower()
    return "confirm" if word in CONFIRM_WORDS else "cancel" if word in CANCEL_WORDS else None


class MalformedPayload(ValueError):
    """A signed webhook body that is not the shape Meta documents: refused whole (400), nothing stored."""


def _shape(value, kind: type, where: str):
    """`value` as `kind` (a missing value is an empty one); anything else is a malformed payload."""
    if value is None:
        return kind()
    if not isinstance(value, kind):
        raise MalformedPayload(f"{where} is {type(value).__name__}, not {kind.__name__}")
    return value


def _scalar(value, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MalformedPayload(f"{where} is {type(value).__name__}, not text")
    return str(value)


def read_payload(payload) -> list[tuple[str, str, str, str, str]]:
    """(phone_number_id, sender E.164, profile name, provider id, text) for each message in a webhook POST;
    the whole payload is checked before anything is acted on."""
    found = []
    for entry in _shape(_shape(payload, dict, "payload").get("entry"), list, "entry"):
        for change in _shape(_shape(entry, dict, "entry item").get("changes"), list, "changes"):
            value = _shape(_shape(change, dict, "change").get("value"), dict, "value")
            number_id = _scalar(_shape(value.get("metadata"), dict, "metadata").get("phone_number_id"),
                                "phone_number_id")
            names = {}
            for contact in _shape(value.get("contacts"), list, "contacts"):
                contact = _shape(contact, dict, "contact")
                names[_scalar(contact.get("wa_id"), "wa_id")] = _scalar(
                    _shape(contact.get("profile"), dict, "profile").get("name"), "profile name")
            for message in _shape(value.get("messages"), list, "messages"):
                message = _shape(message, dict, "message")
                sender = _scalar(message.get("from"), "from")
                reply = _shape(_shape(message.get("interactive"), dict, "interactive").get("button_reply"), dict,
                               "button_reply")
                text = (_scalar(_shape(message.get("text"), dict, "text").get("body"), "text body")
                        or _scalar(_shape(message.get("button"), dict, "button").get("text"), "button text")
                        or _scalar(reply.get("title"), "button title"))
                provider_id = _scalar(message.get("id"), "message id")
                if sender.isdigit() and len(sender) <= 15 and 0 < len(provider_id) <= 200:  # E.164, the column
                    found.append((number_id, "+" + sender, names.get(sender, ""), provider_id, text[:4000]))
    return found


async def receive(settings: Settings, messages: list[tuple[str, str, str, str, str]]) -> int:
    """Store and act on each message of a verified webhook POST (from read_payload); returns how many were new."""
    new = 0
    for number_id, phone, name, provider_id, text in messages:
        clinic = await Clinic.select(Clinic.id, Clinic.time_zone, Clinic.locale, Clinic.country).where(
            (Clinic.whatsapp_phone_number_id == number_id) & (Clinic.whatsapp_phone_number_id != "")).first()
        if clinic is None:
            continue
        async with transaction():
            new += await _receive_one(clinic, phone, name, provider_id, text)
    return new


async def _receive_one(clinic: dict, phone: str, name: str, provider_id: str, text: str) -> int:
    stored, patient = await store_inbound(clinic, "whatsapp", phone, name, provider_id, text)
    if stored is None:
        return 0  # a retried delivery: already handled
    if patient is not None:
        await answer(clinic, "whatsapp", patient, phone, provider_id, stored, text)
    return 1


async def patient_by_phone(clinic_id: int, phone: str) -> dict | None:
    """The one patient whose confirmed mobile number this is, else None.

    Only a confirmed mobile number (portal/contacts) names a patient, and only one: a number on two records is a
    lead for staff to sort out, never "the newest record wins"."""
    matches = await Patient.select(Patient.id, Patient.restricted_at, Patient.preferred_language).where(
        (Patient.clinic == clinic_id) & (Patient.phone_mobile == phone) & Patient.isolated_at.is_null()).limit(2)
    return matches[0] if len(matches) == 1 else None


async def store_inbound(clinic: dict, channel: str, phone: str, name: str, provider_id: str,
                        text: str) -> tuple[int | None, dict | None]:
    """Keep an incoming text in the conversation of the patient who holds the number, or of a lead when nobody
    does; (None, None) for a delivery already stored (providers retry). Audited either way."""
    patient = await patient_by_phone(clinic["id"], phone)
    lead_id = None
    if patient is None:
        rows = await Lead.raw(
            "INSERT INTO lead (clinic, phone, name) VALUES ({}, {}, {}) ON CONFLICT (clinic, phone) "
            "DO UPDATE SET name = CASE WHEN lead.name = '' THEN EXCLUDED.name ELSE lead.name END RETURNING id",
            clinic["id"], phone, name[:200])
        lead_id = rows[0]["id"]
    stored = await ConversationMessage.raw(
        "INSERT INTO conversation_message (clinic, patient, lead, channel, direction, phone, body, "
        "provider_message_id) VALUES ({}, {}, {}, {}, 'in', {}, {}, {}) "
        "ON CONFLICT (channel, provider_message_id) WHERE provider_message_id IS NOT NULL DO NOTHING RETURNING id",
        clinic["id"], patient["id"] if patient else None, lead_id, channel, phone, text, provider_id)
    if not stored:
        return None, None
    if patient is None:
        await audit.record(None, f"{channel}.lead_message", object_type="lead", object_id=lead_id,
                           clinic_id=clinic["id"])
    else:
        await audit.record(None, f"{channel}.received", patient_id=patient["id"],
                           object_type="conversation_message", object_id=stored[0]["id"], clinic_id=clinic["id"])
    return stored[0]["id"], patient


async def set_outcome(message_id: int, outcome: str) -> None:
    await ConversationMessage.update({ConversationMessage.outcome: outcome}).where(
        ConversationMessage.id == message_id)


async def answer(clinic: dict, channel: str, patient: dict, phone: str, provider_id: str, stored_id: int,
                 text: str) -> None:
    """A YES or NO confirms or cancels the next appointment and is answered on the same channel; anything else
    waits for staff in the patient's record."""
    wanted = intent(text)
    if wanted is None or patient["restricted_at"] is not None:
        return
    outcome, when = await _act_on_next_appointment(clinic, patient["id"], wanted)
    await set_outcome(stored_id, outcome)
    with i18n.using(i18n.choose(patient["preferred_language"], clinic["locale"]), clinic["country"]):
        when_text = display.format_instant(when, clinic["time_zone"]) if when else ""
        reply = i18n.gettext(REPLIES[outcome], when=when_text)
    await queue_reply(clinic["id"], patient["id"], phone, reply, key=f"{channel}-reply:{provider_id}", channel=channel)


async def _act_on_next_appointment(clinic: dict, patient_id: int, wanted: str) -> tuple[str, datetime | None]:
    """Confirm or cancel the patient's next booked/confirmed appointment (the patient is the actor)."""
    now = datetime.now(timezone.utc)
    row = await Appointment.select(Appointment.id, Appointment.status, Appointment.starts_at).where(
        (Appointment.clinic == clinic["id"]) & (Appointment.patient == patient_id)
        & Appointment.status.is_in(list(statuses.OPEN)) & (Appointment.starts_at > now)
    ).order_by(Appointment.starts_at).first()
    if row is None:
        return "no_appointment", None
    status = statuses.Status.CONFIRMED if wanted == "confirm" else statuses.Status.CANCELLED
    if status == row["status"]:
        return status.value, row["starts_at"]
    reason = "Cancelled by the patient on WhatsApp" if status == statuses.Status.CANCELLED else ""
    patient = Actor(kind="patient", id=patient_id, clinic_id=clinic["id"], name="Patient (WhatsApp)",
                    time_zone=clinic["time_zone"], patient_id=patient_id)
    await scheduling.set_status(patient, row["id"], status, reason, by=scheduling.WHATSAPP_REPLY)
    return status.value, row["starts_at"]


async def queue_reply(clinic_id: int, patient_id: int | None, phone: str, body: str, *, key: str,
                      lead_id: int | None = None, channel: str = "whatsapp") -> None:
    """A text answering the patient (on WhatsApp inside the 24-hour window their message opens), kept in the
    conversation."""
    if await outbox.enqueue(outbox.Email(to=phone, subject="", text=body), key=key, clinic_id=clinic_id,
                            patient_id=patient_id, channel=channel):
        await ConversationMessage.insert(ConversationMessage(
            clinic=clinic_id, patient=patient_id, lead=lead_id, channel=channel, direction="out", phone=phone,
            body=body, at=datetime.now(timezone.utc)))


async def conversation(actor: Actor, patient_id: int) -> list[dict]:
    """The patient's messages, oldest first (reading them is audited)."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    async with transaction():
        if not await Patient.exists().where((Patient.id == patient_id) & (Patient.clinic == actor.clinic_id)):
            raise NotFound()
        rows = await ConversationMessage.select().where(
            (ConversationMessage.patient == patient_id) & (ConversationMessage.clinic == actor.clinic_id)
        ).order_by(ConversationMessage.at).order_by(ConversationMessage.id)
        await audit.record(actor, "conversation.viewed", patient_id=patient_id, object_type="patient",
                           object_id=patient_id)
    return rows


async def open_leads(actor: Actor) -> list[dict]:
    require(actor, Permission.READ_DEMOGRAPHICS)
    leads = await Lead.select().where((Lead.clinic == actor.clinic_id) & Lead.patient.is_null()).order_by(
        Lead.created_at, ascending=False).output(load_json=True)
    for lead in leads:
        lead["messages"] = await ConversationMessage.select(
                ConversationMessage.body, ConversationMessage.at, ConversationMessage.channel,
                ConversationMessage.subject).where(
            (ConversationMessage.lead == lead["id"]) & (ConversationMessage.clinic == actor.clinic_id)
        ).order_by(ConversationMessage.at)
    if leads:
        await audit.record(actor, "leads.viewed", object_type="lead", detail={"leads": [x["id"] for x in leads]})
    return leads


async def convert_lead(actor: Actor, lead_id: int, form: patients.PatientForm) -> int:
    """Turn a lead into a patient (their number prefilled); the conversation moves to the new record."""
    require(actor, Permission.EDIT_DEMOGRAPHICS)
    lead = await Lead.select().where((Lead.id == lead_id) & (Lead.clinic == actor.clinic_id)
                                     & Lead.patient.is_null()).first()
    if lead is None:
        raise NotFound()
    from dataclasses import replace

    async with transaction():
        patient_id = await patients.create_patient(actor, replace(
            form, phone_mobile=lead["phone"] or form.phone_mobile, email=lead["email"] or form.email,
            preferred_language=form.preferred_language or "en"))
        if lead["phone"]:  # the provider vouches for a number that wrote first; a mail sender is not proof
            await contact_changes.confirm_inbound(actor, actor.clinic_id, patient_id, lead["phone"])
        await Lead.update({Lead.patient: patient_id, Lead.converted_at: datetime.now(timezone.utc)}).where(
            Lead.id == lead_id)
        await ConversationMessage.update({ConversationMessage.patient: patient_id}).where(
            (ConversationMessage.lead == lead_id) & (ConversationMessage.clinic == actor.clinic_id))
        await audit.record(actor, "lead.converted", patient_id=patient_id, object_type="lead", object_id=lead_id)
    return patient_id



async def whatsapp_number_id(actor: Actor) -> str:
    row = await Clinic.select(Clinic.whatsapp_phone_number_id).where(Clinic.id == actor.clinic_id).first()
    return row["whatsapp_phone_number_id"] if row else ""


async def set_whatsapp_number_id(actor: Actor, number_id: str) -> None:
    """Which WhatsApp business number (Meta's phone number id) writes for this clinic; empty for none."""
    from portal.errors import ValidationFailed

    require(actor, Permission.MANAGE_CLINIC)
    number_id = number_id.strip()
    if number_id and (not number_id.isdigit() or len(number_id) > 40):
        raise ValidationFailed({"whatsapp_phone_number_id": gettext(
            "Paste the phone number id from Meta's WhatsApp Manager (digits only).")})
    taken = number_id and await Clinic.exists().where((Clinic.whatsapp_phone_number_id == number_id)
                                                      & (Clinic.id != actor.clinic_id))
    if taken:
        raise ValidationFailed({"whatsapp_phone_number_id": gettext("Another clinic already uses this number.")})
    async with transaction():
        await Clinic.update({Clinic.whatsapp_phone_number_id: number_id}).where(Clinic.id == actor.clinic_id)
        await audit.record(actor, "clinic.whatsapp_number", detail={"phone_number_id": number_id})


REPLY_WINDOW = timedelta(hours=24)


async def reply(actor: Actor, patient_id: int, body: str) -> None:
    """Staff answer on WhatsApp; free text is allowed only within 24 hours of the patient's last message."""
    require(actor, Permission.MANAGE_CALENDAR)
    patient = await Patient.select(Patient.id, Patient.restricted_at).where(
        (Patient.id == patient_id) & (Patient.clinic == actor.clinic_id)).first()
    if patient is None:
        raise NotFound()
    body = body.strip()
    last = await ConversationMessage.select(ConversationMessage.phone, ConversationMessage.at).where(
        (ConversationMessage.patient == patient_id) & (ConversationMessage.clinic == actor.clinic_id)
        & (ConversationMessage.direction == "in") & (ConversationMessage.channel == "whatsapp")
    ).order_by(ConversationMessage.at, ascending=False).first()
    errors = {}
    if not body or len(body) > 1000:
        errors["body"] = gettext("Write a message of at most 1000 characters.")
    if last is None or last["at"] < datetime.now(timezone.utc) - REPLY_WINDOW:
        errors["body"] = gettext("WhatsApp allows a free reply only within 24 hours of the patient's last message.")
    if patient["restricted_at"] is not None:
        errors["body"] = gettext("Processing of this patient's data is restricted.")
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        await queue_reply(actor.clinic_id, patient_id, last["phone"], body,
                          key=f"whatsapp-staff:{patient_id}:{datetime.now(timezone.utc).timestamp()}")
        await audit.record(actor, "whatsapp.replied", patient_id=patient_id, object_type="patient",
                           object_id=patient_id)
