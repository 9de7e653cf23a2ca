"""Third-party payers: a clinic's insurers and funds with their reimbursement per fee code, a patient's coverage,
the payer's expected share of each charge, and payer claims with their states.

Payers, their rates and coverage are settings and personal data kept current (a coverage is ended, not deleted).
What money is owed by whom is append-only (trigger `clinical_append_only`, which yields only to
`chairside_erasure_allowed()`): a share is recorded when its charge is, paid and rejected parts are new rows, and
a claim's lines and its states (drafted, sent, paid, partly paid, rejected) are never changed.
"""

from portal.db import sql_migration

ID = "2026-12-03T07:00:00:000000"
VERSION = "1.41.0"
DESCRIPTION = "third-party payers, coverage, payer shares and claims"

SQL = """
CREATE TABLE payer (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    name varchar(200) NOT NULL CHECK (name <> ''),
    identifier varchar(60) NOT NULL DEFAULT '',
    address varchar(500) NOT NULL DEFAULT '',
    email varchar(320) NOT NULL DEFAULT '',
    default_percent numeric(5,2) NOT NULL DEFAULT 0 CHECK (default_percent BETWEEN 0 AND 100),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payer_clinic_idx ON payer (clinic);

CREATE TABLE payer_rate (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    payer integer NOT NULL REFERENCES payer(id) ON DELETE CASCADE,
    procedure_code integer NOT NULL REFERENCES procedure_code(id) ON DELETE CASCADE,
    percent numeric(5,2) CHECK (percent BETWEEN 0 AND 100),
    amount numeric(12,2) CHECK (amount >= 0),
    CHECK ((percent IS NULL) <> (amount IS NULL)),
    UNIQUE (payer, procedure_code)
);

CREATE TABLE payer_coverage (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    payer integer NOT NULL REFERENCES payer(id) ON DELETE CASCADE,
    member_number varchar(60) NOT NULL CHECK (member_number <> ''),
    valid_from date NOT NULL,
    valid_to date,
    CHECK (valid_to IS NULL OR valid_to >= valid_from),
    created_by integer REFERENCES staff(id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payer_coverage_patient_idx ON payer_coverage (patient);

CREATE TABLE payer_claim (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    payer integer NOT NULL REFERENCES payer(id) ON DELETE CASCADE,
    year smallint NOT NULL,
    seq integer NOT NULL CHECK (seq > 0),
    number varchar(20) NOT NULL,
    period_from date,
    period_to date,
    total numeric(12,2) NOT NULL CHECK (total > 0),
    created_by integer REFERENCES staff(id) ON DELETE SET NULL,
    created_by_name varchar(200) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic, year, seq)
);
CREATE INDEX payer_claim_payer_idx ON payer_claim (payer);

CREATE TABLE payer_share (
    id bigserial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    account integer NOT NULL REFERENCES billing_account(id) ON DELETE CASCADE,
    patient integer REFERENCES patient(id) ON DELETE SET NULL,
    payer integer NOT NULL REFERENCES payer(id) ON DELETE CASCADE,
    charge bigint NOT NULL REFERENCES ledger_entry(id) ON DELETE CASCADE,
    kind varchar(10) NOT NULL CHECK (kind IN ('expected', 'paid', 'rejected', 'credited')),
    amount numeric(12,2) NOT NULL,
    CHECK ((kind = 'expected' AND amount > 0) OR (kind <> 'expected' AND amount < 0)),
    claim integer REFERENCES payer_claim(id) ON DELETE CASCADE,
    entry bigint REFERENCES ledger_entry(id) ON DELETE CASCADE,
    recorded_by_name varchar(200) NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX payer_share_expected_idx ON payer_share (charge) WHERE kind = 'expected';
CREATE INDEX payer_share_account_idx ON payer_share (account);
CREATE INDEX payer_share_payer_idx ON payer_share (payer, charge);

CREATE TABLE payer_claim_line (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    claim integer NOT NULL REFERENCES payer_claim(id) ON DELETE CASCADE,
    share bigint NOT NULL REFERENCES payer_share(id) ON DELETE CASCADE,
    account integer NOT NULL REFERENCES billing_account(id) ON DELETE CASCADE,
    patient integer REFERENCES patient(id) ON DELETE SET NULL,
    member_number varchar(60) NOT NULL DEFAULT '',
    performed_on date NOT NULL,
    code varchar(20) NOT NULL DEFAULT '',
    description varchar(300) NOT NULL DEFAULT '',
    charged numeric(12,2) NOT NULL,
    amount numeric(12,2) NOT NULL CHECK (amount > 0 AND amount <= charged)
);
CREATE INDEX payer_claim_line_claim_idx ON payer_claim_line (claim);
CREATE INDEX payer_claim_line_share_idx ON payer_claim_line (share);

CREATE TABLE payer_claim_event (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    claim integer NOT NULL REFERENCES payer_claim(id) ON DELETE CASCADE,
    state varchar(12) NOT NULL CHECK (state IN ('drafted', 'sent', 'paid', 'partly_paid', 'rejected')),
    amount numeric(12,2) NOT NULL DEFAULT 0 CHECK (amount >= 0),
    note varchar(300) NOT NULL DEFAULT '',
    by_staff integer REFERENCES staff(id) ON DELETE SET NULL,
    by_name varchar(200) NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payer_claim_event_claim_idx ON payer_claim_event (claim, id);

CREATE TRIGGER payer_share_append_only BEFORE UPDATE OR DELETE ON payer_share
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
CREATE TRIGGER payer_claim_append_only BEFORE UPDATE OR DELETE ON payer_claim
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
CREATE TRIGGER payer_claim_line_append_only BEFORE UPDATE OR DELETE ON payer_claim_line
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
CREATE TRIGGER payer_claim_event_append_only BEFORE UPDATE OR DELETE ON payer_claim_event
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
