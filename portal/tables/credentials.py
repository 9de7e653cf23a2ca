"""Storage of provider credentials per clinic: ciphertext only (portal/messaging/credentials.py holds the key)."""

from piccolo.columns import ForeignKey, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.staff import Staff


class ClinicCredential(Table, tablename="clinic_credential"):
    clinic = ForeignKey(references=Clinic)
    provider = Varchar(length=40)  # sms | whatsapp | meta | voice | payments ...
    names = Text(default="")  # the field names that are set, never their values
    ciphertext = Text()
    saved_at = Timestamptz()
    saved_by = ForeignKey(references=Staff, null=True, default=None)
