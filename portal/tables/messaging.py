"""Storage of conversations (WhatsApp, SMS, email) and of leads: unknown numbers or addresses that wrote to a clinic."""

from piccolo.columns import JSONB, Bytea, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.clinic import Clinic
from portal.tables.patient import Patient


class Lead(Table, tablename="lead"):
    clinic = ForeignKey(references=Clinic)
    phone = Varchar(length=20, null=True, default=None)  # E.164; None for a lead that wrote by email
    email = Varchar(length=254, default="")
    name = Varchar(length=200, default="")  # the WhatsApp profile name or the mail's display name, if any
    created_at = Timestamptz()
    patient = ForeignKey(references=Patient, null=True, default=None)  # set when turned into a patient
    converted_at = Timestamptz(null=True, default=None)
    source = Varchar(length=20, default="")  # facebook | instagram (lead ads) | "" (wrote to the clinic)
    answers = JSONB(default={})  # the lead form's answers, {question: answer}
    leadgen_id = Varchar(length=64, null=True, default=None)
    page_id = Varchar(length=64, null=True, default=None)


class MetaPage(Table, tablename="meta_page"):
    clinic = ForeignKey(references=Clinic)
    page_id = Varchar(length=64)
    name = Varchar(length=200, default="")
    meta_user_id = Varchar(length=64, default="")
    connected_at = Timestamptz()


class MetaPageInsight(Table, tablename="meta_page_insight"):
    """A Page's followers and reach for one week (Meta's aggregates): Page data, deleted on disconnection."""

    clinic = ForeignKey(references=Clinic)
    page_id = Varchar(length=64)
    week_ending = Date()
    followers = Integer(null=True, default=None)
    reach = Integer(null=True, default=None)
    fetched_at = Timestamptz()


class MetaDisconnection(Table, tablename="meta_disconnection"):
    clinic = ForeignKey(references=Clinic, null=True, default=None)
    page_id = Varchar(length=64, default="")
    meta_user_id = Varchar(length=64, default="")
    origin = Varchar(length=20)
    confirmation_code = Varchar(length=40)
    requested_at = Timestamptz()
    deleted = JSONB(default={})
    verified_at = Timestamptz(null=True, default=None)
    verified = JSONB(default={})


class ConversationMessage(Table, tablename="conversation_message"):
    clinic = ForeignKey(references=Clinic)
    patient = ForeignKey(references=Patient, null=True, default=None)
    lead = ForeignKey(references=Lead, null=True, default=None)
    channel = Varchar(length=20)  # whatsapp | sms | email
    direction = Varchar(length=3)  # in | out
    phone = Varchar(length=20, default="")
    email = Varchar(length=254, default="")  # the other side's address, for email
    subject = Varchar(length=300, default="")
    body = Text(default="")
    provider_message_id = Varchar(length=200, null=True, default=None)
    outcome = Varchar(length=40, default="")  # confirmed | cancelled | no_appointment | ...
    at = Timestamptz()


class ConversationAttachment(Table, tablename="conversation_attachment"):
    message = ForeignKey(references=ConversationMessage)
    filename = Varchar(length=200)
    content_type = Varchar(length=100, default="")
    size = Integer()
    data = Bytea(null=True, default=None)  # None when refused (see refused_reason)
    refused_reason = Varchar(length=200, default="")
