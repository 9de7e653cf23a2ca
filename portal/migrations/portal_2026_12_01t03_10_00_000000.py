"""Privacy: each clinic's supervisory authority, named in refusals ('' = the default for its country)."""

from portal.db import sql_migration

ID = "2026-12-01T03:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "supervisory authority per clinic"

SQL = """
ALTER TABLE clinic ADD COLUMN supervisory_authority varchar(300) NOT NULL DEFAULT '';
ALTER TABLE clinic ADD COLUMN supervisory_authority_url varchar(300) NOT NULL DEFAULT '';
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
