"""Routed email addresses: the clinic's inbound address and each patient conversation's own reply address.

A reply address names the clinic and the patient and carries an HMAC of both under the app's secret, so nobody can
make up the address of another patient's conversation; only mail we sent carries it (as Reply-To).

    reply-12-3456-9f2c4e1a0b7d6c58@reply.portal.example.nl   -> clinic 12, patient 3456
    clinic-12@reply.portal.example.nl                       -> clinic 12 (unknown senders become leads)
"""

import hashlib
import hmac
import re
from dataclasses import dataclass

from portal.settings import Settings

_REPLY = re.compile(r"^reply-(\d{1,9})-(\d{1,12})-([0-9a-f]{16})$")
_CLINIC = re.compile(r"^clinic-(\d{1,9})$")


@dataclass(frozen=True)
class Route:
    clinic_id: int
    patient_id: int | None  # None: the clinic's own address


def enabled(settings: Settings) -> bool:
    """Routed email is on with a domain and a way in: the provider's signed webhook or our own SMTP listener."""
    return bool(settings.inbound_mail_domain and (settings.mail_webhook_signing_key or settings.inbound_smtp))


def _signature(settings: Settings, clinic_id: int, patient_id: int) -> str:
    message = f"reply:{clinic_id}:{patient_id}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()[:16]


def reply_address(settings: Settings, clinic_id: int, patient_id: int) -> str:
    signature = _signature(settings, clinic_id, patient_id)
    return f"reply-{clinic_id}-{patient_id}-{signature}@{settings.inbound_mail_domain}"


def clinic_address(settings: Settings, clinic_id: int) -> str:
    return f"clinic-{clinic_id}@{settings.inbound_mail_domain}"


def route(settings: Settings, recipient: str) -> Route | None:
    """Where mail to `recipient` belongs, or None for an address we never gave out (or a forged one)."""
    local, _, domain = recipient.strip().lower().rpartition("@")
    if not enabled(settings) or domain != settings.inbound_mail_domain:
        return None
    if found := _REPLY.match(local):
        clinic_id, patient_id = int(found.group(1)), int(found.group(2))
        if hmac.compare_digest(found.group(3), _signature(settings, clinic_id, patient_id)):
            return Route(clinic_id, patient_id)
        return None
    if found := _CLINIC.match(local):
        return Route(int(found.group(1)), None)
    return None
