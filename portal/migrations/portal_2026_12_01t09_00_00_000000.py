"""SMS both ways: each clinic's own sending number, so a reply reaches the clinic it answers."""

from portal.db import sql_migration

ID = "2026-12-01T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "clinic sms number"

SQL = """
ALTER TABLE clinic ADD COLUMN sms_number varchar(20) NOT NULL DEFAULT '';
CREATE UNIQUE INDEX clinic_sms_number_unique ON clinic (sms_number) WHERE sms_number <> '';
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
