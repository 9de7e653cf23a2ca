"""Aligner series: rounds (the first plan and each refinement from a new scan), delivered batches, reminders."""

from portal.db import sql_migration

ID = "2026-12-02T08:30:00:000000"
VERSION = "1.40.3"
DESCRIPTION = "aligner series, refinement rounds and delivery batches"

# Rounds and batches are clinical records: append-only (clinical_append_only honours an approved erasure); a
# correction is a new batch. Which aligner the patient wears is derived from the batches, never stored.
SQL = """
CREATE TABLE aligner_series (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    days_per_aligner smallint NOT NULL CHECK (days_per_aligner BETWEEN 1 AND 60),
    reminders boolean NOT NULL DEFAULT false,  -- the patient asked for change reminders (and consents to mail)
    created_by integer REFERENCES staff(id) ON DELETE SET NULL,
    created_by_name varchar(200) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);
CREATE INDEX aligner_series_patient_idx ON aligner_series (patient);

CREATE TABLE aligner_round (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    series integer NOT NULL REFERENCES aligner_series(id) ON DELETE CASCADE,
    number smallint NOT NULL,  -- 0 the first plan, 1.. each refinement
    stages smallint NOT NULL CHECK (stages BETWEEN 1 AND 120),
    scan_image integer REFERENCES patient_image(id) ON DELETE SET NULL,
    lab_case integer REFERENCES lab_case(id) ON DELETE SET NULL,
    note varchar(500) NOT NULL DEFAULT '',
    created_by_name varchar(200) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    UNIQUE (series, number)
);
CREATE TRIGGER aligner_round_append_only BEFORE UPDATE OR DELETE ON aligner_round
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();

CREATE TABLE aligner_batch (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
    round integer NOT NULL REFERENCES aligner_round(id) ON DELETE CASCADE,
    first_stage smallint NOT NULL CHECK (first_stage >= 1),
    last_stage smallint NOT NULL CHECK (last_stage >= first_stage),
    wear_from date NOT NULL,  -- the day the patient puts in the batch's first aligner
    delivered_by_name varchar(200) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);
CREATE INDEX aligner_batch_round_idx ON aligner_batch (round, wear_from);
CREATE TRIGGER aligner_batch_append_only BEFORE UPDATE OR DELETE ON aligner_batch
    FOR EACH ROW EXECUTE FUNCTION clinical_append_only();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
