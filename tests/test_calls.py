"""Calls through a Twilio-style voice webhook: signed callbacks only, the caller matched by confirmed mobile number,
recorded only with consent and after the announcement, recordings fetched from the stand-in (then deleted there),
a recording we never allowed deleted unseen, the live panel, listening audited, export, erasure and retention."""

import base64
import hashlib
import hmac
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from portal import consents
from portal.app import create_app
from portal.consents import ConsentChange, ConsentKind
from portal.messaging import calls
from portal.permissions import Role
from portal.privacy.registry import CATEGORIES
from portal.tables import AuditEntry, CallRecording, Clinic, JobRun, PhoneCall
from tests import factories
from tests.factories import sign_in_as
from tests.provider_stub import OWN_SID, OWN_TOKEN, SID, TOKEN

BASE = "http://testserver"
VOICE, DESK, CALLER = "+3197010000002", "+31201234567", "+31611122233"
CALL_SID, REC_SID = "CA" + "1" * 32, "RE" + "2" * 32


def _signature(url: str, fields: dict, token: str = TOKEN) -> str:
    payload = url + "".join(f"{k}{fields[k]}" for k in sorted(fields))
    return base64.b64encode(hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()).decode()


@pytest.fixture
def voice_settings(settings, provider):
    return replace(settings, sms_api_url=provider.url, sms_account_sid=SID, sms_auth_token=TOKEN)


