"""Storage of the privacy centre: sign-in links, patient sessions, rights requests, exports, processors,
privacy notices and retention rules. Plain integers where a row must outlive the patient it talks about."""

from piccolo.columns import JSONB, Boolean, Bytea, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.staff import Staff


class PatientSignInLink(Table, tablename="patient_sign_in_link"):
    clinic = ForeignKey(references=Clinic)
    email = Varchar(length=320)
    token_hash = Varchar(length=64, unique=True)  # SHA-256 of the secret in the mailed link
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class PatientSession(Table, tablename="patient_session"):
    token_hash = Varchar(length=64, unique=True)
    clinic = ForeignKey(references=Clinic)
    email = Varchar(length=320)
    patient_id = Integer(null=True, default=None)  # whose data this session shows (chosen after sign-in)
    guardian_id = Integer(null=True, default=None)  # set when a guardian acts for a child
    created_at = Timestamptz()
    seen_at = Timestamptz()
    expires_at = Timestamptz()


class PrivacyRequest(Table, tablename="privacy_request"):
    clinic = ForeignKey(references=Clinic)
    patient_id = Integer(null=True, default=None)
    kind = Varchar(length=20)  # access | correction | erasure | restriction | objection | inquiry
    # received | in_progress | approved | refused | answered | withdrawn
    status = Varchar(length=20, default="received")
    channel = Varchar(length=20, default="privacy_centre")  # privacy_centre | phone | letter | front_desk
    filed_by_kind = Varchar(length=20)  # patient | guardian | staff
    filed_by_name = Varchar(length=200, default="")
    identity_check = Varchar(length=200, default="")
    assignee = ForeignKey(references=Staff, null=True, default=None)
    details = JSONB(default={})
    received_at = Timestamptz()
    due_at = Timestamptz()
    extended_reason = Varchar(length=1000, default="")
    decision_reason = Varchar(length=2000, default="")
    decided_by = Integer(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    erasure_due_at = Timestamptz(null=True, default=None)  # approved, erased then unless undone (undo window)
    erasure_approved_by = ForeignKey(references=Staff, null=True, default=None)
    erasure_identity_check = Varchar(length=200, default="")
    # a correction: the record it concerns (portal/privacy/correction_targets.py); NULL when it names none
    target_kind = Varchar(length=20, null=True, default=None)
    target_id = Integer(null=True, default=None)


class DataExport(Table, tablename="data_export"):
    clinic = ForeignKey(references=Clinic)
    patient_id = Integer()
    status = Varchar(length=20, default="queued")  # queued | building | ready | failed
    done = Integer(default=0)
    total = Integer(default=0)
    archive = Bytea(null=True, default=None)
    error = Varchar(length=500, default="")
    created_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz()


class Processor(Table, tablename="processor"):
    clinic = ForeignKey(references=Clinic)
    name = Varchar(length=200)
    kind = Varchar(length=40)  # hosting | mail | sms | lab | imaging | accounting | other
    purpose = Varchar(length=500, default="")
    location = Varchar(length=200, default="")
    safeguards = Varchar(length=500, default="")
    created_at = Timestamptz()
    notice_email = Varchar(length=320, default="")  # where Art. 19 notices of corrections and erasures go


class PrivacyNotice(Table, tablename="privacy_notice"):
    clinic = ForeignKey(references=Clinic)
    version = Integer()
    body = Text()
    material = Boolean(default=False)
    published_by = Integer(null=True, default=None)
    published_at = Timestamptz()


class RetentionRule(Table, tablename="retention_rule"):
    clinic = ForeignKey(references=Clinic)
    retention_class = Varchar(length=40)
    years = Integer()
    basis = Varchar(length=40)
    source = Varchar(length=300)
    confirmed_by = Integer(null=True, default=None)
    confirmed_at = Timestamptz()


class RecipientNotice(Table, tablename="recipient_notice"):
    """A recipient told of a correction, erasure or restriction (GDPR Art. 19); the request id names the patient."""

    clinic = ForeignKey(references=Clinic)
    request_id = Integer()
    processor_id = Integer(null=True, default=None)
    recipient = Varchar(length=300)
    categories = JSONB(default=[])
    sent_to = Varchar(length=320, default="")  # '' when the processor has no notice address: the owner tells them
    created_at = Timestamptz()


class Breach(Table, tablename="breach"):
    """A personal data breach (GDPR Art. 33/34): what happened, the 72-hour clock, whom it affects."""

    clinic = ForeignKey(references=Clinic)
    what = Text()
    discovered_at = Timestamptz()
    occurred_from = Timestamptz()
    occurred_to = Timestamptz()
    categories = JSONB(default=[])
    consequences = Text(default="")
    measures = Text(default="")
    high_risk = Boolean(default=False)  # Art. 34: the patients are told
    authority_notified_at = Timestamptz(null=True, default=None)
    authority_reference = Varchar(length=200, default="")
    patients_notified_at = Timestamptz(null=True, default=None)
    recorded_by = Integer(null=True, default=None)
    created_at = Timestamptz()


class BreachPatient(Table, tablename="breach_patient"):
    breach = ForeignKey(references=Breach)
    patient_id = Integer()  # a plain integer: the register outlives an erased patient
