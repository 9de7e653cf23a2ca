"""Storage of the consent ledger; a trigger in the migration makes it append-only."""

from piccolo.columns import Boolean, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.patient import Patient


class ConsentEvent(Table, tablename="consent_event"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    kind = Varchar(length=40)
    granted = Boolean()
    previous = Boolean(null=True, default=None)
    actor_kind = Varchar(length=20)  # patient | guardian | staff | unsubscribe
    actor_id = Integer(null=True, default=None)
    actor_name = Varchar(length=200, default="")
    source = Varchar(length=60)  # privacy_centre | front_desk | phone | letter | unsubscribe_link
    notice_version = Varchar(length=40, default="")
    at = Timestamptz()
