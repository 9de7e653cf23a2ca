"""Earlier if possible: a waitlist entry may stand for an existing appointment that its patient would move earlier."""

from portal.db import sql_migration

ID = "2026-12-02T06:30:00:000000"
VERSION = "1.39.2"
DESCRIPTION = "waitlist entries for moving an existing appointment earlier"

SQL = """
ALTER TABLE waitlist_entry ADD COLUMN appointment integer REFERENCES appointment(id) ON DELETE CASCADE;
-- One waiting "earlier" entry per appointment.
CREATE UNIQUE INDEX waitlist_entry_one_earlier ON waitlist_entry (appointment)
    WHERE status = 'waiting' AND appointment IS NOT NULL;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
