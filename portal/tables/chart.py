"""Storage of the clinical chart. Teeth are stored in FDI numbering whatever the clinic displays; signed
notes, recorded acceptances and history versions are append-only by trigger (see the migration)."""

from decimal import Decimal

from piccolo.columns import (
    JSONB,
    Boolean,
    Bytea,
    ForeignKey,
    Integer,
    Numeric,
    SmallInt,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal.tables.appointment import Appointment
from portal.tables.clinic import Clinic
from portal.tables.patient import Patient
from portal.tables.staff import Staff


class MedicalHistory(Table, tablename="medical_history"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    version = Integer()
    conditions = Text(default="")
    medications = Text(default="")
    allergies = Text(default="")
    pregnant = Boolean(null=True, default=None)
    smoking = Varchar(length=10, default="unknown")  # unknown | never | former | current
    notes = Text(default="")
    recorded_by = ForeignKey(references=Staff, null=True)
    recorded_by_name = Varchar(length=200, default="")
    recorded_at = Timestamptz()


class MedicalAlert(Table, tablename="medical_alert"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    label = Varchar(length=120)
    severity = Varchar(length=10, default="high")
    source = Varchar(length=10)  # history | manual
    history_version = Integer(null=True, default=None)
    created_by = ForeignKey(references=Staff, null=True)
    created_at = Timestamptz()
    resolved_at = Timestamptz(null=True, default=None)
    resolved_by = ForeignKey(references=Staff, null=True)


class ToothFinding(Table, tablename="tooth_finding"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    tooth = SmallInt()  # FDI
    surfaces = Varchar(length=5, default="")  # subset of "MODBL" in that order
    kind = Varchar(length=20)
    material = Varchar(length=40, default="")
    state = Varchar(length=10)  # existing | planned | completed
    note = Varchar(length=500, default="")
    plan_item = Integer(null=True, default=None)
    recorded_by = ForeignKey(references=Staff, null=True)
    recorded_by_name = Varchar(length=200, default="")
    recorded_at = Timestamptz()


class ProcedureCode(Table, tablename="procedure_code"):
    clinic = ForeignKey(references=Clinic)
    code = Varchar(length=20)
    description = Varchar(length=200)
    fee = Numeric(digits=(10, 2))
    charts_as = Varchar(length=20, default="")  # the finding kind completing it writes, or "" for none
    material = Varchar(length=40, default="")
    active = Boolean(default=True)
    vat_rate = Numeric(digits=(5, 2), default=Decimal("0"))  # percent included in the fee (0: exempt medical care)


class TreatmentPlan(Table, tablename="treatment_plan"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    title = Varchar(length=200)
    status = Varchar(length=12, default="proposed")
    version = Integer(default=1)
    currency = Varchar(length=3)
    created_by = ForeignKey(references=Staff, null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class PlanItem(Table, tablename="plan_item"):
    clinic = ForeignKey(references=Clinic)
    plan = ForeignKey(references=TreatmentPlan)
    phase = SmallInt(default=1)
    procedure_code = ForeignKey(references=ProcedureCode, null=True)
    code = Varchar(length=20)
    description = Varchar(length=200)
    fee = Numeric(digits=(10, 2))  # copied from the fee schedule when planned
    charts_as = Varchar(length=20, default="")
    material = Varchar(length=40, default="")
    tooth = SmallInt(null=True, default=None)
    surfaces = Varchar(length=5, default="")
    status = Varchar(length=10, default="planned")  # planned | completed | declined
    completed_at = Timestamptz(null=True, default=None)
    completed_by = ForeignKey(references=Staff, null=True)


class PlanAcceptance(Table, tablename="plan_acceptance"):
    clinic = ForeignKey(references=Clinic)
    plan = ForeignKey(references=TreatmentPlan)
    plan_version = Integer()
    total = Numeric(digits=(12, 2))
    currency = Varchar(length=3)
    items = JSONB()
    accepted_by = Varchar(length=200)
    method = Varchar(length=20)
    recorded_by = ForeignKey(references=Staff, null=True)
    recorded_by_name = Varchar(length=200, default="")
    at = Timestamptz()
    signer_role = Varchar(length=10, default="patient")  # patient | guardian
    signature_strokes = JSONB(null=True, default=None)
    signature_png = Bytea(null=True, default=None)
    signed_sha256 = Varchar(length=64, null=True, default=None)


class ClinicalNote(Table, tablename="clinical_note"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    appointment = ForeignKey(references=Appointment, null=True)
    template = Varchar(length=20)
    body = Text()
    amends = Integer(null=True, default=None)
    amendment_reason = Varchar(length=500, default="")
    author = ForeignKey(references=Staff, null=True)
    author_name = Varchar(length=200)
    author_role = Varchar(length=20)
    author_credentials = Varchar(length=200, default="")
    content_hash = Varchar(length=64)
    signed_at = Timestamptz()
    imported_visit = Integer(null=True, default=None)  # an imported note's visit at the previous clinic
