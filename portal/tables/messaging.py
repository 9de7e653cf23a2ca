"""Storage of text conversations (WhatsApp, SMS) and of leads: unknown numbers that wrote to a clinic."""

from piccolo.columns import ForeignKey, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.patient import Patient


class Lead(Table, tablename="lead"):
    clinic = ForeignKey(references=Clinic)
    phone = Varchar(length=20)  # E.164
    name = Varchar(length=200, default="")  # the WhatsApp profile name, if any
    created_at = Timestamptz()
    patient = ForeignKey(references=Patient, null=True, default=None)  # set when turned into a patient
    converted_at = Timestamptz(null=True, default=None)


class ConversationMessage(Table, tablename="conversation_message"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient, null=True, default=None)
    lead = ForeignKey(references=Lead, null=True, default=None)
    channel = Varchar(length=20)  # whatsapp | sms
    direction = Varchar(length=3)  # in | out
    phone = Varchar(length=20)
    body = Text(default="")
    provider_message_id = Varchar(length=200, null=True, default=None)
    outcome = Varchar(length=40, default="")  # confirmed | cancelled | no_appointment | ...
    at = Timestamptz()
