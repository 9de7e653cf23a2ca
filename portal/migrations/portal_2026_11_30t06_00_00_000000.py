"""Languages: a staff member's own language and a guardian's preferred one ('' = the clinic's language)."""

from portal.db import sql_migration

ID = "2026-11-30T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "staff and guardian languages"

SQL = """
ALTER TABLE staff ADD COLUMN language varchar(16) NOT NULL DEFAULT '';
ALTER TABLE guardian ADD COLUMN preferred_language varchar(16) NOT NULL DEFAULT '';
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
