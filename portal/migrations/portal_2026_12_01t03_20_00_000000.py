"""Privacy (Art. 19): where a processor takes notices, and the record of each recipient told of a correction,
erasure or restriction (no patient identifiers: the request number links it)."""

from portal.db import sql_migration

ID = "2026-12-01T03:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "recipients told of corrections and erasures"

SQL = """
ALTER TABLE processor ADD COLUMN notice_email varchar(320) NOT NULL DEFAULT '';
CREATE TABLE recipient_notice (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic (id) ON DELETE CASCADE,
    request_id integer NOT NULL,
    processor_id integer,
    recipient varchar(300) NOT NULL,
    categories jsonb NOT NULL DEFAULT '[]',
    sent_to varchar(320) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recipient_notice_request ON recipient_notice (clinic, request_id);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
