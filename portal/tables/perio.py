"""Storage of perio charts: one exam per sitting, one row per tooth with its six sites as arrays (the site order is
portal/charts/perio.py's SITES). Signed exams and their teeth are immutable by trigger (see the migration)."""

from piccolo.columns import Array, Boolean, ForeignKey, SmallInt, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.patient import Patient
from portal.tables.staff import Staff


class PerioExam(Table, tablename="perio_exam"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    teeth = Array(base_column=SmallInt())  # FDI, the teeth present when the exam was started
    created_by = ForeignKey(references=Staff, null=True)
    created_by_name = Varchar(length=200, default="")
    created_at = Timestamptz()
    signed_at = Timestamptz(null=True, default=None)
    signed_by = ForeignKey(references=Staff, null=True)
    signed_by_name = Varchar(length=200, default="")
    signed_by_role = Varchar(length=20, default="")
    signed_by_credentials = Varchar(length=200, default="")
    content_hash = Varchar(length=64, default="")
    stage = Varchar(length=4, default="")  # confirmed at signing: none | I | II | III | IV
    grade = Varchar(length=1, default="")  # A | B | C ('' with stage none)


class PerioTooth(Table, tablename="perio_tooth"):
    clinic = ForeignKey(references=Clinic)
    exam = ForeignKey(references=PerioExam)
    tooth = SmallInt()  # FDI
    depths = Array(base_column=SmallInt())  # mm, None where not probed
    margins = Array(base_column=SmallInt())  # gingival margin to CEJ in mm, recession negative
    bleeding = Array(base_column=Boolean())
    suppuration = Array(base_column=Boolean())
    plaque = Array(base_column=Boolean())
    calculus = Array(base_column=Boolean())
    mobility = SmallInt(default=0)  # 0-3
    furcation = SmallInt(default=0)  # 0 none, class I-III
    recorded_by = ForeignKey(references=Staff, null=True)
    recorded_at = Timestamptz()
