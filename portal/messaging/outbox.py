"""The transactional outbox: a change and the mail it causes commit together; delivery happens afterwards.

`enqueue` is called inside the caller's transaction, so a rolled-back change never mails anyone and a
committed one is never forgotten. The idempotency key is unique in PostgreSQL: enqueueing the same message
twice (a retried request, a second worker) stores it once. `deliver_due` claims due rows with
`FOR UPDATE SKIP LOCKED` and a lease, so any number of workers share the queue.

Delivery guarantee (SMTP has no two-phase commit, so nobody can promise more): every committed message is
sent at least once, and exactly once unless a worker dies in the instant between the server's "250 OK" and
our UPDATE marking the row sent (one statement per message, so at most one message per SMTP connection of
the killed worker; jobs/outbox.py opens three). That message is sent again when its lease expires, with the
same Message-ID and X-Chairside-Key, which mail stores use to fold the copies into one.
tests/test_jobs_crash.py kills real workers mid-batch and counts arrivals by X-Chairside-Key at a real SMTP
server against exactly this promise.

A message may carry guards (a consent kind, an appointment and its sequence number): they are checked in the
statement that claims it, so a consent withdrawn, a patient restricted, or an appointment moved or cancelled
after the reminder was queued withdraws it instead of sending it.
"""

import base64
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

import aiosmtplib

from portal.calendar import statuses
from portal.messaging import reply_addresses
from portal.settings import Settings
from portal.tables import OutboxMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 100  # about a day of tries (1, 2, 5, 10, then every 15 minutes)
LEASE = timedelta(minutes=2)
LEASE_USABLE = 0.7  # the part of a lease a batch may spend sending; the rest goes back to the queue


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


async def enqueue(email: Email, *, key: str, clinic_id: int | None = None, patient_id: int | None = None,
                  guard_consent: str | None = None, guard_appointment: tuple[int, int] | None = None,
                  channel: str = "email", forget_after_sending: bool = False) -> bool:
    """Store the message for delivery (in the current transaction); False when the key was already used.

    `guard_consent` (a ConsentKind value) and `guard_appointment` ((id, sequence)) are re-checked at sending.
    For channel "sms" or "whatsapp", `email.to` is an E.164 number, `email.text` the body, and `email.headers`
    may name a WhatsApp template ("template", "language", "parameters" joined by newlines).
    `forget_after_sending` deletes the row once sent (an erasure's confirmation keeps no address).
    """
    appointment_id, sequence = guard_appointment or (None, None)
    rows = await OutboxMessage.raw(
        "INSERT INTO outbox_message (clinic_id, patient_id, idempotency_key, recipient, subject, text_body, "
        "html_body, headers, attachments, guard_consent, guard_appointment_id, guard_sequence, channel, "
        "forget_after_sending) VALUES ({}, {}, {}, {}, {}, {}, {}, {}::jsonb, {}::jsonb, {}, {}, {}, {}, {}) "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
        clinic_id, patient_id, key[:200], email.to, email.subject[:300], email.text, email.html,
        _json(email.headers), _json([_attachment_row(a) for a in email.attachments]),
        guard_consent, appointment_id, sequence, channel, forget_after_sending)
    return bool(rows)


def _json(value) -> str:
    return json.dumps(value)


def _attachment_row(attachment: Attachment) -> dict:
    return {"filename": attachment.filename, "content_type": attachment.content_type,
            "base64": base64.b64encode(attachment.data).decode()}


RETRY_MINUTES = (1, 2, 5, 10)  # then every EVERY_MINUTES: a reminder must still arrive before its appointment
EVERY_MINUTES = 15


def backoff(attempts: int) -> timedelta:
    """1, 2, 5, 10, then every 15 minutes between tries: an SMTP outage of minutes delays mail by minutes."""
    index = max(attempts, 1) - 1
    return timedelta(minutes=RETRY_MINUTES[index] if index < len(RETRY_MINUTES) else EVERY_MINUTES)


