"""Page insights: a connected Facebook Page's followers and reach per week, kept as Page data (deleted with it)."""

from portal.db import sql_migration

ID = "2026-12-02T07:00:00:000000"
VERSION = "1.39.0"
DESCRIPTION = "facebook page insights per week"

SQL = """
-- Aggregates Meta reports about the Page (no person in them); deleted with the Page's token on disconnection.
CREATE TABLE meta_page_insight (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    page_id varchar(64) NOT NULL,
    week_ending date NOT NULL,  -- the last day of the seven Meta counted (its end_time, in UTC)
    followers integer,  -- page_follows at the end of that week
    reach integer,  -- page_impressions_unique over that week
    fetched_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic, page_id, week_ending)
);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
