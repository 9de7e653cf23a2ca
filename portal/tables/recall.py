"""Storage of recall and online booking: recall types, patients' recalls, contact attempts, settings, holds."""

from piccolo.columns import JSONB, Array, Boolean, Date, ForeignKey, Integer, SmallInt, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.appointment import Appointment, AppointmentType, Chair
from portal.tables.clinic import Clinic
from portal.tables.patient import Patient
from portal.tables.staff import Staff


class RecallType(Table, tablename="recall_type"):
    clinic = ForeignKey(references=Clinic)
    name = Varchar(length=80)
    months = SmallInt()
    appointment_type = ForeignKey(references=AppointmentType, null=True)
    fee_codes = Varchar(length=200, default="")  # comma-separated procedure codes whose completion resets it
    for_children = Boolean(default=False)
    active = Boolean(default=True)
    created_at = Timestamptz()
    perio = Boolean(default=False)  # the clinic's perio maintenance type (one per clinic)


class PatientRecall(Table, tablename="patient_recall"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    recall_type = ForeignKey(references=RecallType)
    due_on = Date()
    last_done_on = Date(null=True, default=None)
    provider = ForeignKey(references=Staff, null=True)
    updated_at = Timestamptz()


class RecallContact(Table, tablename="recall_contact"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    recall_type = ForeignKey(references=RecallType, null=True)
    kind = Varchar(length=20)
    note = Varchar(length=300, default="")
    actor_id = Integer(null=True, default=None)
    actor_name = Varchar(length=200, default="")
    at = Timestamptz()


class OnlineBooking(Table, tablename="online_booking"):
    clinic = ForeignKey(references=Clinic, primary_key=True)
    enabled = Boolean(default=False)
    appointment_types = Array(base_column=Integer(), default=[])
    days_ahead = SmallInt(default=42)
    lead_hours = SmallInt(default=12)
    hold_minutes = SmallInt(default=10)
    cutoff_hours = SmallInt(default=24)
    reminder_days = Array(base_column=Integer(), default=[-14, 0, 21])
    daily_cap = Integer(default=200)
    providers = Array(base_column=Integer(), default=[])  # who may be booked online; empty: everyone
    buffer_minutes = SmallInt(default=0)  # kept free around appointments for online bookings
    updated_at = Timestamptz()


class BookingHold(Table, tablename="booking_hold"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    appointment_type = ForeignKey(references=AppointmentType)
    provider = ForeignKey(references=Staff)
    chair = ForeignKey(references=Chair)
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    expires_at = Timestamptz()
    moving = ForeignKey(references=Appointment, null=True)
    created_at = Timestamptz()


class WaitlistEntry(Table, tablename="waitlist_entry"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    appointment_type = ForeignKey(references=AppointmentType)
    provider = ForeignKey(references=Staff, null=True)
    earliest = Date()
    part_of_day = Varchar(length=10, default="")
    note = Varchar(length=300, default="")
    status = Varchar(length=10, default="waiting")
    created_at = Timestamptz()
    appointment = ForeignKey(references=Appointment, null=True, default=None)  # earlier if possible: this one


class WaitlistFreed(Table, tablename="waitlist_freed"):
    appointment = ForeignKey(references=Appointment, primary_key=True)
    clinic = ForeignKey(references=Clinic)
    offers = Integer(default=0)
    scanned_at = Timestamptz()


class WaitlistOffer(Table, tablename="waitlist_offer"):
    clinic = ForeignKey(references=Clinic)
    entry = ForeignKey(references=WaitlistEntry)
    patient = ForeignKey(references=Patient)
    appointment_type = ForeignKey(references=AppointmentType)
    provider = ForeignKey(references=Staff)
    chair = ForeignKey(references=Chair)
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    freed_appointment = ForeignKey(references=Appointment, null=True)
    expires_at = Timestamptz()
    status = Varchar(length=10, default="offered")
    channel = Varchar(length=10, default="")
    appointment = ForeignKey(references=Appointment, null=True)
    created_at = Timestamptz()
    answered_at = Timestamptz(null=True, default=None)


class BookingCode(Table, tablename="booking_code"):
    clinic = ForeignKey(references=Clinic)
    kind = Varchar(length=10)  # known | new
    ref_hash = Varchar(length=64, unique=True)
    channel = Varchar(length=10)  # email | sms
    address = Varchar(length=320)
    date_of_birth = Date()
    details = JSONB(default={})
    patient = ForeignKey(references=Patient, null=True, default=None)
    code_hash = Varchar(length=64, null=True, default=None)
    issued_at = Timestamptz(null=True, default=None)
    attempts = SmallInt(default=0)
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class OnlinePatient(Table, tablename="online_patient"):
    patient = ForeignKey(references=Patient, primary_key=True)
    clinic = ForeignKey(references=Clinic)
    created_at = Timestamptz()
    reviewed_at = Timestamptz(null=True, default=None)
    reviewed_by = ForeignKey(references=Staff, null=True, default=None)
    reviewed_by_name = Varchar(length=200, default="")


class WaitlistFreedSlot(Table, tablename="waitlist_freed_slot"):
    """Written by triggers (moves, removed closures); read by the waitlist's offer scan."""
    clinic = ForeignKey(references=Clinic)
    cause = Varchar(length=10)  # moved | reopened
    appointment = ForeignKey(references=Appointment, null=True, default=None)
    patient = ForeignKey(references=Patient, null=True, default=None)
    appointment_type = ForeignKey(references=AppointmentType, null=True, default=None)
    provider = ForeignKey(references=Staff, null=True, default=None)
    chair = ForeignKey(references=Chair, null=True, default=None)
    starts_at = Timestamptz(null=True, default=None)
    ends_at = Timestamptz(null=True, default=None)
    first_day = Date(null=True, default=None)
    last_day = Date(null=True, default=None)
    created_at = Timestamptz()
    scanned_at = Timestamptz(null=True, default=None)
