"""Storage of third-party payers: payers and their rates, coverage, the append-only payer shares and claims."""

from piccolo.columns import (
    BigInt,
    BigSerial,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    SmallInt,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal.tables.billing import BillingAccount
from portal.tables.chart import ProcedureCode
from portal.tables.clinic import Clinic
from portal.tables.patient import Patient
from portal.tables.staff import Staff


class Payer(Table, tablename="payer"):
    clinic = ForeignKey(references=Clinic)
    name = Varchar(length=200)
    identifier = Varchar(length=60, default="")  # the insurer's code or the fund's registration number
    address = Varchar(length=500, default="")
    email = Varchar(length=320, default="")
    default_percent = Numeric(digits=(5, 2))  # share of any fee code without a rate of its own
    active = Boolean(default=True)
    created_at = Timestamptz()


class PayerRate(Table, tablename="payer_rate"):
    clinic = ForeignKey(references=Clinic)
    payer = ForeignKey(references=Payer)
    procedure_code = ForeignKey(references=ProcedureCode)
    percent = Numeric(digits=(5, 2), null=True, default=None)
    amount = Numeric(digits=(12, 2), null=True, default=None)


class PayerCoverage(Table, tablename="payer_coverage"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    payer = ForeignKey(references=Payer)
    member_number = Varchar(length=60)
    valid_from = Date()
    valid_to = Date(null=True, default=None)
    created_by = ForeignKey(references=Staff, null=True)
    created_at = Timestamptz()


class PayerClaim(Table, tablename="payer_claim"):
    clinic = ForeignKey(references=Clinic)
    payer = ForeignKey(references=Payer)
    year = SmallInt()
    seq = Integer()
    number = Varchar(length=20)
    period_from = Date(null=True, default=None)
    period_to = Date(null=True, default=None)
    total = Numeric(digits=(12, 2))
    created_by = ForeignKey(references=Staff, null=True)
    created_by_name = Varchar(length=200, default="")
    created_at = Timestamptz()


class PayerShare(Table, tablename="payer_share"):
    id = BigSerial(primary_key=True)
    clinic = ForeignKey(references=Clinic)
    account = ForeignKey(references=BillingAccount)
    patient = ForeignKey(references=Patient, null=True)
    payer = ForeignKey(references=Payer)
    charge = BigInt()  # the ledger charge the share is of
    kind = Varchar(length=10)  # expected (+) | paid (-) | rejected (-: back to the patient) | credited (-)
    amount = Numeric(digits=(12, 2))  # signed: what it adds to what the payer owes
    claim = ForeignKey(references=PayerClaim, null=True)
    entry = BigInt(null=True, default=None)  # the ledger payment a paid part posted
    recorded_by_name = Varchar(length=200, default="")
    at = Timestamptz()


class PayerClaimLine(Table, tablename="payer_claim_line"):
    clinic = ForeignKey(references=Clinic)
    claim = ForeignKey(references=PayerClaim)
    share = BigInt()  # the expected share claimed
    account = ForeignKey(references=BillingAccount)
    patient = ForeignKey(references=Patient, null=True)
    member_number = Varchar(length=60, default="")
    performed_on = Date()
    code = Varchar(length=20, default="")
    description = Varchar(length=300, default="")
    charged = Numeric(digits=(12, 2))
    amount = Numeric(digits=(12, 2))


class PayerClaimEvent(Table, tablename="payer_claim_event"):
    clinic = ForeignKey(references=Clinic)
    claim = ForeignKey(references=PayerClaim)
    state = Varchar(length=12)  # drafted | sent | paid | partly_paid | rejected
    amount = Numeric(digits=(12, 2))
    note = Varchar(length=300, default="")
    by_staff = ForeignKey(references=Staff, null=True)
    by_name = Varchar(length=200, default="")
    at = Timestamptz()
