"""Plan acceptance with a drawn signature: the strokes, the PNG drawn from them, who signed and the hash."""

from portal.db import sql_migration

ID = "2026-12-02T08:00:00:000000"
VERSION = "1.40.0"
DESCRIPTION = "drawn signatures on treatment plan acceptances"

# plan_acceptance is append-only already (clinical_append_only trigger): the new columns are written once, with
# the row. Older acceptances keep NULL (recorded before signatures were drawn).
SQL = """
ALTER TABLE plan_acceptance ADD COLUMN signer_role varchar(10) NOT NULL DEFAULT 'patient';  -- patient | guardian
ALTER TABLE plan_acceptance ADD COLUMN signature_strokes jsonb;
ALTER TABLE plan_acceptance ADD COLUMN signature_png bytea;
ALTER TABLE plan_acceptance ADD COLUMN signed_sha256 varchar(64);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