@pytest.fixture
async def twilio(voice_settings):
    app = create_app(voice_settings, manage_pool=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


@pytest.fixture
async def voice_clinic(clinic):
    await Clinic.update({Clinic.voice_number: VOICE, Clinic.voice_forward_to: DESK}).where(
        Clinic.id == clinic.clinic_id)
    return clinic


async def _post(client, path: str, fields: dict, signed: bool = True):
    headers = {"X-Twilio-Signature": _signature(BASE + path, fields)} if signed else {}
    return await client.post(path, data=fields, headers=headers)


async def _call(client, caller: str = CALLER, sid: str = CALL_SID):
    return await _post(client, "/webhooks/voice", {"CallSid": sid, "AccountSid": SID, "From": caller, "To": VOICE,
                                                   "CallStatus": "ringing", "Direction": "inbound"})


async def _patient(clinic, consent: bool) -> int:
    patient_id = await factories.make_patient(clinic, phone_mobile=CALLER)
    if consent:
        await consents.record_change(None, clinic.clinic_id, patient_id, ConsentChange(
            kind=ConsentKind.CALL_RECORDING, granted=True, source="privacy_centre"), actor_kind="patient")
    return patient_id


async def test_with_consent_the_announcement_plays_before_a_recorded_dial(twilio, voice_clinic):
    patient_id = await _patient(voice_clinic, consent=True)
    answer = await _call(twilio)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/xml")
    twiml = answer.text
    assert twiml.index("<Say") < twiml.index("<Dial") and "recorded" in twiml
    assert 'record="record-from-answer-dual"' in twiml and f">{DESK}</Dial>" in twiml
    assert 'recordingStatusCallback="http://testserver/webhooks/voice/recording"' in twiml
    call = await PhoneCall.select().first()
    assert call["patient"] == patient_id and call["recording_allowed"] is True


async def test_without_consent_the_call_rings_unrecorded(twilio, voice_clinic):
    await _patient(voice_clinic, consent=False)
    twiml = (await _call(twilio)).text
    assert f"<Dial>{DESK}</Dial>" in twiml and "record" not in twiml and "<Say" not in twiml
    assert (await PhoneCall.select().first())["recording_allowed"] is False


async def test_an_unknown_or_withheld_caller_rings_unmatched_and_unrecorded(twilio, voice_clinic):
    twiml = (await _call(twilio, caller="anonymous")).text
    assert "record" not in twiml
    call = await PhoneCall.select().first()
    assert call["patient"] is None and call["caller"] == ""


@pytest.mark.parametrize("path", ["/webhooks/voice", "/webhooks/voice/status", "/webhooks/voice/recording"])
async def test_unsigned_or_foreign_signed_callbacks_are_refused(twilio, voice_clinic, path):
    fields = {"CallSid": CALL_SID, "From": CALLER, "To": VOICE, "CallStatus": "completed"}
    assert (await _post(twilio, path, fields, signed=False)).status_code == 403
    forged = await twilio.post(path, data=fields, headers={"X-Twilio-Signature": _signature(
        "http://evil.example" + path, fields)})
    assert forged.status_code == 403 and await PhoneCall.count() == 0


async def test_a_consented_recording_is_fetched_kept_and_deleted_at_the_provider(twilio, voice_clinic, provider,
                                                                                  voice_settings, client):
    patient_id = await _patient(voice_clinic, consent=True)
    await _call(twilio)
    await _post(twilio, "/webhooks/voice/status", {"CallSid": CALL_SID, "CallStatus": "completed",
                                                   "CallDuration": "42"})
    provider.recordings[REC_SID] = b"ID3\x04 the audio"
    url = f"{provider.url}/2010-04-01/Accounts/{SID}/Recordings/{REC_SID}"
    answer = await _post(twilio, "/webhooks/voice/recording", {
        "CallSid": CALL_SID, "RecordingSid": REC_SID, "RecordingUrl": url, "RecordingStatus": "completed",
        "RecordingDuration": "40", "AccountSid": SID})
    assert answer.status_code == 204
    [job] = await JobRun.raw("SELECT task_name, args::text AS args FROM procrastinate_jobs "
                             "WHERE task_name LIKE 'calls.%'")
    job["args"] = json.loads(job["args"])
    assert job["task_name"] == "calls.fetch_recording"
    assert await calls.fetch_recording(voice_settings, job["args"]["recording_id"]) is True
    assert provider.deleted_recordings == [REC_SID] and provider.recordings == {}
    call = await PhoneCall.select().first()
    assert (call["status"], call["duration_seconds"]) == ("completed", 42)
    await sign_in_as(client, voice_clinic)
    page = await client.get(f"/patients/{patient_id}/calls")
    assert "<audio" in page.text
    recording_id = (await CallRecording.select(CallRecording.id).first())["id"]
    audio = await client.get(f"/patients/{patient_id}/calls/recordings/{recording_id}")
    assert audio.content == b"ID3\x04 the audio" and audio.headers["content-type"].startswith("audio/mpeg")
    assert await AuditEntry.exists().where(AuditEntry.action == "call.recording_played")


async def test_a_recording_of_a_call_we_did_not_allow_is_deleted_at_the_provider_and_never_kept(
        twilio, voice_clinic, provider, voice_settings):
    await _patient(voice_clinic, consent=False)
    await _call(twilio)
    url = f"{provider.url}/2010-04-01/Accounts/{SID}/Recordings/{REC_SID}"
    await _post(twilio, "/webhooks/voice/recording", {"CallSid": CALL_SID, "RecordingSid": REC_SID,
                                                      "RecordingUrl": url, "RecordingStatus": "completed"})
    assert await CallRecording.count() == 0
    [job] = await JobRun.raw("SELECT task_name, args::text AS args FROM procrastinate_jobs "
                             "WHERE task_name LIKE 'calls.%'")
    job["args"] = json.loads(job["args"])
    assert job["task_name"] == "calls.delete_recording"
    await calls.delete_at_provider(voice_settings, job["args"]["recording_sid"])
    assert provider.deleted_recordings == [REC_SID]


async def test_a_recording_url_outside_our_account_is_refused(twilio, voice_clinic):
    await _patient(voice_clinic, consent=True)
    await _call(twilio)
    answer = await _post(twilio, "/webhooks/voice/recording", {
        "CallSid": CALL_SID, "RecordingSid": REC_SID, "RecordingUrl": "http://169.254.169.254/latest/meta-data"})
    assert answer.status_code == 400 and await CallRecording.count() == 0


async def test_a_clinic_with_its_own_account_is_called_signed_and_fetched_with_that_account_only(
        twilio, voice_clinic, provider, voice_settings):
    """Per-clinic credentials (issue 20): the clinic's own token signs its callbacks (the shared one is refused),
    its recordings live under its own account and are fetched and deleted there with its own credentials."""
    from portal.messaging import channel_accounts

    await channel_accounts.save_sms(voice_clinic, voice_settings, OWN_SID, OWN_TOKEN)
    await _patient(voice_clinic, consent=True)
    fields = {"CallSid": CALL_SID, "AccountSid": OWN_SID, "From": CALLER, "To": VOICE, "CallStatus": "ringing",
              "Direction": "inbound"}
    shared = await twilio.post("/webhooks/voice", data=fields, headers={
        "X-Twilio-Signature": _signature(BASE + "/webhooks/voice", fields)})
    assert shared.status_code == 403 and await PhoneCall.count() == 0
    own = await twilio.post("/webhooks/voice", data=fields, headers={
        "X-Twilio-Signature": _signature(BASE + "/webhooks/voice", fields, OWN_TOKEN)})
    assert own.status_code == 200 and "record" in own.text
    provider.recordings[REC_SID], provider.recording_accounts[REC_SID] = b"ID3 own", OWN_SID
    recording = {"CallSid": CALL_SID, "RecordingSid": REC_SID, "RecordingStatus": "completed",
                 "RecordingDuration": "9", "AccountSid": OWN_SID}
    in_shared = {**recording, "RecordingUrl": f"{provider.url}/2010-04-01/Accounts/{SID}/Recordings/{REC_SID}"}
    refused = await twilio.post("/webhooks/voice/recording", data=in_shared, headers={
        "X-Twilio-Signature": _signature(BASE + "/webhooks/voice/recording", in_shared, OWN_TOKEN)})
    assert refused.status_code == 400  # not the clinic's account
    mine = {**recording, "RecordingUrl": f"{provider.url}/2010-04-01/Accounts/{OWN_SID}/Recordings/{REC_SID}"}
    kept = await twilio.post("/webhooks/voice/recording", data=mine, headers={
        "X-Twilio-Signature": _signature(BASE + "/webhooks/voice/recording", mine, OWN_TOKEN)})
    assert kept.status_code == 204
    recording_id = (await CallRecording.select(CallRecording.id).first())["id"]
    assert await calls.fetch_recording(voice_settings, recording_id) is True
    assert provider.deleted_recordings == [REC_SID] and "authenticate" not in provider.refused
    assert (await CallRecording.select(CallRecording.data).first())["data"] == b"ID3 own"


async def test_the_live_panel_shows_who_is_calling_to_the_front_desk(twilio, voice_clinic, client):
    await _patient(voice_clinic, consent=False)
    await _call(twilio)
    receptionist = await factories.make_staff(voice_clinic, Role.RECEPTIONIST)
    await sign_in_as(client, receptionist)
    panel = await client.get("/calls/live", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and 'id="live-calls"' in panel.text and "Anna" in panel.text
    await _post(twilio, "/webhooks/voice/status", {"CallSid": CALL_SID, "CallStatus": "completed"})
    panel = await client.get("/calls/live", headers={"HX-Request": "true"})
    assert "Anna" not in panel.text and "Nobody is calling" in panel.text


async def test_export_erasure_and_retention_cover_recordings(voice_clinic):
    patient_id = await factories.make_patient(voice_clinic)
    await factories.make_call_recording(voice_clinic, patient_id, audio=b"ID3 hello")
    category = CATEGORIES["calls"]
    [row] = await category.collect(patient_id)
    assert row["recording_allowed"] is True
    [file] = await category.files(patient_id)
    assert file.data == b"ID3 hello" and file.name.endswith(".mp3")
    assert await calls.purge_recordings(90) == 0
    assert await calls.purge_recordings(90, now=datetime.now(timezone.utc) + timedelta(days=91)) == 1
    assert await PhoneCall.count() == 1  # the log stays; the audio is gone
    await category.erase(patient_id)
    assert await PhoneCall.count() == 0


async def test_the_owner_sets_both_call_numbers_or_neither_and_bad_input_stays_beside_the_field(client, clinic):
    await sign_in_as(client, clinic)
    token = await factories.csrf_token(client)
    refused = await client.post("/settings/voice", data={"_csrf_token": token, "voice_number": "+31 97 010000002",
                                                         "voice_forward_to": "front desk"})
    assert refused.status_code == 422 and "not a phone number" in refused.text and 'value="front desk"' in refused.text
    half = await client.post("/settings/voice", data={"_csrf_token": token, "voice_number": "+31 97 010000002"})
    assert half.status_code == 422 and "Give both numbers" in half.text
    assert (await Clinic.select(Clinic.voice_number).where(Clinic.id == clinic.clinic_id).first())["voice_number"] == ""
    saved = await client.post("/settings/voice", data={"_csrf_token": token, "voice_number": "+31 97 010000002",
                                                       "voice_forward_to": "020 123 4567"})
    assert saved.status_code in {200, 303}
    row = await Clinic.select(Clinic.voice_number, Clinic.voice_forward_to).where(Clinic.id == clinic.clinic_id).first()
    assert (row["voice_number"], row["voice_forward_to"]) == (VOICE, DESK)
