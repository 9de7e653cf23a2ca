"""Routed email: a patient's reply threads into their conversation (beside WhatsApp and SMS), mail from unknown
senders becomes a lead, attachments are kept only when their content is a PDF or an image, and staff answer by
email from the patient's messages page through the outbox.

Inbound mail arrives through the provider's webhook, shaped on Mailgun's routes: a form POST with `recipient`,
`sender`, `from`, `subject`, `body-plain`, `stripped-text`, `Message-Id`, `attachment-N` files, and `timestamp`,
`token`, `signature` = hex HMAC-SHA256 of timestamp + token under the webhook signing key. A request older than
MAX_AGE is refused (a captured request cannot be replayed later), and a Message-Id is stored once (retries fold).
For self-hosting, the worker's SMTP listener (mail_listener.py) reads each mail into the same fields (read_message)
and hands it to the same `receive`.
"""

import email
import email.policy
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parseaddr

from portal import audit, display
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.i18n import _, lazy_gettext
from portal.messaging import outbox, reply_addresses
from portal.permissions import Actor, Permission, require
from portal.settings import Settings
from portal.tables import Clinic, ConversationAttachment, ConversationMessage, Lead, Patient

MAX_AGE_SECONDS = 15 * 60
MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_REPLY_CHARS = 5000
# What a patient may send us, told by the bytes themselves (never by the file name or the declared type).
SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
display.register_labels("attachment_refusal", {"type": lazy_gettext("not a PDF, JPEG or PNG by its content"),
                                               "size": lazy_gettext("larger than 10 MB")})


class MalformedMail(ValueError):
    """A signed request that is not an inbound mail of the shape the provider sends."""


@dataclass(frozen=True)
class InboundMail:
    recipient: str
    sender: str  # the address, lower case
    name: str  # the display name from From, if any
    subject: str
    text: str
    message_id: str
    attachments: list[tuple[str, bytes]] = field(default_factory=list)


