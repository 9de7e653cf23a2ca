"""The transactional outbox: a change and the mail it causes commit together; delivery happens afterwards.

`enqueue` is called inside the caller's transaction, so a rolled-back change never mails anyone and a
committed one is never forgotten. The idempotency key is unique in PostgreSQL: enqueueing the same message
twice (a retried request, a second worker) stores it once. `deliver_due` claims due rows with
`FOR UPDATE SKIP LOCKED` and a lease, so any number of workers share the queue.
"""

import base64
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib

from portal.settings import Settings
from portal.tables import OutboxMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()


async def enqueue(email: Email, *, key: str, clinic_id: int | None = None, patient_id: int | None = None) -> bool:
    """Store the message for delivery (in the current transaction); False when the key was already used."""
    rows = await OutboxMessage.raw(
        "INSERT INTO outbox_message (clinic_id, patient_id, idempotency_key, recipient, subject, text_body, "
        "html_body, headers, attachments) VALUES ({}, {}, {}, {}, {}, {}, {}, {}::jsonb, {}::jsonb) "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        clinic_id, patient_id, key[:200], email.to, email.subject[:300], email.text, email.html,
        _json(email.headers), _json([_attachment_row(a) for a in email.attachments]))
    return bool(rows)


def _json(value) -> str:
    return json.dumps(value)


def _attachment_row(attachment: Attachment) -> dict:
    return {"filename": attachment.filename, "content_type": attachment.content_type,
            "base64": base64.b64encode(attachment.data).decode()}


def backoff(attempts: int) -> timedelta:
    """1, 4, 16, 64 … minutes between tries: a mail server outage of hours is ridden out."""
    return timedelta(minutes=4 ** max(attempts - 1, 0))


async def claim_due(limit: int) -> list[dict]:
    """Lease up to `limit` due messages to this worker; an expired lease (a crashed worker) is claimed again."""
    rows = await OutboxMessage.raw(
        "UPDATE outbox_message SET status = 'sending', locked_until = now() + {}::interval, "
        "attempts = attempts + 1 WHERE id IN (SELECT id FROM outbox_message WHERE channel = 'email' AND "
        "((status = 'queued' AND next_attempt_at <= now()) OR (status = 'sending' AND locked_until < now())) "
        "ORDER BY next_attempt_at LIMIT {} FOR UPDATE SKIP LOCKED) RETURNING *",
        LEASE, limit)
    for row in rows:  # raw queries return JSONB as text
        row["headers"], row["attachments"] = json.loads(row["headers"]), json.loads(row["attachments"])
    return rows


def to_email_message(row: dict, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row["recipient"]
    message["Subject"] = row["subject"]
    message["Message-ID"] = make_msgid(idstring=str(row["id"]), domain="chairside.localhost")
    message["X-Chairside-Key"] = row["idempotency_key"]
    for name, value in (row["headers"] or {}).items():
        message[name] = value
    message.set_content(row["text_body"])
    if row["html_body"]:
        message.add_alternative(row["html_body"], subtype="html")
    for item in row["attachments"] or []:
        maintype, _, subtype = item["content_type"].partition("/")
        message.add_attachment(base64.b64decode(item["base64"]), maintype=maintype, subtype=subtype,
                               filename=item["filename"])
    return message


def smtp_client(settings: Settings) -> aiosmtplib.SMTP:
    """smtp:// (STARTTLS when offered), smtp+starttls:// (STARTTLS required) or smtps:// (implicit TLS)."""
    url = urlsplit(settings.smtp_url)
    implicit_tls = url.scheme == "smtps"
    return aiosmtplib.SMTP(
        hostname=url.hostname or "127.0.0.1", port=url.port or (465 if implicit_tls else 25),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=implicit_tls, start_tls=True if url.scheme == "smtp+starttls" else (False if implicit_tls else None),
        timeout=30)


async def _mark_sent(row_id: int) -> None:
    await OutboxMessage.raw("UPDATE outbox_message SET status = 'sent', sent_at = now(), locked_until = NULL, "
                            "last_error = '' WHERE id = {}", row_id)


async def _mark_failed(row: dict, error: str) -> None:
    dead = row["attempts"] >= MAX_ATTEMPTS
    await OutboxMessage.raw(
        "UPDATE outbox_message SET status = {}, locked_until = NULL, last_error = {}, next_attempt_at = now() + {} "
        "WHERE id = {}", "dead" if dead else "queued", error[:2000], backoff(row["attempts"]), row["id"])


async def deliver_due(settings: Settings, limit: int = 100) -> int:
    """Send due email over one reused SMTP connection; returns how many were sent."""
    rows = await claim_due(limit)
    if not rows:
        return 0
    sent = 0
    client = smtp_client(settings)
    try:
        await client.connect()
    except (aiosmtplib.SMTPException, OSError) as exc:
        for row in rows:
            await _mark_failed(row, f"connect: {exc}")
        log.warning("outbox: cannot reach %s: %s", urlsplit(settings.smtp_url).hostname, exc)
        return 0
    try:
        for row in rows:
            try:
                await client.send_message(to_email_message(row, settings))
            except (aiosmtplib.SMTPException, OSError) as exc:
                await _mark_failed(row, str(exc))
                log.warning("outbox: message %s failed (attempt %s): %s", row["id"], row["attempts"], exc)
                if not client.is_connected:
                    await client.connect()
                continue
            await _mark_sent(row["id"])
            sent += 1
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()
    return sent


async def resend(message_id: int, clinic_id: int) -> bool:
    """Put a dead letter back in the queue (the owner's resend button)."""
    rows = await OutboxMessage.raw(
        "UPDATE outbox_message SET status = 'queued', attempts = 0, next_attempt_at = now() WHERE id = {} "
        "AND clinic_id = {} AND status = 'dead' RETURNING id", message_id, clinic_id)
    return bool(rows)
