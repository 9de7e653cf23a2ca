"""Storage of the lab directory, lab cases (status history and invoices append-only by trigger), disclosures of
patient data to recipients, and signed prescriptions."""

from piccolo.columns import (
    JSONB,
    Array,
    BigSerial,
    Boolean,
    Bytea,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal.tables.appointment import Appointment
from portal.tables.clinic import Clinic
from portal.tables.patient import Patient
from portal.tables.staff import Staff


class Lab(Table, tablename="lab"):
    clinic = ForeignKey(references=Clinic)
    name = Varchar(length=200)
    contact = Varchar(length=200, default="")
    email = Varchar(length=320, default="")
    address = Varchar(length=500, default="")
    turnaround = JSONB(default="{}")  # item kind -> working days
    prices = JSONB(default="{}")  # item kind -> price in the clinic's currency (text)
    shares_history = Boolean(default=False)  # the lab gets the medical history (data minimisation: off)
    active = Boolean(default=True)
    created_at = Timestamptz()


class LabCase(Table, tablename="lab_case"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    lab = ForeignKey(references=Lab)
    dentist = ForeignKey(references=Staff, null=True)
    dentist_name = Varchar(length=200, default="")
    seating_appointment = ForeignKey(references=Appointment, null=True)
    items = JSONB(default="[]")
    teeth = Varchar(length=200, default="")  # FDI, space separated
    shade = Varchar(length=40, default="")
    material = Varchar(length=100, default="")
    instructions = Text(default="")
    image_ids = Array(base_column=Integer(), default=[])
    turnaround_days = SmallInt()  # the lab's promise when the case was made (working days)
    status = Varchar(length=20, default="draft")
    sent_at = Timestamptz(null=True, default=None)  # when the work (last) went to the lab: the due date's start
    carrier = Varchar(length=100, default="")
    tracking = Varchar(length=100, default="")
    remake_reason = Varchar(length=500, default="")
    slip_sha256 = Varchar(length=64, default="")
    created_at = Timestamptz()


class LabCaseEvent(Table, tablename="lab_case_event"):
    id = BigSerial(primary_key=True)
    clinic = ForeignKey(references=Clinic)
    lab_case = ForeignKey(references=LabCase)
    status = Varchar(length=20)
    detail = JSONB(default="{}")
    by_staff = ForeignKey(references=Staff, null=True)
    by_name = Varchar(length=200, default="")
    at = Timestamptz()


class LabInvoice(Table, tablename="lab_invoice"):
    clinic = ForeignKey(references=Clinic)
    lab_case = ForeignKey(references=LabCase)
    amount = Numeric(digits=(10, 2))
    currency = Varchar(length=3)
    reference = Varchar(length=100, default="")
    recorded_by = ForeignKey(references=Staff, null=True)
    recorded_by_name = Varchar(length=200, default="")
    recorded_at = Timestamptz()


class Disclosure(Table, tablename="disclosure"):
    id = BigSerial(primary_key=True)
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    recipient_kind = Varchar(length=20)  # lab | specialist | pharmacy | patient
    recipient_name = Varchar(length=200)
    recipient_address = Varchar(length=320, default="")
    data = JSONB(default="[]")  # what went: list of data item names
    subject_type = Varchar(length=20)  # lab_case | prescription | referral
    subject_id = Integer()
    by_staff = ForeignKey(references=Staff, null=True)
    by_name = Varchar(length=200, default="")
    at = Timestamptz()


class Prescription(Table, tablename="prescription"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    medicine = Varchar(length=200)
    strength = Varchar(length=100, default="")
    dose = Varchar(length=200)
    quantity = Varchar(length=100)
    instructions = Varchar(length=1000, default="")
    repeats = SmallInt(default=0)
    warnings = JSONB(default="[]")
    prescriber = ForeignKey(references=Staff, null=True)
    prescriber_name = Varchar(length=200)
    registration = Varchar(length=300, default="")
    content_hash = Varchar(length=64)
    pdf = Bytea()
    signed_at = Timestamptz()


class Referral(Table, tablename="referral"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    direction = Varchar(length=3)  # out | in
    specialty = Varchar(length=20)
    other_party = Varchar(length=200)  # the specialist we refer to, or the practice that referred to us
    other_email = Varchar(length=320, default="")
    reason = Varchar(length=500)
    body = Text(default="")
    image_ids = Array(base_column=Integer(), default=[])
    status = Varchar(length=20)
    report = Text(default="")
    signed_by = ForeignKey(references=Staff, null=True)
    signed_by_name = Varchar(length=200, default="")
    registration = Varchar(length=300, default="")
    content_hash = Varchar(length=64, default="")
    pdf = Bytea(null=True, default=None)
    created_at = Timestamptz()


class ReferralEvent(Table, tablename="referral_event"):
    id = BigSerial(primary_key=True)
    clinic = ForeignKey(references=Clinic)
    referral = ForeignKey(references=Referral)
    status = Varchar(length=20)
    note = Text(default="")
    by_staff = ForeignKey(references=Staff, null=True)
    by_name = Varchar(length=200, default="")
    at = Timestamptz()


class AlignerSeries(Table, tablename="aligner_series"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    days_per_aligner = SmallInt()
    reminders = Boolean(default=False)
    created_by = ForeignKey(references=Staff, null=True)
    created_by_name = Varchar(length=200, default="")
    created_at = Timestamptz()


class AlignerRound(Table, tablename="aligner_round"):
    clinic = ForeignKey(references=Clinic)
    series = ForeignKey(references=AlignerSeries)
    number = SmallInt()
    stages = SmallInt()
    scan_image = Integer(null=True, default=None)
    lab_case = ForeignKey(references=LabCase, null=True)
    note = Varchar(length=500, default="")
    created_by_name = Varchar(length=200, default="")
    created_at = Timestamptz()


class AlignerBatch(Table, tablename="aligner_batch"):
    clinic = ForeignKey(references=Clinic)
    round = ForeignKey(references=AlignerRound)
    first_stage = SmallInt()
    last_stage = SmallInt()
    wear_from = Date()
    delivered_by_name = Varchar(length=200, default="")
    created_at = Timestamptz()


class LabDownload(Table, tablename="lab_download"):
    clinic = ForeignKey(references=Clinic)
    lab_case = ForeignKey(references=LabCase)
    nonce = Varchar(length=64)
    lab_name = Varchar(length=200)
    lab_email = Varchar(length=320, default="")
    data = JSONB(default="[]")
    zip = Bytea(null=True, default=None)
    zip_sha256 = Varchar(length=64)
    expires_at = Timestamptz()
    created_by = ForeignKey(references=Staff, null=True)
    created_by_name = Varchar(length=200, default="")
    created_at = Timestamptz()
    fetches = Integer(default=0)
    last_fetched_at = Timestamptz(null=True, default=None)