# A guarded message whose consent is gone or whose appointment changed since it was queued.
_STALE = ("(m.guard_consent IS NOT NULL AND NOT chairside_may_contact(m.patient_id, m.guard_consent)) OR "
          "(m.guard_appointment_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM appointment a "
          "WHERE a.id = m.guard_appointment_id AND a.sequence = m.guard_sequence "
          f"AND a.status IN {statuses.sql_list(statuses.OPEN)} AND a.starts_at > now()))")
CHANNELS = ("email", "sms", "whatsapp")


def _due(channel: str) -> str:
    assert channel in CHANNELS
    return (f"m.channel = '{channel}' AND ((m.status = 'queued' AND m.next_attempt_at <= now()) "
            "OR (m.status = 'sending' AND m.locked_until < now()))")


STARTED_REASON = "dropped: the appointment has started"
LATE_REASON = "dropped: the appointment starts before the next try"
# Why a stale message is withdrawn: an appointment that simply began is not a change of plan.
_STALE_REASON = (
    "CASE WHEN m.guard_appointment_id IS NOT NULL AND EXISTS (SELECT 1 FROM appointment a "
    "WHERE a.id = m.guard_appointment_id AND a.sequence = m.guard_sequence "
    f"AND a.status IN {statuses.sql_list(statuses.OPEN)} "
    f"AND a.starts_at <= now()) THEN '{STARTED_REASON}' "
    "ELSE 'withdrawn: consent, restriction or appointment changed' END")


async def withdraw_stale(channel: str = "email") -> int:
    """Stop due guarded messages that must no longer go out; returns how many."""
    # SKIP LOCKED: several delivery loops run this at once and must neither wait for nor deadlock on each other.
    rows = await OutboxMessage.raw(
        f"UPDATE outbox_message m SET status = 'withdrawn', locked_until = NULL, last_error = {_STALE_REASON} "
        "WHERE m.id IN (SELECT m.id FROM outbox_message m "
        f"WHERE {_due(channel)} AND (m.guard_consent IS NOT NULL OR m.guard_appointment_id IS NOT NULL) "
        f"AND ({_STALE}) FOR UPDATE SKIP LOCKED) RETURNING m.id")
    return len(rows)


async def claim_due(limit: int, lease: timedelta = LEASE, channel: str = "email",
                    clinics: list[int] | None = None) -> list[dict]:
    """Lease up to `limit` due messages to this worker; an expired lease (a crashed worker) is claimed again.
    `clinics` limits the claim to those clinics' messages (a text channel on for some clinics only).

    The guards are evaluated in the same statement, so a message withdrawn a moment ago is never claimed.
    """
    await withdraw_stale(channel)
    only = "" if clinics is None else "AND m.clinic_id = ANY({}::bigint[]) "
    rows = await OutboxMessage.raw(
        "UPDATE outbox_message SET status = 'sending', locked_until = now() + {}::interval, "
        f"attempts = attempts + 1 WHERE id IN (SELECT m.id FROM outbox_message m WHERE {_due(channel)} {only}"
        f"AND NOT ({_STALE}) ORDER BY m.next_attempt_at LIMIT {{}} FOR UPDATE SKIP LOCKED) RETURNING *",
        lease, *([] if clinics is None else [list(clinics)]), limit)
    for row in rows:  # raw queries return JSONB as text
        row["headers"], row["attachments"] = json.loads(row["headers"]), json.loads(row["attachments"])
    return rows


