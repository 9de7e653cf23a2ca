"""Storage of the audit trail; triggers in the migrations make it append-only and chain each clinic's rows."""

from piccolo.columns import JSONB, BigInt, Integer, Text, Timestamptz, Varchar
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
    # Set by the database on insert (whatever is passed): place in the clinic's chain, previous and own hash.
    chain_seq = BigInt(null=True, default=None)
    prev_hash = Text(default="")
    row_hash = Text(default="")


class AuditChainPurge(Table, tablename="audit_chain_purge"):
    """A row the retention engine (or an approved erasure) purged: its place and hash keep the chain verifiable."""

    chain = Integer()  # the clinic id, 0 for rows of no clinic
    chain_seq = BigInt()
    row_hash = Text()
    purged_at = Timestamptz()
