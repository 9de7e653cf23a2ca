"""Indexes for the account page and the production reports: a charge's invoice line found by its entry (the
account page's invoiced flag, issuing an invoice), and production read from the charges and credit notes of a
clinic's period alone, index-only (one aggregate per chart)."""

from portal.db import sql_migration

ID = "2026-12-03T08:00:00:000000"
VERSION = "1.39.2"
DESCRIPTION = "account page and production report indexes"

SQL = """
CREATE INDEX IF NOT EXISTS invoice_line_entry_idx ON invoice_line (entry);
CREATE INDEX IF NOT EXISTS ledger_entry_production_idx ON ledger_entry (clinic, at)
    INCLUDE (amount, kind, provider, code) WHERE kind IN ('charge', 'credit_note');
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
