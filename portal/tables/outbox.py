"""Storage of outgoing messages: written in the same transaction as the change that causes them."""

from piccolo.columns import JSONB, BigInt, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class OutboxMessage(Table, tablename="outbox_message"):
    # Plain integers: a dead letter must stay readable after its clinic or patient rows change.
    clinic_id = Integer(null=True, default=None)
    patient_id = Integer(null=True, default=None)
    idempotency_key = Varchar(length=200, unique=True)
    channel = Varchar(length=20, default="email")  # email | sms | whatsapp
    recipient = Varchar(length=320)
    subject = Varchar(length=300, default="")
    text_body = Text(default="")
    html_body = Text(default="")
    headers = JSONB(default={})
    attachments = JSONB(default=[])  # [{"filename", "content_type", "base64"}]
    status = Varchar(length=20, default="queued")  # queued | sending | sent | dead | withdrawn | held
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()
    locked_until = Timestamptz(null=True, default=None)
    last_error = Text(default="")
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)
    # Checked again when the message is claimed: a withdrawn consent or a changed appointment stops it.
    guard_consent = Varchar(length=40, null=True, default=None)
    guard_appointment_id = BigInt(null=True, default=None)
    guard_sequence = Integer(null=True, default=None)
    # Deleted once sent: the confirmation of an erasure must not keep the address it went to.
    forget_after_sending = Boolean(default=False)
