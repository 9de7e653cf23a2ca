"""Held messages: after a restore, mail and texts that were waiting at dump time wait for the owner instead of
going out again (the live system may have sent them already)."""

from portal.db import sql_migration

ID = "2026-11-30T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox messages held after a restore"

SQL = """
ALTER TABLE outbox_message DROP CONSTRAINT outbox_message_status_check;
ALTER TABLE outbox_message ADD CONSTRAINT outbox_message_status_check
    CHECK (status IN ('queued', 'sending', 'sent', 'dead', 'withdrawn', 'held'));
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
