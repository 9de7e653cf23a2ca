"""Online booking by whom and with what buffer: the providers patients may book online (empty: everyone who does
the type) and minutes kept free around every appointment when a patient books online."""

from portal.db import sql_migration

ID = "2026-12-02T09:00:00:000000"
VERSION = "1.39.2"
DESCRIPTION = "online booking providers and buffer"

SQL = """
ALTER TABLE online_booking ADD COLUMN providers integer[] NOT NULL DEFAULT '{}';
ALTER TABLE online_booking ADD COLUMN buffer_minutes smallint NOT NULL DEFAULT 0
    CHECK (buffer_minutes BETWEEN 0 AND 120);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