def signature_valid(settings: Settings, timestamp: str, token: str, signature: str, now: float | None = None) -> bool:
    key = settings.mail_webhook_signing_key
    if not key or not timestamp.isdigit() or not token or not signature:
        return False
    if abs((now or time.time()) - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def read_form(values: dict[str, str], files: list[tuple[str, bytes]]) -> InboundMail:
    recipient = values.get("recipient", "").strip()
    name, sender = parseaddr(values.get("from", "") or values.get("sender", ""))
    sender = (sender or values.get("sender", "")).strip().lower()
    if "@" not in recipient or "@" not in sender or len(sender) > 254 or len(recipient) > 254:
        raise MalformedMail("recipient and sender must be addresses")
    message_id = values.get("Message-Id", "").strip()
    if not message_id or len(message_id) > 200:
        raise MalformedMail("Message-Id is missing or too long")
    if len(files) > MAX_ATTACHMENTS:
        raise MalformedMail(f"more than {MAX_ATTACHMENTS} attachments")
    text = values.get("stripped-text") or values.get("body-plain") or ""
    subject = values.get("subject", "")
    if len(subject) > 300:
        raise MalformedMail("subject longer than 300 characters")
    return InboundMail(recipient=recipient, sender=sender, name=name[:200], subject=subject, text=text,
                       message_id=message_id, attachments=files)


def read_message(recipient: str, envelope_sender: str, raw: bytes) -> InboundMail:
    """A raw RFC 5322 message received over SMTP (portal/messaging/mail_listener.py), read into the same fields the
    provider's route posts, then checked by read_form: one inbound path for both."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    try:
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        files = [(part.get_filename() or "attachment", part.get_payload(decode=True) or b"")
                 for part in message.iter_attachments()]
        values = {"recipient": recipient, "sender": envelope_sender, "from": str(message.get("From", "")),
                  "subject": str(message.get("Subject", "")), "body-plain": text,
                  "Message-Id": str(message.get("Message-ID", ""))}
    except (LookupError, ValueError, TypeError, AttributeError) as exc:  # a broken charset or MIME structure
        raise MalformedMail(f"unreadable message: {type(exc).__name__}") from exc
    return read_form(values, files)


def sniff(data: bytes) -> str | None:
    """The content type the bytes prove, among those we accept; None for anything else."""
    return next((kind for magic, kind in SIGNATURES if data.startswith(magic)), None)


async def _patient_for(route: reply_addresses.Route, sender: str) -> tuple[dict | None, bool]:
    """The conversation's patient and whether the sender is one of the record's addresses (patient or guardian).
    Mail to the clinic's own address names a patient only when exactly one record holds the sender's address."""
    if route.patient_id is not None:
        rows = await Patient.raw(
            "SELECT p.id, (lower(p.email) = {} OR EXISTS (SELECT 1 FROM guardian g WHERE g.patient = p.id "
            "AND lower(g.email) = {})) AS known FROM patient p WHERE p.id = {} AND p.clinic = {} "
            "AND p.isolated_at IS NULL", sender, sender, route.patient_id, route.clinic_id)
        return (rows[0], bool(rows[0]["known"])) if rows else (None, False)
    rows = await Patient.raw("SELECT id FROM patient WHERE clinic = {} AND lower(email) = {} AND isolated_at IS NULL "
                             "LIMIT 2", route.clinic_id, sender)
    return (rows[0], True) if len(rows) == 1 else (None, False)


async def receive(settings: Settings, mail: InboundMail) -> bool:
    """Thread one verified inbound mail; False for a retry or an address we never gave out."""
    route = reply_addresses.route(settings, mail.recipient)
    if route is None or not await Clinic.exists().where(Clinic.id == route.clinic_id):
        return False
    async with transaction():
        patient, known = await _patient_for(route, mail.sender)
        lead_id = None
        if patient is None:
            rows = await Lead.raw(
                "INSERT INTO lead (clinic, email, name) VALUES ({}, {}, {}) ON CONFLICT (clinic, lower(email)) "
                "WHERE email <> '' DO UPDATE SET name = CASE WHEN lead.name = '' THEN EXCLUDED.name "
                "ELSE lead.name END RETURNING id", route.clinic_id, mail.sender, mail.name)
            lead_id = rows[0]["id"]
        stored = await ConversationMessage.raw(
            "INSERT INTO conversation_message (clinic, patient, lead, channel, direction, email, subject, body, "
            "provider_message_id, outcome) VALUES ({}, {}, {}, 'email', 'in', {}, {}, {}, {}, {}) "
            "ON CONFLICT (channel, provider_message_id) WHERE provider_message_id IS NOT NULL DO NOTHING "
            "RETURNING id", route.clinic_id, patient["id"] if patient else None, lead_id, mail.sender,
            mail.subject, mail.text, mail.message_id, "" if known or patient is None else "other_sender")
        if not stored:
            return False
        message_id = stored[0]["id"]
        for filename, data in mail.attachments:
            kind = sniff(data)
            refused = "" if kind and len(data) <= MAX_ATTACHMENT_BYTES else "size" if kind else "type"
            await ConversationAttachment.insert(ConversationAttachment(
                message=message_id, filename=filename[:200] or "attachment", content_type=kind or "",
                size=len(data), data=None if refused else data, refused_reason=refused))
        if patient is None:
            await audit.record(None, "email.lead_message", object_type="lead", object_id=lead_id,
                               clinic_id=route.clinic_id)
        else:
            await audit.record(None, "email.received", patient_id=patient["id"], object_type="conversation_message",
                               object_id=message_id, clinic_id=route.clinic_id,
                               detail={"attachments": len(mail.attachments), "known_sender": known})
    return True


async def reply(actor: Actor, patient_id: int, body: str) -> None:
    """Staff answer by email; the patient's reply comes back into the same conversation (Reply-To, see outbox)."""
    require(actor, Permission.MANAGE_CALENDAR)
    patient = await Patient.select(Patient.id, Patient.email, Patient.restricted_at).where(
        (Patient.id == patient_id) & (Patient.clinic == actor.clinic_id)).first()
    if patient is None:
        raise NotFound()
    body = body.strip()
    errors = {}
    if not body:
        errors["email_body"] = _("Write the message.")
    elif len(body) > MAX_REPLY_CHARS:
        errors["email_body"] = _("Write at most %(count)s characters (this one has %(length)s).",
                                 count=MAX_REPLY_CHARS, length=len(body))
    if not patient["email"]:
        errors["email_body"] = _("This patient has no confirmed email address.")
    if patient["restricted_at"] is not None:
        errors["email_body"] = _("Processing of this patient's data is restricted.")
    if errors:
        raise ValidationFailed(errors)
    last = await ConversationMessage.select(ConversationMessage.subject).where(
        (ConversationMessage.patient == patient_id) & (ConversationMessage.channel == "email")
        & (ConversationMessage.subject != "")).order_by(ConversationMessage.id, ascending=False).first()
    subject = last["subject"] if last else _("A message from %(clinic)s", clinic=actor.clinic_name)
    if last and not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    now = datetime.now(timezone.utc)
    async with transaction():
        await outbox.enqueue(outbox.Email(to=patient["email"], subject=subject, text=body),
                             key=f"email-staff:{patient_id}:{now.timestamp()}", clinic_id=actor.clinic_id,
                             patient_id=patient_id)
        await ConversationMessage.insert(ConversationMessage(
            clinic=actor.clinic_id, patient=patient_id, channel="email", direction="out", email=patient["email"],
            subject=subject, body=body, at=now))
        await audit.record(actor, "email.replied", patient_id=patient_id, object_type="patient", object_id=patient_id)


async def attachment(actor: Actor, patient_id: int, attachment_id: int) -> dict:
    """A kept attachment of the patient's conversation, to download (audited)."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    rows = await ConversationAttachment.raw(
        "SELECT a.id, a.filename, a.content_type, a.data FROM conversation_attachment a "
        "JOIN conversation_message m ON m.id = a.message WHERE a.id = {} AND m.patient = {} AND m.clinic = {} "
        "AND a.data IS NOT NULL", attachment_id, patient_id, actor.clinic_id)
    if not rows:
        raise NotFound()
    await audit.record(actor, "email.attachment_opened", patient_id=patient_id, object_type="conversation_attachment",
                       object_id=attachment_id)
    return rows[0]


async def attachments_of(actor: Actor, patient_id: int) -> dict[int, list[dict]]:
    """The attachments of the patient's conversation by message (names and reasons; no bytes)."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    rows = await ConversationAttachment.raw(
        "SELECT a.id, a.message, a.filename, a.content_type, a.size, a.refused_reason FROM conversation_attachment a "
        "JOIN conversation_message m ON m.id = a.message WHERE m.patient = {} AND m.clinic = {} ORDER BY a.id",
        patient_id, actor.clinic_id)
    found: dict[int, list[dict]] = {}
    for row in rows:
        found.setdefault(row["message"], []).append(row)
    return found
