"""Storage of patient accounts: accounts and members, the append-only ledger, invoices, lines and allocations."""

from decimal import Decimal

from piccolo.columns import BigInt, Date, ForeignKey, Integer, Numeric, SmallInt, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.patient import Patient
from portal.tables.staff import Staff


class BillingAccount(Table, tablename="billing_account"):
    clinic = ForeignKey(references=Clinic)
    kind = Varchar(length=10, default="patient")  # patient | family
    guarantor = ForeignKey(references=Patient, null=True)
    name = Varchar(length=200)
    created_at = Timestamptz()


class BillingMember(Table, tablename="billing_member"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient)
    account = ForeignKey(references=BillingAccount)
    joined_at = Timestamptz()


class LedgerEntry(Table, tablename="ledger_entry"):
    clinic = ForeignKey(references=Clinic)
    account = ForeignKey(references=BillingAccount)
    patient = ForeignKey(references=Patient, null=True)
    kind = Varchar(length=12)  # charge | payment | refund | credit_note | adjustment | write_off
    amount = Numeric(digits=(12, 2))  # signed: what it adds to what the account owes
    method = Varchar(length=16, null=True, default=None)  # cash | card | bank_transfer | online
    plan_item = Integer(null=True, default=None)
    code = Varchar(length=20, default="")
    description = Varchar(length=300, default="")
    vat_rate = Numeric(digits=(5, 2), default=Decimal("0"))
    provider = ForeignKey(references=Staff, null=True)
    invoice = Integer(null=True, default=None)
    reference = Varchar(length=100, default="")
    reason = Varchar(length=500, default="")
    recorded_by = ForeignKey(references=Staff, null=True)
    recorded_by_name = Varchar(length=200, default="")
    at = Timestamptz()


class InvoiceCounter(Table, tablename="invoice_counter"):
    clinic = ForeignKey(references=Clinic)
    year = SmallInt()
    last = Integer()


class Invoice(Table, tablename="invoice"):
    clinic = ForeignKey(references=Clinic)
    account = ForeignKey(references=BillingAccount)
    kind = Varchar(length=12, default="invoice")  # invoice | credit_note
    corrects = Integer(null=True, default=None)
    year = SmallInt()
    seq = Integer()
    number = Varchar(length=20)
    issued_at = Timestamptz()
    due_on = Date()
    currency = Varchar(length=3)
    total = Numeric(digits=(12, 2))
    vat_total = Numeric(digits=(12, 2))
    bill_to = Varchar(length=200)
    bill_to_address = Varchar(length=500, default="")
    seller_name = Varchar(length=200)
    seller_address = Varchar(length=500, default="")
    seller_tax_id = Varchar(length=40, default="")
    issued_by = ForeignKey(references=Staff, null=True)
    issued_by_name = Varchar(length=200, default="")


class InvoiceLine(Table, tablename="invoice_line"):
    clinic = ForeignKey(references=Clinic)
    invoice = ForeignKey(references=Invoice)
    entry = BigInt()
    code = Varchar(length=20, default="")
    description = Varchar(length=300)
    patient_name = Varchar(length=200, default="")
    performed_on = Date()
    amount = Numeric(digits=(12, 2))
    vat_rate = Numeric(digits=(5, 2), default=Decimal("0"))
    vat_amount = Numeric(digits=(12, 2), default=Decimal("0"))


class PaymentAllocation(Table, tablename="payment_allocation"):
    clinic = ForeignKey(references=Clinic)
    payment = BigInt()
    invoice = ForeignKey(references=Invoice)
    amount = Numeric(digits=(12, 2))
    at = Timestamptz()


class OnlinePayment(Table, tablename="online_payment"):
    clinic = ForeignKey(references=Clinic)
    account = ForeignKey(references=BillingAccount)
    patient = ForeignKey(references=Patient, null=True)
    invoice = ForeignKey(references=Invoice, null=True)
    amount = Numeric(digits=(12, 2))
    currency = Varchar(length=3)
    provider_id = Varchar(length=60, null=True, default=None)
    idempotency_key = Varchar(length=80)
    status = Varchar(length=20, default="created")  # created | open | paid | failed | expired | canceled
    checkout_url = Varchar(length=500, default="")
    entry = BigInt(null=True, default=None)
    created_by = ForeignKey(references=Staff, null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class PaymentPlan(Table, tablename="payment_plan"):
    clinic = ForeignKey(references=Clinic)
    account = ForeignKey(references=BillingAccount)
    patient = ForeignKey(references=Patient, null=True)
    replaces = Integer(null=True, default=None)
    total = Numeric(digits=(12, 2))
    note = Varchar(length=500, default="")
    created_by = ForeignKey(references=Staff, null=True)
    created_by_name = Varchar(length=200, default="")
    created_at = Timestamptz()


class PaymentInstalment(Table, tablename="payment_instalment"):
    clinic = ForeignKey(references=Clinic)
    plan = ForeignKey(references=PaymentPlan)
    seq = SmallInt()
    due_on = Date()
    amount = Numeric(digits=(12, 2))
