"""Structured patient address: the old free text stays as the street line, postcode, city and country beside it."""

from portal.db import sql_migration

ID = "2026-12-02T04:00:00:000000"
VERSION = "1.40.0"
DESCRIPTION = "structured patient address (street, postcode, city, country)"

# `address` stays the street line. Text written as "street, postcode city" (Dutch "1234 AB" or five digits) is
# split; anything else stays whole in the street line for the front desk to finish. The country of a parsed
# address is the clinic's. IF NOT EXISTS lets tests run the split again on rows they wrote the old way.
SQL = """
ALTER TABLE patient ADD COLUMN IF NOT EXISTS postcode varchar(12) NOT NULL DEFAULT '';
ALTER TABLE patient ADD COLUMN IF NOT EXISTS city varchar(120) NOT NULL DEFAULT '';
ALTER TABLE patient ADD COLUMN IF NOT EXISTS country varchar(2) NOT NULL DEFAULT '';

UPDATE patient p SET
    address = btrim(substring(p.address FROM '^(.+?),\\s*(?:\\d{4}\\s?[A-Za-z]{2}|\\d{5})\\s+[^,0-9]+$')),
    postcode = upper(regexp_replace(substring(p.address FROM ',\\s*(\\d{4}\\s?[A-Za-z]{2}|\\d{5})\\s+[^,0-9]+$'),
                                    '^(\\d{4})\\s?([A-Za-z]{2})$', '\\1 \\2')),
    city = btrim(substring(p.address FROM ',\\s*(?:\\d{4}\\s?[A-Za-z]{2}|\\d{5})\\s+([^,0-9]+)$')),
    country = c.country
FROM clinic c
WHERE c.id = p.clinic AND p.postcode = '' AND p.address ~ '^.+?,\\s*(\\d{4}\\s?[A-Za-z]{2}|\\d{5})\\s+[^,0-9]+$';
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
