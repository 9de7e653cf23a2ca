"""Patient images: metadata in one table, the bytes (original, thumbnail, display rendering) in another.

Why the bytes live in PostgreSQL and not on disk: see portal/tables/imaging.py.
"""

from portal.db import sql_migration

ID = "2026-11-25T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "patient images"

SQL = """
CREATE TABLE patient_image (
    id serial PRIMARY KEY,
    clinic integer NOT NULL REFERENCES clinic(id) ON DELETE RESTRICT,
    patient integer NOT NULL REFERENCES patient(id) ON DELETE CASCADE,
    kind varchar(10) NOT NULL CHECK (kind IN ('xray', 'photo', 'scan')),
    format varchar(10) NOT NULL CHECK (format IN ('png', 'jpeg', 'dicom', 'stl')),
    content_type varchar(60) NOT NULL,
    original_name varchar(200) NOT NULL DEFAULT '',
    byte_size integer NOT NULL CHECK (byte_size > 0),
    width integer,
    height integer,
    taken_on date NOT NULL,
    teeth varchar(200) NOT NULL DEFAULT '',
    caption varchar(500) NOT NULL DEFAULT '',
    uploaded_by integer REFERENCES staff(id) ON DELETE SET NULL,
    uploaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX patient_image_patient_idx ON patient_image (clinic, patient, taken_on DESC, id DESC);

CREATE TABLE patient_image_blob (
    image integer NOT NULL REFERENCES patient_image(id) ON DELETE CASCADE,
    rendition varchar(10) NOT NULL CHECK (rendition IN ('original', 'display', 'thumbnail')),
    content_type varchar(60) NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (image, rendition)
);
-- PNG, JPEG and most DICOM are compressed already: store out of line without a second, useless compression.
ALTER TABLE patient_image_blob ALTER COLUMN data SET STORAGE EXTERNAL;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
