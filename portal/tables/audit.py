"""Storage of the audit trail; a trigger in the migration makes it append-only."""

from piccolo.columns import JSONB, Integer, Timestamptz, Varchar
from piccolo.table import Table


class AuditEntry(Table, tablename="audit_entry"):
    # Plain integers, not foreign keys: the trail must outlive the rows it talks about.
    clinic_id = Integer(null=True, default=None)
    actor_kind = Varchar(length=20)  # staff | patient | system | anonymous
    actor_id = Integer(null=True, default=None)
    actor_name = Varchar(length=200, default="")
    patient_id = Integer(null=True, default=None)
    action = Varchar(length=60)
    object_type = Varchar(length=60, default="")
    object_id = Varchar(length=60, default="")
    request_id = Varchar(length=40, default="")
    detail = JSONB(default={})
    at = Timestamptz()
