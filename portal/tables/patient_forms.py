"""Storage of form templates and the forms patients fill and sign (rules in portal/patient_forms/)."""

from piccolo.columns import JSONB, Bytea, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.patient import Patient


class FormTemplate(Table, tablename="form_template"):
    clinic = ForeignKey(references=Clinic)
    kind = Varchar(length=20)  # medical_history | consent | new_patient
    title = Varchar(length=200)
    intro = Text(default="")
    fields = JSONB()


class SentForm(Table, tablename="patient_form"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    template = ForeignKey(references=FormTemplate)
    kind = Varchar(length=20)
    title = Varchar(length=200)
    intro = Text(default="")
    fields = JSONB()  # the template's fields as sent (a later template edit never changes a sent form)
    language = Varchar(length=8)
    token_hash = Varchar(length=64, unique=True)  # SHA-256 of the link's secret; the secret itself is not kept
    expires_at = Timestamptz()
    sent_by = Integer()
    sent_by_name = Varchar(length=200)
    sent_at = Timestamptz()
    submitted_at = Timestamptz(null=True, default=None)
    answers = JSONB(null=True, default=None)
    signer_name = Varchar(length=200, null=True, default=None)
    signature_method = Varchar(length=10, null=True, default=None)  # drawn | typed
    signature_strokes = JSONB(null=True, default=None)
    signature_png = Bytea(null=True, default=None)
    signed_sha256 = Varchar(length=64, null=True, default=None)
    pdf = Bytea(null=True, default=None)
    decision = Varchar(length=10, null=True, default=None)  # accepted | declined
    decided_by = Integer(null=True, default=None)
    decided_by_name = Varchar(length=200, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    history_version = Integer(null=True, default=None)
