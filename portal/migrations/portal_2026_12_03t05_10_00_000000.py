"""The X-ray viewer's ruler: an image's pixel spacing in mm as its DICOM header states it (null: not calibrated)."""

from portal.db import sql_migration

ID = "2026-12-03T05:10:00:000000"
VERSION = "1.39.2"
DESCRIPTION = "image pixel spacing"

SQL = """
ALTER TABLE patient_image ADD COLUMN pixel_spacing_row double precision
    CHECK (pixel_spacing_row > 0 AND pixel_spacing_row <= 10);
ALTER TABLE patient_image ADD COLUMN pixel_spacing_column double precision
    CHECK (pixel_spacing_column > 0 AND pixel_spacing_column <= 10);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, SQL)
