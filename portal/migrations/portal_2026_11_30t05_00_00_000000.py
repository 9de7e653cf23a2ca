"""The audit trail proves itself: each row stores its place in its clinic's chain (chain_seq), the previous row's
hash and its own (SHA-256 over its content and that hash), set by a trigger on every insert path under a per-clinic
advisory lock, so concurrent inserts chain in commit order. Rows the retention engine purges leave their hash in
audit_chain_purge, so `portal audit verify` tells a sanctioned gap from a deleted row."""

from portal.db import sql_migration

ID = "2026-11-30T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "hash-chained audit trail"

SQL = """
ALTER TABLE audit_entry ADD COLUMN chain_seq bigint, ADD COLUMN prev_hash text NOT NULL DEFAULT '',
    ADD COLUMN row_hash text NOT NULL DEFAULT '';

CREATE TABLE audit_chain_purge (
    id serial PRIMARY KEY,
    chain integer NOT NULL,
    chain_seq bigint NOT NULL,
    row_hash text NOT NULL,
    purged_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (chain, chain_seq)
);

-- What a row's hash covers: every column but the hash itself, NULLs told apart from empty text, the time in UTC.
CREATE FUNCTION audit_entry_digest(e audit_entry) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
    SELECT encode(sha256(convert_to(concat_ws('|', quote_nullable(e.id), quote_nullable(e.clinic_id),
        quote_nullable(e.actor_kind), quote_nullable(e.actor_id), quote_nullable(e.actor_name),
        quote_nullable(e.patient_id), quote_nullable(e.action), quote_nullable(e.object_type),
        quote_nullable(e.object_id), quote_nullable(e.request_id), quote_nullable(e.detail::jsonb::text),
        quote_nullable(to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')),
        quote_nullable(e.chain_seq), quote_nullable(e.prev_hash)), 'UTF8')), 'hex')
$fn$;

CREATE FUNCTION audit_entry_chain() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    last record;
BEGIN
    -- One chain per clinic (0 for rows of no clinic); held to commit, so the next insert sees this row.
    PERFORM pg_advisory_xact_lock(1094795585, coalesce(NEW.clinic_id, 0));
    SELECT chain_seq, row_hash INTO last FROM audit_entry
        WHERE coalesce(clinic_id, 0) = coalesce(NEW.clinic_id, 0) ORDER BY chain_seq DESC LIMIT 1;
    NEW.chain_seq := coalesce(last.chain_seq, 0) + 1;
    NEW.prev_hash := coalesce(last.row_hash, '');
    NEW.row_hash := audit_entry_digest(NEW);
    RETURN NEW;
END
$fn$;

-- Rows written before the chain existed are chained now, per clinic in id order.
ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only;
DO $do$
DECLARE
    r record;
    seqs jsonb := '{}';
    hashes jsonb := '{}';
    chain text;
BEGIN
    FOR r IN SELECT * FROM audit_entry ORDER BY id LOOP
        chain := coalesce(r.clinic_id, 0)::text;
        r.chain_seq := coalesce((seqs ->> chain)::bigint, 0) + 1;
        r.prev_hash := coalesce(hashes ->> chain, '');
        r.row_hash := audit_entry_digest(r::audit_entry);
        UPDATE audit_entry SET chain_seq = r.chain_seq, prev_hash = r.prev_hash, row_hash = r.row_hash
            WHERE id = r.id;
        seqs := seqs || jsonb_build_object(chain, r.chain_seq);
        hashes := hashes || jsonb_build_object(chain, r.row_hash);
    END LOOP;
END
$do$;
ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only;

ALTER TABLE audit_entry ALTER COLUMN chain_seq SET NOT NULL;
CREATE UNIQUE INDEX audit_entry_chain_idx ON audit_entry ((coalesce(clinic_id, 0)), chain_seq);
CREATE TRIGGER audit_entry_chain BEFORE INSERT ON audit_entry FOR EACH ROW EXECUTE FUNCTION audit_entry_chain();

-- The retention engine's purge keeps each removed row's place and hash, so the chain still verifies.
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('chairside.audit_purge', true) = 'on' THEN
        INSERT INTO audit_chain_purge (chain, chain_seq, row_hash)
            VALUES (coalesce(OLD.clinic_id, 0), OLD.chain_seq, OLD.row_hash);
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_entry is append-only' USING ERRCODE = 'insufficient_privilege';
END
$fn$;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
