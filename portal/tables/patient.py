"""Storage of patients and their guardians; the search vector and indexes live in the migration."""

from piccolo.columns import Date, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic


class Patient(Table, tablename="patient"):
    clinic = ForeignKey(references=Clinic)
    given_name = Varchar(length=120)
    family_name = Varchar(length=120)
    date_of_birth = Date()
    gender = Varchar(length=20, default="")
    national_id = Varchar(length=40, default="")
    email = Varchar(length=320, default="")
    phone_mobile = Varchar(length=20, default="")  # E.164
    phone_other = Varchar(length=20, default="")  # E.164
    address = Varchar(length=500, default="")  # the street line (street and number)
    postcode = Varchar(length=12, default="")
    city = Varchar(length=120, default="")
    country = Varchar(length=2, default="")  # ISO 3166-1 alpha-2; '' = the clinic's country
    preferred_language = Varchar(length=16, default="en")
    created_at = Timestamptz()
    updated_at = Timestamptz()
    restricted_at = Timestamptz(null=True, default=None)  # Art. 18: processing restricted since
    objected_at = Timestamptz(null=True, default=None)  # Art. 21: objection since
    isolated_at = Timestamptz(null=True, default=None)  # erased on request: kept clinical record hidden


class Guardian(Table, tablename="guardian"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    name = Varchar(length=200)
    relationship = Varchar(length=60, default="")
    email = Varchar(length=320, default="")
    phone = Varchar(length=20, default="")  # E.164
    preferred_language = Varchar(length=16, default="")  # "" = the clinic's language
    created_at = Timestamptz()
    # The guardian's own patient record; name, language and confirmed addresses are then copied by the database.
    guardian_patient = ForeignKey(references=Patient, null=True, default=None)


class PatientTally(Table, tablename="patient_tally"):
    """How many of a clinic's patients on record were added in each month (the clinic's zone); kept by triggers
    (migration 2026-12-04T10:10), read by the dashboard. Counts only, no one's data."""

    clinic = ForeignKey(references=Clinic)
    month = Date()
    patients = Integer()
