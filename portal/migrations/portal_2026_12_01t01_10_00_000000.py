"""An approved erasure waits a short undo window before anything is destroyed."""

from portal.db import sql_migration

ID = "2026-12-01T01:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "erasure undo window"

SQL = """
ALTER TABLE privacy_request ADD COLUMN erasure_due_at timestamptz;
ALTER TABLE privacy_request ADD COLUMN erasure_approved_by integer REFERENCES staff(id);
ALTER TABLE privacy_request ADD COLUMN erasure_identity_check varchar(200) NOT NULL DEFAULT '';
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
