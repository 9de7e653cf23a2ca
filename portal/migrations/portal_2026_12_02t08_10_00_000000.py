"""Kiosk contact changes: a postal address typed at check-in waits in contact_change like an email or a number."""

from portal.db import sql_migration

ID = "2026-12-02T08:10:00:000000"
VERSION = "1.40.1"
DESCRIPTION = "postal addresses in contact changes (from the kiosk)"

SQL = """
ALTER TABLE contact_change ALTER COLUMN address TYPE varchar(500);
ALTER TABLE contact_change ALTER COLUMN previous TYPE varchar(500);
ALTER TABLE contact_change DROP CONSTRAINT contact_change_channel_check;
ALTER TABLE contact_change ADD CONSTRAINT contact_change_channel_check CHECK (channel IN ('email', 'phone', 'postal'));
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
