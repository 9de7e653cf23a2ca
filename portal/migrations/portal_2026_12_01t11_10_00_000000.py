"""Social leads: a clinic's connected Facebook Page, lead-ads answers on leads, and proof of every disconnection."""

from portal.db import sql_migration

ID = "2026-12-01T11:10:00:000000"
VERSION = "1.39.0"
DESCRIPTION = "social leads from Facebook and Instagram lead ads"

SQL = """
ALTER TABLE lead ADD COLUMN source varchar(20) NOT NULL DEFAULT '';  -- facebook | instagram | '' (wrote to us)
ALTER TABLE lead ADD COLUMN answers jsonb NOT NULL DEFAULT '{}'::jsonb;  -- the lead form's answers, by question
ALTER TABLE lead ADD COLUMN leadgen_id varchar(64);
ALTER TABLE lead ADD COLUMN page_id varchar(64);
CREATE UNIQUE INDEX lead_leadgen_idx ON lead (leadgen_id) WHERE leadgen_id IS NOT NULL;

CREATE TABLE meta_page (
    id serial PRIMARY KEY,
    clinic integer NOT NULL UNIQUE REFERENCES clinic(id) ON DELETE CASCADE,
    page_id varchar(64) NOT NULL UNIQUE,
    name varchar(200) NOT NULL DEFAULT '',
    meta_user_id varchar(64) NOT NULL DEFAULT '',  -- the app-scoped id of who connected it (deletion callback)
    connected_at timestamptz NOT NULL DEFAULT now()
);

-- Every disconnection (by the owner or by Meta's deletion callback), with what was deleted and when a later
-- check found nothing left; the confirmation code is what Meta shows the person.
CREATE TABLE meta_disconnection (
    id serial PRIMARY KEY,
    clinic integer REFERENCES clinic(id) ON DELETE SET NULL,
    page_id varchar(64) NOT NULL DEFAULT '',
    meta_user_id varchar(64) NOT NULL DEFAULT '',
    origin varchar(20) NOT NULL,  -- owner | meta
    confirmation_code varchar(40) NOT NULL UNIQUE,
    requested_at timestamptz NOT NULL DEFAULT now(),
    deleted jsonb NOT NULL DEFAULT '{}'::jsonb,
    verified_at timestamptz,
    verified jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX meta_disconnection_open_idx ON meta_disconnection (requested_at) WHERE verified_at IS NULL;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
