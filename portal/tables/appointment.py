"""Storage of the calendar: chairs, appointment types, opening hours, closures, provider schedules,
appointments and their change history. The exclusion constraints live in the migration."""

from piccolo.columns import BigInt, Boolean, Date, ForeignKey, Integer, SmallInt, Time, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.patient import Patient
from portal.tables.staff import Staff


class Chair(Table, tablename="chair"):
    clinic = ForeignKey(references=Clinic)
    name = Varchar(length=60)
    position = Integer(default=0)
    retired = Boolean(default=False)
    created_at = Timestamptz()


class AppointmentType(Table, tablename="appointment_type"):
    clinic = ForeignKey(references=Clinic)
    name = Varchar(length=80)
    minutes = Integer()
    colour = Varchar(length=7, default="#2f7d6d")
    provider_roles = Varchar(length=60, default="dentist,hygienist")  # comma-separated roles
    active = Boolean(default=True)


class OpeningHours(Table, tablename="opening_hours"):
    clinic = ForeignKey(references=Clinic)
    weekday = SmallInt()  # 0 = Monday
    opens = Time()
    closes = Time()


class Closure(Table, tablename="closure"):
    clinic = ForeignKey(references=Clinic)
    first_day = Date()
    last_day = Date()
    reason = Varchar(length=200, default="")


class ProviderHours(Table, tablename="provider_hours"):
    clinic = ForeignKey(references=Clinic)
    provider = ForeignKey(references=Staff)
    weekday = SmallInt()
    starts = Time()
    ends = Time()
    chair = ForeignKey(references=Chair, null=True)


class ProviderAbsence(Table, tablename="provider_absence"):
    clinic = ForeignKey(references=Clinic)
    provider = ForeignKey(references=Staff)
    first_day = Date()
    last_day = Date()
    reason = Varchar(length=200, default="")


class Appointment(Table, tablename="appointment"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    provider = ForeignKey(references=Staff)
    chair = ForeignKey(references=Chair)
    appointment_type = ForeignKey(references=AppointmentType)
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    status = Varchar(length=20, default="booked")
    cancel_reason = Varchar(length=300, default="")
    notes = Varchar(length=1000, default="")
    sequence = Integer(default=0)  # iCal SEQUENCE, bumped on every change
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class AppointmentChange(Table, tablename="appointment_change"):
    clinic = ForeignKey(references=Clinic)
    appointment = ForeignKey(references=Appointment)
    actor_id = Integer(null=True, default=None)
    actor_name = Varchar(length=200, default="")
    kind = Varchar(length=20)  # booked | moved | status | cancelled
    from_starts_at = Timestamptz(null=True, default=None)
    to_starts_at = Timestamptz(null=True, default=None)
    from_chair = Integer(null=True, default=None)
    to_chair = Integer(null=True, default=None)
    from_status = Varchar(length=20, default="")
    to_status = Varchar(length=20, default="")
    reason = Varchar(length=300, default="")
    at = Timestamptz()


class IcalToken(Table, tablename="ical_token"):
    clinic = ForeignKey(references=Clinic)
    provider = ForeignKey(references=Staff)
    token_hash = Varchar(length=64, unique=True)  # SHA-256 of the secret in the feed URL
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class CalendarVersion(Table, tablename="calendar_version"):
    """Per clinic, moved at the commit of every change the calendar grids show (appointments, alerts, patients'
    names); triggers of migration 2026-12-04T12:10 keep it, calendar/grid_cache.py reads it. No one's data."""

    clinic = ForeignKey(references=Clinic, primary_key=True)
    version = BigInt(default=0)
