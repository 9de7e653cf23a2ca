"""An approved erasure may also update append-only clinical rows: deleting a patient's visits sets the notes'
visit link to NULL (ON DELETE SET NULL), which is an UPDATE the trigger refused."""

from portal.db import sql_migration

ID = "2026-11-25T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "erasure may update append-only clinical rows"

SQL = """
CREATE OR REPLACE FUNCTION clinical_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF current_setting('chairside.erasure', true) = 'on' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$fn$;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
