"""Ending a contact change's cooling-off early: a later in-person identity check by a clinician (who, how)."""

from portal.db import sql_migration

ID = "2026-12-02T01:20:00:000000"
VERSION = "1.39.0"
DESCRIPTION = "contact change cooling-off ended in person"

SQL = """
ALTER TABLE contact_change ADD COLUMN cooling_ended_at timestamptz;
ALTER TABLE contact_change ADD COLUMN cooling_ended_by integer REFERENCES staff(id) ON DELETE SET NULL;
ALTER TABLE contact_change ADD COLUMN cooling_ended_by_name varchar(200) NOT NULL DEFAULT '';
ALTER TABLE contact_change ADD COLUMN cooling_ended_check varchar(200) NOT NULL DEFAULT '';
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
