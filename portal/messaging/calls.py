"""Calls through a Twilio-style voice webhook: the caller matched to a patient by confirmed mobile number, the
front desk's live panel, and a recording only when the patient consented to call recording and the announcement
played first; recordings fetched from the provider (then deleted there), kept CALL_RECORDING_DAYS, audited.

Twilio posts each incoming call (`CallSid`, `From`, `To`) and expects TwiML back; `To` names the clinic. With
consent we answer `<Say>` (the announcement) then `<Dial record=…>`, so recording starts only after the caller
heard it; without, a plain `<Dial>`. A recording callback for a call we did not allow to be recorded is deleted at
the provider and never stored. Recording URLs are fetched only under the provider's API for our account (never an
address from the request), with the account's credentials.
"""

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape, quoteattr

import httpx

from portal import audit, consents, display, i18n, job_queue, links, phones
from portal.consents import ConsentKind
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.i18n import N_, _, lazy_gettext
from portal.messaging import channel_accounts, conversations, twilio_signature
from portal.permissions import Actor, Permission, require
from portal.settings import Settings
from portal.tables import CallRecording, Clinic, Patient, PhoneCall

log = logging.getLogger(__name__)

PATH = "/webhooks/voice"
STATUS_PATH = "/webhooks/voice/status"
RECORDING_PATH = "/webhooks/voice/recording"
CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
STATUSES = {"queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"}
LIVE = ("ringing", "in-progress")
LIVE_WINDOW = timedelta(minutes=30)
SAY_LANGUAGE = {"en": "en-GB", "nl": "nl-NL", "de": "de-DE", "tr": "tr-TR"}
ANNOUNCEMENT = N_("This call is recorded for your dental record, as you agreed in our privacy centre. "
                  "You can withdraw that consent at any time.")
NOT_IN_USE = N_("This number is not in use. Please call the practice directly.")
display.register_labels("call_status", {
    "queued": lazy_gettext("Queued"), "ringing": lazy_gettext("Ringing"), "in-progress": lazy_gettext("Answered"),
    "completed": lazy_gettext("Ended"), "busy": lazy_gettext("Busy"), "failed": lazy_gettext("Failed"),
    "no-answer": lazy_gettext("Not answered"), "canceled": lazy_gettext("Hung up before answer")})


class MalformedCall(ValueError):
    """A signed request that is not a call event of the shape Twilio sends."""


@dataclass(frozen=True)
class IncomingCall:
    sid: str
    caller: str
    to: str


def read_incoming(fields: list[tuple[str, str]]) -> IncomingCall:
    values = dict(fields)
    sid, caller, to = values.get("CallSid", ""), values.get("From", ""), values.get("To", "")
    if not CALL_SID.match(sid) or not E164.match(to):
        raise MalformedCall("CallSid and To are required")
    if caller and not E164.match(caller):
        caller = ""  # a withheld number ("anonymous"): the call rings, nobody is matched
    return IncomingCall(sid=sid, caller=caller, to=to)


