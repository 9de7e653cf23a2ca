"""The patient account: accounts shared by patients, an append-only ledger, gapless invoices, payment allocations.

Balances and aging are computed from `ledger_entry`, never stored. Entries, invoices, their lines and
allocations are append-only by trigger (`clinical_append_only`, which yields only to `chairside_erasure_allowed()`);
a mistake is reversed by another entry, an issued invoice is corrected by a credit note. Invoice numbers come
from `invoice_counter`: one row per clinic and year, incremented in the issuing transaction, so its row lock
serialises concurrent issuers and a rolled-back issue gives its number back (no gap, no duplicate).
"""

from portal.db import sql_migration

ID = "2026-12-01T05:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "patient accounts, ledger, invoices"

SQL = """
ALTER TABLE procedure_code ADD COLUMN vat_rate numeric(5,2) NOT NULL DEFAULT 0
    CHECK (vat_rate >= 0 AND vat_rate < 100);
ALTER TABLE clinic ADD COLUMN tax_id varchar(40) NOT NULL DEFAULT '';
ALTER TABLE clinic ADD COLUMN payment_terms_days smallint NOT NULL DEFAULT 30
    CHECK (payment_terms_days BETWEEN 0 AND 365);

CREATE TABLE billing_account (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    kind varchar(10) NOT NULL DEFAULT 'patient' CHECK (kind IN ('patient', 'family')),
    guarantor integer REFERENCES patient(id) ON DELETE SET NULL,
    name varchar(200) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX billing_account_clinic_idx ON billing_account (clinic);

-- Which account a patient's treatment is billed to now (one per patient; a family shares one).
CREATE TABLE billing_member (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL UNIQUE REFERENCES patient(id) ON DELETE CASCADE,
    account integer NOT NULL REFERENCES billing_account(id) ON DELETE CASCADE,
    joined_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX billing_member_account_idx ON billing_member (account);

CREATE TABLE ledger_entry (
    id bigserial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    account integer NOT NULL REFERENCES billing_account(id) ON DELETE CASCADE,
    patient integer REFERENCES patient(id) ON DELETE SET NULL,
    kind varchar(12) NOT NULL
        CHECK (kind IN ('charge', 'payment', 'refund', 'credit_note', 'adjustment', 'write_off')),
    amount numeric(12,2) NOT NULL CHECK (amount <> 0),
    method varchar(16) CHECK (method IN ('cash', 'card', 'bank_transfer', 'online')),
    plan_item integer,  -- the completed procedure a charge bills (no key: plans follow clinical retention)
    code varchar(20) NOT NULL DEFAULT '',
    description varchar(300) NOT NULL DEFAULT '',
    vat_rate numeric(5,2) NOT NULL DEFAULT 0,
    provider integer REFERENCES staff(id) ON DELETE SET NULL,
    invoice integer,  -- a credit note's entries: the credit note
    reference varchar(100) NOT NULL DEFAULT '',
    reason varchar(500) NOT NULL DEFAULT '',
    recorded_by integer REFERENCES staff(id) ON DELETE SET NULL,
    recorded_by_name varchar(200) NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind IN ('charge', 'refund') AND amount > 0)
           OR (kind IN ('payment', 'credit_note', 'write_off') AND amount < 0) OR kind = 'adjustment'),
    CHECK ((kind IN ('payment', 'refund')) = (method IS NOT NULL)),
    CHECK (kind NOT IN ('adjustment', 'write_off') OR reason <> '')
);
CREATE UNIQUE INDEX ledger_entry_plan_item_idx ON ledger_entry (plan_item) WHERE kind = 'charge';
CREATE INDEX ledger_entry_account_idx ON ledger_entry (account, at, id);
CREATE INDEX ledger_entry_clinic_at_idx ON ledger_entry (clinic, at);
CREATE INDEX ledger_entry_patient_idx ON ledger_entry (patient);

CREATE TABLE invoice_counter (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    year smallint NOT NULL,
    last integer NOT NULL CHECK (last > 0),
    UNIQUE (clinic, year)
);

CREATE TABLE invoice (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    account integer NOT NULL REFERENCES billing_account(id) ON DELETE CASCADE,
    kind varchar(12) NOT NULL DEFAULT 'invoice' CHECK (kind IN ('invoice', 'credit_note')),
    corrects integer REFERENCES invoice(id) ON DELETE CASCADE,
    year smallint NOT NULL,
    seq integer NOT NULL,
    number varchar(20) NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    due_on date NOT NULL,
    currency varchar(3) NOT NULL,
    total numeric(12,2) NOT NULL,
    vat_total numeric(12,2) NOT NULL,
    bill_to varchar(200) NOT NULL,
    bill_to_address varchar(500) NOT NULL DEFAULT '',
    seller_name varchar(200) NOT NULL,
    seller_address varchar(500) NOT NULL DEFAULT '',
    seller_tax_id varchar(40) NOT NULL DEFAULT '',
    issued_by integer REFERENCES staff(id) ON DELETE SET NULL,
    issued_by_name varchar(200) NOT NULL DEFAULT '',
    UNIQUE (clinic, year, seq),
    CHECK ((kind = 'credit_note') = (corrects IS NOT NULL))
);
CREATE INDEX invoice_account_idx ON invoice (account, id);

CREATE TABLE invoice_line (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    invoice integer NOT NULL REFERENCES invoice(id) ON DELETE CASCADE,
    entry bigint NOT NULL UNIQUE REFERENCES ledger_entry(id) ON DELETE CASCADE,
    code varchar(20) NOT NULL DEFAULT '',
    description varchar(300) NOT NULL,
    patient_name varchar(200) NOT NULL DEFAULT '',
    performed_on date NOT NULL,
    amount numeric(12,2) NOT NULL,
    vat_rate numeric(5,2) NOT NULL DEFAULT 0,
    vat_amount numeric(12,2) NOT NULL DEFAULT 0
);
CREATE INDEX invoice_line_invoice_idx ON invoice_line (invoice, id);

CREATE TABLE payment_allocation (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    payment bigint NOT NULL REFERENCES ledger_entry(id) ON DELETE CASCADE,
    invoice integer NOT NULL REFERENCES invoice(id) ON DELETE CASCADE,
    amount numeric(12,2) NOT NULL CHECK (amount > 0),
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_allocation_invoice_idx ON payment_allocation (invoice);
CREATE INDEX payment_allocation_payment_idx ON payment_allocation (payment);

CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
CREATE TRIGGER invoice_append_only BEFORE UPDATE OR DELETE ON invoice
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
CREATE TRIGGER invoice_line_append_only BEFORE UPDATE OR DELETE ON invoice_line
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
CREATE TRIGGER payment_allocation_append_only BEFORE UPDATE OR DELETE ON payment_allocation
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
