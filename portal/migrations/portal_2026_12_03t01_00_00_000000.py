"""A staff member's email change waits for the new address's holder: the pending address rides on its link's token,
and the previous address gets a second token to report a change it did not ask for."""

from portal.db import sql_migration

ID = "2026-12-03T01:00:00:000000"
VERSION = "1.41.0"
DESCRIPTION = "staff email changes confirmed by the new address"

SQL = """
ALTER TABLE staff_token ADD COLUMN address varchar(320);
-- Who asked: the person themselves may move their whole sign-in; an owner moves only their own clinic's membership.
ALTER TABLE staff_token ADD COLUMN requested_by integer REFERENCES staff(id) ON DELETE SET NULL;
ALTER TABLE staff_token DROP CONSTRAINT staff_token_purpose_check;
ALTER TABLE staff_token ADD CONSTRAINT staff_token_purpose_check
    CHECK (purpose IN ('invitation', 'password_reset', 'membership', 'email_change', 'email_report'));
ALTER TABLE staff_token ADD CONSTRAINT staff_token_address_check
    CHECK ((purpose IN ('email_change', 'email_report')) = (address IS NOT NULL));
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
