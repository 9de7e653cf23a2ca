"""Payment plans: an account's agreed instalments with due dates, append-only like the ledger they are paid into.

A plan and its instalments are never changed or deleted (trigger `clinical_append_only`, which yields only to
`chairside_erasure_allowed()`): what is paid and what is overdue is derived from the ledger, and a new agreement
is a new plan that replaces the last (`replaces`). They go with their account when an erasure deletes it.
"""

from portal.db import sql_migration

ID = "2026-12-02T05:10:00:000000"
VERSION = "1.40.0"
DESCRIPTION = "payment plans with instalments"

SQL = """
CREATE TABLE payment_plan (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    account integer NOT NULL REFERENCES billing_account(id) ON DELETE CASCADE,
    patient integer REFERENCES patient(id) ON DELETE SET NULL,
    replaces integer REFERENCES payment_plan(id) ON DELETE CASCADE,
    total numeric(12,2) NOT NULL CHECK (total > 0),
    note varchar(500) NOT NULL DEFAULT '',
    created_by integer REFERENCES staff(id) ON DELETE SET NULL,
    created_by_name varchar(200) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_plan_account_idx ON payment_plan (account);
CREATE INDEX payment_plan_clinic_idx ON payment_plan (clinic);

CREATE TABLE payment_instalment (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    plan integer NOT NULL REFERENCES payment_plan(id) ON DELETE CASCADE,
    seq smallint NOT NULL CHECK (seq > 0),
    due_on date NOT NULL,
    amount numeric(12,2) NOT NULL CHECK (amount > 0),
    UNIQUE (plan, seq)
);
CREATE INDEX payment_instalment_due_idx ON payment_instalment (clinic, due_on);

CREATE TRIGGER payment_plan_append_only BEFORE UPDATE OR DELETE ON payment_plan
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
CREATE TRIGGER payment_instalment_append_only BEFORE UPDATE OR DELETE ON payment_instalment
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
