"""Closing a clinic account: the owner's request, the whole-clinic export's progress, the handover of records
still under retention, the 30-day countdown, a cancel, and the proof that the deletion ran."""

from portal.db import sql_migration

ID = "2026-12-02T03:10:00:000000"
VERSION = "1.40.0"
DESCRIPTION = "clinic closure with whole-clinic export and deletion after 30 days"

SQL = """
CREATE TABLE clinic_closure (
    id serial PRIMARY KEY,
    clinic integer REFERENCES clinic(id) ON DELETE SET NULL,  -- kept (NULL) as proof once the clinic is gone
    clinic_name varchar(200) NOT NULL,
    requested_by integer REFERENCES staff(id) ON DELETE SET NULL,
    requested_by_name varchar(200) NOT NULL DEFAULT '',
    requested_at timestamptz NOT NULL DEFAULT now(),
    delete_after timestamptz NOT NULL,
    export_status varchar(12) NOT NULL DEFAULT 'queued',  -- queued | building | ready | failed
    export_done integer NOT NULL DEFAULT 0,
    export_total integer NOT NULL DEFAULT 0,
    export_archive bytea,
    export_finished_at timestamptz,
    handover_to varchar(1000) NOT NULL DEFAULT '',  -- where the records under retention went, as the owner said
    handover_confirmed_at timestamptz,
    handover_by_name varchar(200) NOT NULL DEFAULT '',
    cancelled_at timestamptz,
    cancelled_by_name varchar(200) NOT NULL DEFAULT '',
    deleted_at timestamptz,
    deleted jsonb NOT NULL DEFAULT '{}'::jsonb  -- rows deleted per table
);
-- at most one closure under way per clinic
CREATE UNIQUE INDEX clinic_closure_open_idx ON clinic_closure (clinic)
    WHERE cancelled_at IS NULL AND deleted_at IS NULL;
-- the deletion of a closed clinic may delete append-only rows too, under its own recorded grant
ALTER TABLE erasure_grant DROP CONSTRAINT erasure_grant_purpose_check;
ALTER TABLE erasure_grant ADD CONSTRAINT erasure_grant_purpose_check
    CHECK (purpose IN ('erasure', 'retention', 'clinic_closure'));
CREATE INDEX clinic_closure_due_idx ON clinic_closure (delete_after) WHERE cancelled_at IS NULL AND deleted_at IS NULL;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
