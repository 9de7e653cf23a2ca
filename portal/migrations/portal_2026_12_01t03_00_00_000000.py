"""Privacy: a message that must not outlive its sending (the erasure confirmation) is deleted once sent."""

from portal.db import sql_migration

ID = "2026-12-01T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox messages forgotten after sending"

SQL = """
ALTER TABLE outbox_message ADD COLUMN forget_after_sending boolean NOT NULL DEFAULT false;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
