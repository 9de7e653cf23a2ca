"""Storage of phone calls and their recordings (only with the patient's consent, see portal/messaging/calls.py)."""

from piccolo.columns import BigInt, Boolean, Bytea, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.patient import Patient


class PhoneCall(Table, tablename="phone_call"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient, null=True, default=None)
    caller = Varchar(length=20)  # E.164
    call_sid = Varchar(length=64, unique=True)
    status = Varchar(length=20, default="ringing")  # ringing | in-progress | completed | busy | no-answer | failed
    recording_allowed = Boolean(default=False)
    started_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)
    duration_seconds = Integer(null=True, default=None)


class CallRecording(Table, tablename="call_recording"):
    call = BigInt()  # phone_call.id (bigint; ON DELETE CASCADE in the migration)
    recording_sid = Varchar(length=64, unique=True)
    media_url = Varchar(length=500)
    duration_seconds = Integer(default=0)
    content_type = Varchar(length=50, default="audio/mpeg")
    data = Bytea(null=True, default=None)
    fetched_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
