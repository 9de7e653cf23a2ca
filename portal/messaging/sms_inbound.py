"""SMS both ways: a Twilio-style inbound webhook checked by its signature, each text kept in the patient's
conversation (or a lead's), YES/NO answered like WhatsApp, and STOP/START through the consent ledger.

Twilio signs each POST with `X-Twilio-Signature` (portal/messaging/twilio_signature.py) under the auth token of the
account that owns the number. The number a text was sent to (`To`) says which clinic it is for, and so which token
checks it (the clinic's own account, else the shared one: channel_accounts). Twilio retries, so a text is stored
once by its MessageSid.
"""

import re
from dataclasses import dataclass

from portal import audit, consents, phones
from portal.consents import ConsentChange, ConsentKind
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.i18n import _
from portal.messaging import channel_accounts, conversations, twilio_signature
from portal.permissions import Actor, Permission, require
from portal.settings import Settings
from portal.tables import Clinic

PATH = "/webhooks/sms"
# The opt-out and opt-in words carriers and Twilio honour, and their equivalents in our languages. CANCEL is not
# among them: our reminders ask YES or NO, and "cancel" cancels the appointment (conversations.CANCEL_WORDS).
STOP_WORDS = {"stop", "stopall", "unsubscribe", "end", "quit", "stopp", "afmelden", "abmelden", "dur"}
START_WORDS = {"start", "unstop", "aanmelden", "anmelden", "başla", "basla"}
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
MAX_BODY = 1600  # ten concatenated segments: Twilio's own limit


class MalformedSms(ValueError):
    """A signed request that is not an inbound message of the shape Twilio sends."""


@dataclass(frozen=True)
class InboundSms:
    sender: str  # From, E.164
    to: str  # To: one of our clinics' numbers
    body: str
    sid: str  # MessageSid


async def signature_valid(settings: Settings, fields: list[tuple[str, str]], header: str | None) -> bool:
    """Checked with the token of the account that owns the `To` number; nothing is acted on before."""
    if not header:
        return False
    token = await channel_accounts.sms_token_for_number(settings, dict(fields).get("To", ""))
    return twilio_signature.valid(settings, PATH, fields, header, auth_token=token)


def read_form(fields: list[tuple[str, str]]) -> InboundSms:
    values = dict(fields)
    sender, to, sid = values.get("From", ""), values.get("To", ""), values.get("MessageSid", "")
    body = values.get("Body", "")
    if not E164.match(sender) or not E164.match(to):
        raise MalformedSms("From and To must be E.164 numbers")
    if not SID.match(sid):
        raise MalformedSms("MessageSid is not a message id")
    if len(body) > MAX_BODY:
        raise MalformedSms(f"Body is longer than {MAX_BODY} characters")
    return InboundSms(sender=sender, to=to, body=body, sid=sid)


def keyword(text: str) -> str | None:
    """'stop' or 'start' when the whole message is one of those words, else None."""
    word = text.strip().strip(".!").casefold()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    return None


async def receive(sms: InboundSms) -> bool:
    """Store and act on one verified inbound text; False when it was a retry or for no clinic of ours."""
    clinic = await Clinic.select(Clinic.id, Clinic.time_zone, Clinic.locale, Clinic.country).where(
        (Clinic.sms_number == sms.to) & (Clinic.sms_number != "")).first()
    if clinic is None:
        return False
    async with transaction():
        stored, patient = await conversations.store_inbound(clinic, "sms", sms.sender, "", sms.sid, sms.body)
        if stored is None:
            return False
        wanted = keyword(sms.body)
        if patient is None:
            return True
        if wanted is not None:
            # The patient's own word, kept in the consent ledger like a tap in the privacy centre; the clinic sees it
            # as the outcome beside the message. No reply to STOP: the provider confirms it, and we may not text.
            granted = wanted == "start"
            await consents.record_change(None, clinic["id"], patient["id"], ConsentChange(
                kind=ConsentKind.REMINDER_SMS, granted=granted, source="sms_keyword"), actor_kind="patient")
            await conversations.set_outcome(stored, "sms_started" if granted else "sms_stopped")
            return True
        await conversations.answer(clinic, "sms", patient, sms.sender, sms.sid, stored, sms.body)
    return True


async def sms_number(actor: Actor) -> str:
    row = await Clinic.select(Clinic.sms_number).where(Clinic.id == actor.clinic_id).first()
    return row["sms_number"] if row else ""


async def set_sms_number(actor: Actor, raw: str, country: str) -> str:
    """The number this clinic's SMS come from and replies reach (E.164), or '' for the shared default sender."""
    require(actor, Permission.MANAGE_CLINIC)
    try:
        number = phones.to_e164(raw, country)
    except phones.InvalidPhone:
        raise ValidationFailed({"sms_number": _("This is not a phone number we can send from.")}) from None
    if number and await Clinic.exists().where((Clinic.sms_number == number) & (Clinic.id != actor.clinic_id)):
        raise ValidationFailed({"sms_number": _("Another clinic already uses this number.")})
    async with transaction():
        await Clinic.update({Clinic.sms_number: number}).where(Clinic.id == actor.clinic_id)
        await audit.record(actor, "clinic.sms_number", detail={"sms_number": number})
    return number
