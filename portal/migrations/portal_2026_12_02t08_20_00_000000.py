"""Which recall type is the clinic's perio maintenance type (a perio diagnosis offers to move the patient to it)."""

from portal.db import sql_migration

ID = "2026-12-02T08:20:00:000000"
VERSION = "1.40.2"
DESCRIPTION = "the perio maintenance recall type per clinic"

SQL = """
ALTER TABLE recall_type ADD COLUMN perio boolean NOT NULL DEFAULT false;
UPDATE recall_type SET perio = true WHERE name = 'Perio maintenance';
CREATE UNIQUE INDEX recall_type_one_perio_idx ON recall_type (clinic) WHERE perio;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
