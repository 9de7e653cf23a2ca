"""The record a correction request concerns (GDPR Art. 16): its kind and id beside the request (NULL for requests
that name no record, e.g. filed by staff in their own words)."""

from portal.db import sql_migration

ID = "2026-12-03T02:00:00:000000"
VERSION = "1.41.0"
DESCRIPTION = "privacy request target record"

SQL = """
ALTER TABLE privacy_request ADD COLUMN target_kind varchar(20) NULL
    CHECK (target_kind IN ('personal', 'appointment', 'tooth', 'note', 'allergies', 'medications', 'conditions'));
ALTER TABLE privacy_request ADD COLUMN target_id integer NULL;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