def _twiml(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


async def answer_incoming(settings: Settings, call: IncomingCall) -> str:
    """Log the call, match the caller, and say what Twilio does next (TwiML)."""
    clinic = await Clinic.select(Clinic.id, Clinic.voice_forward_to, Clinic.locale, Clinic.country).where(
        (Clinic.voice_number == call.to) & (Clinic.voice_number != "")).first()
    if clinic is None or not clinic["voice_forward_to"]:
        with i18n.using(i18n.choose(clinic["locale"] if clinic else None), clinic["country"] if clinic else ""):
            return _twiml(f"<Say>{escape(i18n.gettext(NOT_IN_USE))}</Say>", "<Hangup/>")
    async with transaction():
        patient = await conversations.patient_by_phone(clinic["id"], call.caller) if call.caller else None
        allowed = bool(patient and patient["restricted_at"] is None
                       and (await consents.current(patient["id"]))[ConsentKind.CALL_RECORDING])
        rows = await PhoneCall.raw(
            "INSERT INTO phone_call (clinic, patient, caller, call_sid, recording_allowed, started_at) "
            "VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT (call_sid) DO UPDATE SET call_sid = EXCLUDED.call_sid "
            "RETURNING id, recording_allowed", clinic["id"], patient["id"] if patient else None, call.caller,
            call.sid, allowed, datetime.now(timezone.utc))
        allowed = rows[0]["recording_allowed"]  # a retried webhook answers as the first one did
        await audit.record(None, "call.received", patient_id=patient["id"] if patient else None,
                           object_type="phone_call", object_id=rows[0]["id"], clinic_id=clinic["id"],
                           detail={"recorded": allowed})
    forward = escape(clinic["voice_forward_to"])
    if not allowed:
        return _twiml(f"<Dial>{forward}</Dial>")
    language = i18n.choose(patient["preferred_language"], clinic["locale"])
    with i18n.using(language, clinic["country"]):
        announcement = escape(i18n.gettext(ANNOUNCEMENT))
    callback = quoteattr(links.absolute_url(settings, RECORDING_PATH))
    return _twiml(f'<Say language="{SAY_LANGUAGE[language]}">{announcement}</Say>',
                  f'<Dial record="record-from-answer-dual" recordingStatusCallback={callback} '
                  f'recordingStatusCallbackEvent="completed">{forward}</Dial>')


async def call_status(fields: list[tuple[str, str]]) -> None:
    """The call's progress (status callback): the live panel shows ringing and answered calls."""
    values = dict(fields)
    sid, status = values.get("CallSid", ""), values.get("CallStatus", "")
    if not CALL_SID.match(sid) or status not in STATUSES:
        raise MalformedCall("CallSid and a known CallStatus are required")
    duration = values.get("CallDuration", "")
    changes = {PhoneCall.status: status}
    if status not in LIVE:
        changes[PhoneCall.ended_at] = datetime.now(timezone.utc)
        if duration.isdigit():
            changes[PhoneCall.duration_seconds] = int(duration)
    await PhoneCall.update(changes).where(PhoneCall.call_sid == sid)


async def callback_clinic(fields: list[tuple[str, str]]) -> int | None:
    """The clinic a voice callback concerns: the owner of the number called (`To`), else the clinic of the call
    we logged (a recording callback names only the CallSid); None for a call we know nothing of."""
    values = dict(fields)
    if values.get("To"):
        row = await Clinic.select(Clinic.id).where((Clinic.voice_number == values["To"])
                                                   & (Clinic.voice_number != "")).first()
        if row is not None:
            return row["id"]
    if values.get("CallSid"):
        row = await PhoneCall.select(PhoneCall.clinic).where(PhoneCall.call_sid == values["CallSid"]).first()
        if row is not None:
            return row["clinic"]
    return None


async def signature_valid(settings: Settings, path: str, fields: list[tuple[str, str]], header: str | None) -> bool:
    """Twilio's signature, checked with the token of the account of the clinic the callback concerns: its own
    account when it saved one (the shared token is then refused), else the shared one."""
    if not header:
        return False
    _account_sid, token = await channel_accounts.twilio_account(settings, await callback_clinic(fields))
    return twilio_signature.valid(settings, path, fields, header, auth_token=token)


def _account_prefix(settings: Settings, account_sid: str) -> str:
    return f"{settings.sms_api_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Recordings/"


async def recording_ready(settings: Settings, fields: list[tuple[str, str]]) -> None:
    """A finished recording: keep it (fetched by a job) only for a call we allowed to be recorded."""
    values = dict(fields)
    call_sid, recording_sid = values.get("CallSid", ""), values.get("RecordingSid", "")
    url = values.get("RecordingUrl", "")
    if not CALL_SID.match(call_sid) or not RECORDING_SID.match(recording_sid):
        raise MalformedCall("CallSid and RecordingSid are required")
    call = await PhoneCall.select(PhoneCall.id, PhoneCall.clinic, PhoneCall.recording_allowed).where(
        PhoneCall.call_sid == call_sid).first()
    clinic_id = call["clinic"] if call else None
    account_sid, _token = await channel_accounts.twilio_account(settings, clinic_id)
    if url != _account_prefix(settings, account_sid) + recording_sid:
        raise MalformedCall("RecordingUrl is not our account's recording")
    if values.get("RecordingStatus", "completed") != "completed":
        return
    async with transaction():
        if call is None or not call["recording_allowed"]:
            log.warning("recording %s of a call without consent: deleting it at the provider", recording_sid)
            await job_queue.defer("calls.delete_recording", recording_sid=recording_sid, clinic_id=clinic_id)
            return
        duration = values.get("RecordingDuration", "0")
        rows = await CallRecording.raw(
            "INSERT INTO call_recording (call, recording_sid, media_url, duration_seconds, created_at) "
            "VALUES ({}, {}, {}, {}, {}) ON CONFLICT (recording_sid) DO NOTHING RETURNING id", call["id"],
            recording_sid, url, int(duration) if duration.isdigit() else 0, datetime.now(timezone.utc))
        if rows:
            await job_queue.defer("calls.fetch_recording", recording_id=rows[0]["id"], clinic_id=call["clinic"])


async def fetch_recording(settings: Settings, recording_id: int, client: httpx.AsyncClient | None = None) -> bool:
    """Download the audio into our database, then delete it at the provider so no copy stays there."""
    rows = await CallRecording.raw("SELECT r.media_url, r.data IS NOT NULL AS fetched, c.clinic FROM call_recording r "
                                   "JOIN phone_call c ON c.id = r.call WHERE r.id = {}", recording_id)
    row = rows[0] if rows else None
    if row is None or row["fetched"]:
        return False
    auth = await channel_accounts.twilio_account(settings, row["clinic"])
    async with httpx.AsyncClient(timeout=30) if client is None else _Borrowed(client) as http:
        media = await http.get(row["media_url"] + ".mp3", auth=auth)
        media.raise_for_status()
        await CallRecording.update({CallRecording.data: media.content, CallRecording.fetched_at:
                                    datetime.now(timezone.utc)}).where(CallRecording.id == recording_id)
        deleted = await http.delete(row["media_url"] + ".json", auth=auth)
        if deleted.status_code not in (204, 404):
            deleted.raise_for_status()
    return True


async def delete_at_provider(settings: Settings, recording_sid: str, clinic_id: int | None = None,
                             client: httpx.AsyncClient | None = None) -> None:
    """Delete a recording we may not keep, through the account of the clinic whose call it was."""
    account_sid, token = await channel_accounts.twilio_account(settings, clinic_id)
    async with httpx.AsyncClient(timeout=30) if client is None else _Borrowed(client) as http:
        response = await http.delete(f"{_account_prefix(settings, account_sid)}{recording_sid}.json",
                                     auth=(account_sid, token))
        if response.status_code not in (204, 404):
            response.raise_for_status()


class _Borrowed:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __aenter__(self) -> httpx.AsyncClient:
        return self.client

    async def __aexit__(self, *exc) -> None:
        return None


async def live(actor: Actor) -> list[dict]:
    """Calls ringing or answered now, newest first, with the patient when the number is theirs."""
    require(actor, Permission.MANAGE_CALENDAR)
    return await PhoneCall.raw(
        "SELECT c.id, c.caller, c.status, c.started_at, c.recording_allowed, p.id AS patient_id, p.given_name, "
        "p.family_name FROM phone_call c LEFT JOIN patient p ON p.id = c.patient WHERE c.clinic = {} "
        "AND c.status IN ('ringing', 'in-progress') AND c.started_at > {} ORDER BY c.started_at DESC LIMIT 10",
        actor.clinic_id, datetime.now(timezone.utc) - LIVE_WINDOW)


async def voice_numbers(actor: Actor) -> dict:
    row = await Clinic.select(Clinic.voice_number, Clinic.voice_forward_to).where(Clinic.id == actor.clinic_id).first()
    return row or {"voice_number": "", "voice_forward_to": ""}


async def set_voice_numbers(actor: Actor, voice_number: str, forward_to: str, country: str) -> None:
    """The provider number patients call and the number those calls ring (both E.164; both empty for none)."""
    require(actor, Permission.MANAGE_CLINIC)
    numbers, errors = {}, {}
    for field, raw in (("voice_number", voice_number), ("voice_forward_to", forward_to)):
        try:
            numbers[field] = phones.to_e164(raw, country)
        except phones.InvalidPhone:
            errors[field] = _("This is not a phone number.")
    if not errors and bool(numbers["voice_number"]) != bool(numbers["voice_forward_to"]):
        errors["voice_forward_to" if numbers["voice_number"] else "voice_number"] = _(
            "Give both numbers, or neither to switch calls off.")
    if not errors and numbers["voice_number"] and await Clinic.exists().where(
            (Clinic.voice_number == numbers["voice_number"]) & (Clinic.id != actor.clinic_id)):
        errors["voice_number"] = _("Another clinic already uses this number.")
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        await Clinic.update({Clinic.voice_number: numbers["voice_number"],
                             Clinic.voice_forward_to: numbers["voice_forward_to"]}).where(Clinic.id == actor.clinic_id)
        await audit.record(actor, "clinic.voice_numbers", detail=numbers)


async def recent(actor: Actor, limit: int = 50) -> list[dict]:
    """The clinic's latest calls (the log: who called when, matched or not, recorded or not)."""
    require(actor, Permission.MANAGE_CALENDAR)
    rows = await PhoneCall.raw(
        "SELECT c.id, c.caller, c.status, c.started_at, c.duration_seconds, c.recording_allowed, p.id AS patient_id, "
        "p.given_name, p.family_name FROM phone_call c LEFT JOIN patient p ON p.id = c.patient WHERE c.clinic = {} "
        "ORDER BY c.started_at DESC LIMIT {}", actor.clinic_id, limit)
    if rows:
        await audit.record(actor, "calls.log_viewed", object_type="phone_call",
                           detail={"patients": sorted({r["patient_id"] for r in rows if r["patient_id"]})})
    return rows


async def of_patient(actor: Actor, patient_id: int) -> list[dict]:
    """The patient's calls with their recordings (audited: who looked at the call log)."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    async with transaction():
        if not await Patient.exists().where((Patient.id == patient_id) & (Patient.clinic == actor.clinic_id)):
            raise NotFound()
        rows = await PhoneCall.raw(
            "SELECT c.id, c.caller, c.status, c.started_at, c.duration_seconds, c.recording_allowed, r.id AS "
            "recording_id, r.duration_seconds AS recording_seconds, r.data IS NOT NULL AS recording_kept "
            "FROM phone_call c LEFT JOIN call_recording r ON r.call = c.id WHERE c.clinic = {} AND c.patient = {} "
            "ORDER BY c.started_at DESC", actor.clinic_id, patient_id)
        await audit.record(actor, "calls.viewed", patient_id=patient_id, object_type="patient", object_id=patient_id)
    return rows


async def recording_audio(actor: Actor, patient_id: int, recording_id: int) -> dict:
    """A recording to listen to (audited every time)."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    rows = await CallRecording.raw(
        "SELECT r.id, r.content_type, r.data FROM call_recording r JOIN phone_call c ON c.id = r.call "
        "WHERE r.id = {} AND c.patient = {} AND c.clinic = {} AND r.data IS NOT NULL",
        recording_id, patient_id, actor.clinic_id)
    if not rows:
        raise NotFound()
    await audit.record(actor, "call.recording_played", patient_id=patient_id, object_type="call_recording",
                       object_id=recording_id)
    return rows[0]


async def purge_recordings(days: int, now: datetime | None = None) -> int:
    """Recordings past their retention (CALL_RECORDING_DAYS after the call) are deleted; the call log stays."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    return len(await CallRecording.raw(
        "DELETE FROM call_recording r USING phone_call c WHERE c.id = r.call AND c.started_at < {} RETURNING r.id",
        cutoff))
