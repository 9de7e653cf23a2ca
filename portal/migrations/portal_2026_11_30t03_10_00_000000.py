"""Worker heartbeats: one row per `portal worker`, upserted every few seconds, so a stale worker shows."""

from portal.db import sql_migration

ID = "2026-11-30T03:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "worker heartbeats"

SQL = """
CREATE TABLE worker_heartbeat (
    name varchar(200) PRIMARY KEY,
    host varchar(200) NOT NULL,
    pid integer NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    beat_at timestamptz NOT NULL DEFAULT now()
);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
