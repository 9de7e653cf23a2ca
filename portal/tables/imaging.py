"""Storage of patient images (X-rays, photos, STL scans): metadata and bytes in two tables.

Why the bytes are in PostgreSQL (`bytea`) and not in files beside the database:
- Backups: one `pg_dump` holds every record *and* every image, consistent to the same instant; there is no
  second store to copy, forget, or restore out of step with the rows that point at it.
- Erasure: a patient's images go with one transactional `DELETE` (the blobs follow by `ON DELETE CASCADE`);
  it commits or rolls back together with the rest of the erasure, and no orphan file can survive a crash
  between "row deleted" and "file unlinked".
- Tenancy: the bytes are reached only through a metadata row that is checked against the actor's clinic,
  like every other record.
The cost is size: a practice's images run to gigabytes, which PostgreSQL stores out of line (TOAST) without
trouble. The blobs sit in their own table so listing a gallery never reads them.
"""

from piccolo.columns import Bytea, Date, DoublePrecision, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.patient import Patient
from portal.tables.staff import Staff


class PatientImage(Table, tablename="patient_image"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    kind = Varchar(length=10)  # xray | photo | scan
    format = Varchar(length=10)  # png | jpeg | dicom | stl (what the bytes are, sniffed on upload)
    content_type = Varchar(length=60)
    original_name = Varchar(length=200, default="")
    byte_size = Integer()
    width = Integer(null=True, default=None)
    height = Integer(null=True, default=None)
    # mm between pixel centres (DICOM PixelSpacing, else ImagerPixelSpacing), for the viewer's ruler; null: not
    # calibrated
    pixel_spacing_row = DoublePrecision(null=True, default=None)
    pixel_spacing_column = DoublePrecision(null=True, default=None)
    taken_on = Date()
    teeth = Varchar(length=200, default="")  # FDI numbers, space separated, e.g. "11 21 36"
    caption = Varchar(length=500, default="")
    uploaded_by = ForeignKey(references=Staff, null=True)
    uploaded_at = Timestamptz()
    # Withdrawn (wrongly filed): kept and audited, hidden from the chart, erased by retention like the rest.
    withdrawn_at = Timestamptz(null=True, default=None)
    withdrawn_by = ForeignKey(references=Staff, null=True)
    withdrawn_reason = Varchar(length=300, default="")
    imported_visit = Integer(null=True, default=None)  # an imported image's visit at the previous clinic


class PatientImageBlob(Table, tablename="patient_image_blob"):
    # (image, rendition) is the primary key in the migration; Piccolo needs a column it can call the key.
    image = ForeignKey(references=PatientImage, primary_key=True)
    rendition = Varchar(length=10)  # original | display | thumbnail
    content_type = Varchar(length=60)
    data = Bytea()
