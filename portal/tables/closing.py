"""Storage of clinic closures: the request, the whole-clinic export, the handover, the countdown and its end."""

from piccolo.columns import JSONB, Bytea, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.staff import Staff


class ClinicClosure(Table, tablename="clinic_closure"):
    clinic = ForeignKey(references=Clinic, null=True)
    clinic_name = Varchar(length=200)
    requested_by = ForeignKey(references=Staff, null=True)
    requested_by_name = Varchar(length=200, default="")
    requested_at = Timestamptz()
    delete_after = Timestamptz()
    export_status = Varchar(length=12, default="queued")  # queued | building | ready | failed
    export_done = Integer(default=0)
    export_total = Integer(default=0)
    export_archive = Bytea(null=True, default=None)
    export_finished_at = Timestamptz(null=True, default=None)
    handover_to = Varchar(length=1000, default="")
    handover_confirmed_at = Timestamptz(null=True, default=None)
    handover_by_name = Varchar(length=200, default="")
    cancelled_at = Timestamptz(null=True, default=None)
    cancelled_by_name = Varchar(length=200, default="")
    deleted_at = Timestamptz(null=True, default=None)
    deleted = JSONB(default={})
