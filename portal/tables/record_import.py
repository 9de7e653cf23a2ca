"""Storage of imported patient records: each import of another clinic's export, the history it brought, staged
uploads and the clinic's export signing keys."""

from piccolo.columns import JSONB, Bytea, ForeignKey, Integer, Text, Timestamptz, Varchar
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


class ImportUpload(Table, tablename="import_upload"):
    clinic = ForeignKey(references=Clinic)
    uploaded_by = ForeignKey(references=Staff, null=True)
    uploaded_at = Timestamptz()
    data = Bytea()


class ImportedRecord(Table, tablename="imported_record"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    patient_import = ForeignKey(references=PatientImport)
    category = Varchar(length=40)  # forms | lab_cases | invoices | account_ledger
    source_ref = Varchar(length=80)
    record = JSONB()
    file_name = Varchar(length=200, default="")
    data = Bytea(null=True, default=None)


class ExportSigningKey(Table, tablename="export_signing_key"):
    clinic = ForeignKey(references=Clinic)
    key_id = Varchar(length=40, unique=True)
    public_key = Bytea()
    private_key_sealed = Text()  # Fernet token (credentials key) of the raw 32-byte Ed25519 private key
    created_at = Timestamptz()
    retired_at = Timestamptz(null=True, default=None)
