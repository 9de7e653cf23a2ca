"""Staff account deletion: the owner asks, the worker erases the person's data; the row stays for history."""

from portal.db import sql_migration

ID = "2026-12-02T01:30:00:000000"
VERSION = "1.39.0"
DESCRIPTION = "staff account deletion and erasure"

SQL = """
ALTER TABLE staff ADD COLUMN deletion_requested_at timestamptz;
ALTER TABLE staff ADD COLUMN erased_at timestamptz;
CREATE INDEX staff_erasure_due_idx ON staff (deletion_requested_at) WHERE erased_at IS NULL
    AND deletion_requested_at IS NOT NULL;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
