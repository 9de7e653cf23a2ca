"""Online payments through a payment provider (Mollie's REST API): one row per checkout, its provider id, the
idempotency key sent with the creation, and the ledger entry the paid payment became (once, however often the
webhook arrives). Erased with the account it belongs to."""

from portal.db import sql_migration

ID = "2026-12-01T05:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "online payments"

SQL = """
CREATE TABLE online_payment (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    account integer NOT NULL REFERENCES billing_account(id) ON DELETE CASCADE,
    patient integer REFERENCES patient(id) ON DELETE SET NULL,
    invoice integer REFERENCES invoice(id) ON DELETE CASCADE,
    amount numeric(12,2) NOT NULL CHECK (amount > 0),
    currency varchar(3) NOT NULL,
    provider_id varchar(60) UNIQUE,
    idempotency_key varchar(80) NOT NULL UNIQUE,
    status varchar(20) NOT NULL DEFAULT 'created',
    checkout_url varchar(500) NOT NULL DEFAULT '',
    entry bigint,
    created_by integer REFERENCES staff(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX online_payment_invoice_idx ON online_payment (invoice);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
