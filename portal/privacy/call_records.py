"""Calls in the privacy registry: the call log of the patient's confirmed number and the recordings they agreed to
(their own retention: CALL_RECORDING_DAYS, see portal/messaging/calls.py), on the access page, in the export (the
audio itself among the files) and erased with the rest."""

from portal.i18n import lazy_gettext
from portal.privacy.registry import DataCategory, ExportFile, plain_rows, register
from portal.tables import PhoneCall

CALL_FIELDS = {"started_at": lazy_gettext("When the call came in"), "caller": lazy_gettext("The number that called"),
               "status": lazy_gettext("How it ended (answered, busy, not answered …)"),
               "duration_seconds": lazy_gettext("Length in seconds"),
               "recording_allowed": lazy_gettext("Whether it was recorded (only with your consent, after an "
                                                 "announcement)")}


async def _calls(patient_id: int) -> list[dict]:
    rows = await PhoneCall.select().where(PhoneCall.patient == patient_id).order_by(PhoneCall.started_at)
    return plain_rows(rows, CALL_FIELDS)


async def _recordings(patient_id: int) -> list[ExportFile]:
    rows = await PhoneCall.raw(
        "SELECT r.id, r.content_type, r.data, c.started_at FROM call_recording r JOIN phone_call c ON c.id = r.call "
        "WHERE c.patient = {} AND r.data IS NOT NULL ORDER BY r.id", patient_id)
    return [ExportFile(name=f"calls/{row['started_at']:%Y-%m-%dT%H%M%SZ}-{row['id']}.mp3",
                       content_type=row["content_type"], data=bytes(row["data"])) for row in rows]


async def _erase_calls(patient_id: int) -> int:
    """The calls and (by cascade) their recordings."""
    return len(await PhoneCall.delete().where(PhoneCall.patient == patient_id).returning(PhoneCall.id))


register(DataCategory(
    name="calls", title=lazy_gettext("Phone calls"), order=77, retention="administrative", basis="on_request",
    purpose=lazy_gettext("Knowing who calls the practice; recordings only with consent to call recording."),
    legal_basis=lazy_gettext("GDPR Art. 6(1)(b) (the treatment agreement); recordings Art. 6(1)(a) (consent)"),
    recipients=("hosting", "voice"), fields=CALL_FIELDS, collect=_calls, erase=_erase_calls, files=_recordings))