def message_id(key: str) -> str:
    """The same Message-ID for every attempt at one message, so a re-send after a crash folds into one."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@chairside.localhost>"


_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


def _text_part(body: str, subtype: str) -> MIMEText:
    return MIMEText(body, subtype, _UTF8_QP)


def to_email_message(row: dict, settings: Settings) -> Message:
    """The MIME message (compat32 classes: a third of the CPU of EmailMessage, which `make bench` noticed)."""
    body: Message = _text_part(row["text_body"], "plain")
    if row["html_body"]:
        body = MIMEMultipart("alternative", _subparts=[body, _text_part(row["html_body"], "html")])
    if row["attachments"]:
        parts = [body]
        for item in row["attachments"]:
            maintype, _, subtype = item["content_type"].partition("/")
            part = MIMEBase(maintype, subtype)
            # Stored as one base64 line; SMTP wants lines under 1,000 characters, MIME under 77.
            part.set_payload(base64.encodebytes(base64.b64decode(item["base64"])).decode("ascii"))
            part["Content-Transfer-Encoding"] = "base64"
            part.add_header("Content-Disposition", "attachment", filename=item["filename"])
            parts.append(part)
        body = MIMEMultipart("mixed", _subparts=parts)
    body["From"] = settings.mail_from
    body["To"] = row["recipient"]
    body["Subject"] = Header(row["subject"], "utf-8") if not row["subject"].isascii() else row["subject"]
    body["Date"] = formatdate(localtime=False)
    body["Message-ID"] = message_id(row["idempotency_key"])
    body["X-Chairside-Key"] = row["idempotency_key"]
    if row.get("clinic_id") is not None:
        body["X-Chairside-Clinic"] = str(row["clinic_id"])
        if row.get("patient_id") is not None and reply_addresses.enabled(settings):
            # The patient's answer threads into their conversation (portal/messaging/mail_routing.py).
            body["Reply-To"] = reply_addresses.reply_address(settings, row["clinic_id"], row["patient_id"])
    for name, value in (row["headers"] or {}).items():
        body[name] = value
    return body


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


async def mark_sent(row_id: int) -> None:
    await OutboxMessage.raw("WITH gone AS (DELETE FROM outbox_message WHERE id = {} AND forget_after_sending) "
                            "UPDATE outbox_message SET status = 'sent', sent_at = now(), locked_until = NULL, "
                            "last_error = '' WHERE id = {} AND NOT forget_after_sending", row_id, row_id)


CONNECTION_ERROR = "connection: "  # last_error prefix of a failure of the server, not of the message


async def mark_failed(row: dict, error: str) -> None:
    """Try again after the backoff; dead after MAX_ATTEMPTS; a reminder whose appointment would start before
    the next try is dropped instead (it could only arrive late)."""
    wait = backoff(row["attempts"])
    await OutboxMessage.raw(
        "UPDATE outbox_message m SET locked_until = NULL, next_attempt_at = now() + {}, status = CASE "
        "WHEN m.guard_appointment_id IS NOT NULL AND EXISTS (SELECT 1 FROM appointment a "
        "WHERE a.id = m.guard_appointment_id AND a.starts_at <= now() + {}) THEN 'withdrawn' "
        "WHEN m.attempts >= {} THEN 'dead' ELSE 'queued' END, last_error = CASE "
        "WHEN m.guard_appointment_id IS NOT NULL AND EXISTS (SELECT 1 FROM appointment a "
        "WHERE a.id = m.guard_appointment_id AND a.starts_at <= now() + {}) THEN {} ELSE {} END WHERE m.id = {}",
        wait, wait, MAX_ATTEMPTS, wait, f"{LATE_REASON} ({error[:1900]})", error[:2000], row["id"])


async def release(rows: list[dict]) -> None:
    """Give back claimed messages not yet tried (their lease is running out), unless another worker has them."""
    await OutboxMessage.raw(
        "UPDATE outbox_message SET status = 'queued', locked_until = NULL, attempts = attempts - 1 "
        "WHERE id = ANY({}) AND status = 'sending' AND locked_until = {}",
        [row["id"] for row in rows], rows[0]["locked_until"])


def _is_connection_failure(client: aiosmtplib.SMTP, exc: Exception) -> bool:
    return isinstance(exc, (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, OSError)) or (
        not client.is_connected)


async def deliver_due(settings: Settings, limit: int = 100) -> int:
    """Send due email over one reused SMTP connection; returns how many were sent.

    Never raises for SMTP trouble: when the server cannot be reached or drops the connection mid-batch, every
    message of the batch not yet sent is released at once with its backoff (none waits for its lease), and
    `resume_after_outage` brings them forward as soon as the server answers again.
    """
    lease = timedelta(seconds=settings.outbox_lease_seconds)
    rows = await claim_due(limit, lease)
    if not rows:
        return 0
    # Never send on an expired lease: another worker may have claimed the row again and be sending it too.
    deadline = time.monotonic() + lease.total_seconds() * LEASE_USABLE
    sent = 0
    client = smtp_client(settings)
    try:
        await client.connect()
    except (aiosmtplib.SMTPException, OSError) as exc:
        for row in rows:
            await mark_failed(row, f"{CONNECTION_ERROR}{exc}")
        log.warning("outbox: cannot reach %s: %s", urlsplit(settings.smtp_url).hostname, exc)
        return 0
    try:
        for index, row in enumerate(rows):
            if time.monotonic() > deadline:
                await release(rows[index:])
                break
            try:
                await client.send_message(to_email_message(row, settings))
            except (aiosmtplib.SMTPException, OSError) as exc:
                if _is_connection_failure(client, exc):
                    log.warning("outbox: the mail server dropped the connection: %s", exc)
                    for unsent in rows[index:]:
                        await mark_failed(unsent, f"{CONNECTION_ERROR}{exc}")
                    break
                await mark_failed(row, str(exc))
                log.warning("outbox: message %s failed (attempt %s): %s", row["id"], row["attempts"], exc)
                continue
            await mark_sent(row["id"])
            sent += 1
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()
    return sent


async def waiting_for_server() -> bool:
    """Whether email waits for a mail server that was unreachable at its last try."""
    rows = await OutboxMessage.raw(
        "SELECT 1 FROM outbox_message WHERE channel = 'email' AND status = 'queued' AND next_attempt_at > now() "
        "AND last_error LIKE {} LIMIT 1", CONNECTION_ERROR + "%")
    return bool(rows)


async def resume_after_outage(settings: Settings) -> int:
    """When the mail server answers again, make every message that waited for it due now; returns how many
    (0 while the server is still away). Backoff protects a server that refuses a message, not one that was
    down: mail resumes within one probe of its return, not after the longest backoff."""
    client = smtp_client(settings)
    try:
        await client.connect()
        await client.noop()
    except (aiosmtplib.SMTPException, OSError):
        return 0
    finally:
        if client.is_connected:
            client.close()
    rows = await OutboxMessage.raw(
        "UPDATE outbox_message SET next_attempt_at = now() WHERE channel = 'email' AND status = 'queued' "
        "AND next_attempt_at > now() AND last_error LIKE {} RETURNING id", CONNECTION_ERROR + "%")
    return len(rows)


async def next_lease_expiry():
    """When the earliest lease held by some worker runs out (None when none is held): a worker that died
    mid-batch leaves its claimed messages leased until then."""
    rows = await OutboxMessage.raw("SELECT min(locked_until) AS at FROM outbox_message WHERE status = 'sending'")
    return rows[0]["at"]


async def resend(message_id: int, clinic_id: int) -> bool:
    """Put a dead letter back in the queue (the owner's resend button)."""
    rows = await OutboxMessage.raw(
        "UPDATE outbox_message SET status = 'queued', attempts = 0, next_attempt_at = now() WHERE id = {} "
        "AND clinic_id = {} AND status = 'dead' RETURNING id", message_id, clinic_id)
    if rows:  # wake a worker now rather than at the next minute
        await OutboxMessage.raw("SELECT chairside_queue_delivery()")
    return bool(rows)
