"""Perio charts: an exam per patient and a row per tooth (six sites as arrays); signed exams are immutable.

While an exam is a draft its teeth are saved and saved again; once signed the database refuses UPDATE and DELETE
of the exam and any change to its teeth, unless `chairside_erasure_allowed()` (erasure, retention).
Attachment level is not stored: it is probing depth minus gingival margin, computed where it is shown.
"""

from portal.db import sql_migration

ID = "2026-12-01T08:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "perio exams and teeth"

SQL = """
CREATE TABLE perio_exam (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic (id),
    patient integer NOT NULL REFERENCES patient (id),
    teeth smallint[] NOT NULL,
    created_by integer REFERENCES staff (id),
    created_by_name varchar(200) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    signed_at timestamptz,
    signed_by integer REFERENCES staff (id),
    signed_by_name varchar(200) NOT NULL DEFAULT '',
    signed_by_role varchar(20) NOT NULL DEFAULT '',
    signed_by_credentials varchar(200) NOT NULL DEFAULT '',
    content_hash varchar(64) NOT NULL DEFAULT '',
    stage varchar(4) NOT NULL DEFAULT '' CHECK (stage IN ('', 'none', 'I', 'II', 'III', 'IV')),
    grade varchar(1) NOT NULL DEFAULT '' CHECK (grade IN ('', 'A', 'B', 'C')),
    CHECK ((signed_at IS NULL) = (content_hash = ''))
);
CREATE INDEX perio_exam_patient_idx ON perio_exam (clinic, patient, id);

CREATE TABLE perio_tooth (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic (id),
    exam integer NOT NULL REFERENCES perio_exam (id),
    tooth smallint NOT NULL,
    depths smallint[] NOT NULL CHECK (cardinality(depths) = 6),
    margins smallint[] NOT NULL CHECK (cardinality(margins) = 6),
    bleeding boolean[] NOT NULL CHECK (cardinality(bleeding) = 6),
    suppuration boolean[] NOT NULL CHECK (cardinality(suppuration) = 6),
    plaque boolean[] NOT NULL CHECK (cardinality(plaque) = 6),
    calculus boolean[] NOT NULL CHECK (cardinality(calculus) = 6),
    mobility smallint NOT NULL DEFAULT 0 CHECK (mobility BETWEEN 0 AND 3),
    furcation smallint NOT NULL DEFAULT 0 CHECK (furcation BETWEEN 0 AND 3),
    recorded_by integer REFERENCES staff (id),
    recorded_at timestamptz NOT NULL,
    UNIQUE (exam, tooth)
);

CREATE FUNCTION perio_exam_signed_immutable() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF OLD.signed_at IS NULL OR chairside_erasure_allowed() THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'perio_exam % is signed and append-only', OLD.id USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER perio_exam_signed_immutable BEFORE UPDATE OR DELETE ON perio_exam
    FOR EACH ROW EXECUTE FUNCTION perio_exam_signed_immutable();

CREATE FUNCTION perio_tooth_signed_immutable() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    exam_id integer := CASE WHEN TG_OP = 'INSERT' THEN NEW.exam ELSE OLD.exam END;
BEGIN
    IF chairside_erasure_allowed() OR NOT EXISTS (
            SELECT 1 FROM perio_exam WHERE id = exam_id AND signed_at IS NOT NULL) THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'perio_exam % is signed: its teeth are append-only', exam_id
        USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER perio_tooth_signed_immutable BEFORE INSERT OR UPDATE OR DELETE ON perio_tooth
    FOR EACH ROW EXECUTE FUNCTION perio_tooth_signed_immutable();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
