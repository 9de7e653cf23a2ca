"""Imaging: a wrongly filed image can be withdrawn (kept, hidden from the chart, with who, when and why)."""

from portal.db import sql_migration

ID = "2026-12-01T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "withdrawn patient images"

SQL = """
ALTER TABLE patient_image ADD COLUMN withdrawn_at timestamptz NULL;
ALTER TABLE patient_image ADD COLUMN withdrawn_by integer NULL REFERENCES staff(id) ON DELETE SET NULL;
ALTER TABLE patient_image ADD COLUMN withdrawn_reason varchar(300) NOT NULL DEFAULT '';
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
