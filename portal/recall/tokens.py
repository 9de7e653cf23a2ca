"""Signed links for patients: a recall link to book, an appointment link to cancel or move (HMAC, with expiry)."""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone

from portal.errors import NotFound

PURPOSE = b"chairside-booking-link:"
KINDS = ("recall", "appointment", "offer")


@dataclass(frozen=True)
class Link:
    kind: str
    clinic_id: int
    subject_id: int  # the patient (recall) or the appointment
    expires: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _sign(secret: str, payload: bytes) -> str:
    return _b64(hmac.new(secret.encode(), PURPOSE + payload, hashlib.sha256).digest()[:24])


def make(secret: str, kind: str, clinic_id: int, subject_id: int, expires: datetime) -> str:
    assert kind in KINDS
    payload = f"{kind}:{clinic_id}:{subject_id}:{int(expires.timestamp())}".encode()
    return f"{_b64(payload)}.{_sign(secret, payload)}"


def read(secret: str, token: str, kind: str, now: datetime | None = None) -> Link:
    """The link's content; NotFound for anything forged, altered, expired or of another kind (one answer for all)."""
    try:
        encoded, signature = token.split(".", 1)
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        if not hmac.compare_digest(signature, _sign(secret, payload)):
            raise ValueError("signature")
        found, clinic, subject, expires = payload.decode().split(":")
        link = Link(found, int(clinic), int(subject), datetime.fromtimestamp(int(expires), timezone.utc))
    except (ValueError, UnicodeDecodeError):
        raise NotFound() from None
    if link.kind != kind or link.expires <= (now or datetime.now(timezone.utc)):
        raise NotFound()
    return link
