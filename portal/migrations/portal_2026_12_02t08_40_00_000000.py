"""Lab-portal downloads: a case offered to its lab as a time-limited signed link to a ZIP (slip and attachments)."""

from portal.db import sql_migration

ID = "2026-12-02T08:40:00:000000"
VERSION = "1.40.4"
DESCRIPTION = "lab case downloads by signed link"

# The ZIP is built when offered (by the dentist, with the permission to read the images) and kept until it
# expires, so what the lab fetches is exactly what was offered (its SHA-256 is kept). Each fetch is a disclosure.
SQL = """
CREATE TABLE lab_download (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    lab_case integer NOT NULL REFERENCES lab_case(id) ON DELETE CASCADE,
    nonce varchar(64) NOT NULL,
    lab_name varchar(200) NOT NULL,
    lab_email varchar(320) NOT NULL DEFAULT '',
    data jsonb NOT NULL DEFAULT '[]'::jsonb,  -- which data the ZIP holds (the disclosure's list)
    zip bytea,  -- dropped once expired
    zip_sha256 varchar(64) NOT NULL,
    expires_at timestamptz NOT NULL,
    created_by integer REFERENCES staff(id) ON DELETE SET NULL,
    created_by_name varchar(200) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    fetches integer NOT NULL DEFAULT 0,
    last_fetched_at timestamptz
);
CREATE INDEX lab_download_case_idx ON lab_download (lab_case);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
