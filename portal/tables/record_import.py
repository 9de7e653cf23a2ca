"""Storage of imported patient records: each import of another clinic's export and the visit history it brought."""

from piccolo.columns import JSONB, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.patient import Patient
from portal.tables.staff import Staff


class PatientImport(Table, tablename="patient_import"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient, null=True)
    source_clinic = Varchar(length=200)
    source_country = Varchar(length=2, default="")
    source_patient_id = Integer()
    generated_at = Timestamptz()
    document_sha256 = Varchar(length=64)
    imported_by = ForeignKey(references=Staff, null=True)
    imported_at = Timestamptz()
    counts = JSONB(default="{}")


class ImportedVisit(Table, tablename="imported_visit"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    patient_import = ForeignKey(references=PatientImport)
    source_ref = Varchar(length=80)
    starts_at = Timestamptz()
    ends_at = Timestamptz()
    status = Varchar(length=20)
    type = Varchar(length=200, default="")
    provider = Varchar(length=200, default="")
    notes = Varchar(length=1000, default="")
    cancel_reason = Varchar(length=300, default="")
