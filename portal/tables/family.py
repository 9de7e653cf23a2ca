"""Storage of families (households): patients of one clinic sharing a postal address."""

from piccolo.columns import ForeignKey, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.patient import Patient


class Family(Table, tablename="family"):
    clinic = ForeignKey(references=Clinic)
    name = Varchar(length=200)
    address = Varchar(length=500, default="")  # the street line (street and number)
    postcode = Varchar(length=12, default="")
    city = Varchar(length=120, default="")
    country = Varchar(length=2, default="")  # ISO 3166-1 alpha-2
    created_at = Timestamptz()


class FamilyMember(Table, tablename="family_member"):
    clinic = ForeignKey(references=Clinic)
    family = ForeignKey(references=Family)
    patient = ForeignKey(references=Patient)  # unique: one family per patient
    joined_at = Timestamptz()
