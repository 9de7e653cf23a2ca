"""Storage of address changes waiting for (or past) confirmation by the address's holder."""

from piccolo.columns import Boolean, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.patient import Guardian, Patient
from portal.tables.staff import Staff


class ContactChange(Table, tablename="contact_change"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    guardian = ForeignKey(references=Guardian, null=True, default=None)  # None: the patient's own address
    channel = Varchar(length=10)  # email | phone (the mobile number texts go to) | postal (kiosk, confirmed in person)
    address = Varchar(length=500)
    previous = Varchar(length=500, default="")  # the confirmed address it replaces ("" = none)
    origin = Varchar(length=30)  # staff_form | privacy_centre | correction | guardian_added | patient_created | lead
    # | kiosk
    requested_by_kind = Varchar(length=20)  # staff | patient | guardian
    requested_by_id = Integer(null=True, default=None)
    requested_at = Timestamptz()
    expires_at = Timestamptz()
    token_hash = Varchar(length=64, null=True, default=None)  # the emailed confirmation link
    code_hash = Varchar(length=64, null=True, default=None)  # the texted one-time code
    code_attempts = Integer(default=0)
    report_token_hash = Varchar(length=64, null=True, default=None)  # "this was not me", sent to the previous one
    notified_at = Timestamptz(null=True, default=None)
    status = Varchar(length=20, default="pending")  # pending | confirmed | superseded | withdrawn | reported | expired
    cools = Boolean(default=True)  # starts the cooling-off of the clinical record once confirmed
    confirmed_at = Timestamptz(null=True, default=None)
    method = Varchar(length=20, default="")  # link | code | in_person | inbound_message
    confirmed_by = ForeignKey(references=Staff, null=True, default=None)
    confirmed_by_name = Varchar(length=200, default="")
    identity_check = Varchar(length=200, default="")
    checked_by_clinician = Boolean(default=False)  # in person, by someone who may read the clinical record
    reported_at = Timestamptz(null=True, default=None)
    # A later in-person check by someone who may read the clinical record ended the cooling-off early: who, how.
    cooling_ended_at = Timestamptz(null=True, default=None)
    cooling_ended_by = ForeignKey(references=Staff, null=True, default=None)
    cooling_ended_by_name = Varchar(length=200, default="")
    cooling_ended_check = Varchar(length=200, default="")
