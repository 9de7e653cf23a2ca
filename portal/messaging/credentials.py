"""Providers' credentials per clinic (SMS gateway, WhatsApp, Meta, voice, payments): encrypted at rest with Fernet,
written by the owner, never shown again, and deleted at once when the clinic disconnects.

The key comes from settings (`CREDENTIALS_KEY`, else derived from `SECRET_KEY` by HKDF), so a copy of the database
alone reveals no token. The audit records which fields were saved or forgotten, never their values.

    await credentials.save(owner, "sms", {"account_sid": "AC…", "auth_token": "…", "from": "+3197…"})
    values = await credentials.load(clinic_id, "sms")  # {"account_sid": …} or None
"""

import base64
import json
from datetime import datetime, timezone
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from portal import audit
from portal.db import transaction
from portal.permissions import Actor, Permission, require
from portal.settings import Settings
from portal.tables import ClinicCredential

PROVIDERS = {"sms", "whatsapp", "meta", "voice", "payments", "inbound_mail"}


class CredentialsUnreadable(Exception):
    """Stored credentials that the configured key cannot decrypt (the key changed): save them again."""


@lru_cache(maxsize=4)
def _fernet(credentials_key: str, secret_key: str) -> Fernet:
    if credentials_key:
        return Fernet(credentials_key.encode())
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"chairside clinic credentials").derive(
        secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def fernet(settings: Settings) -> Fernet:
    return _fernet(settings.credentials_key, settings.secret_key)


async def save(actor: Actor, settings: Settings, provider: str, values: dict[str, str]) -> None:
    """Store (or replace) the clinic's credentials for one provider; empty values are not stored."""
    require(actor, Permission.MANAGE_CLINIC)
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}")
    kept = {name: value.strip() for name, value in values.items() if value and value.strip()}
    ciphertext = fernet(settings).encrypt(json.dumps(kept, sort_keys=True).encode()).decode()
    names = ",".join(sorted(kept))
    async with transaction():
        await ClinicCredential.raw(
            "INSERT INTO clinic_credential (clinic, provider, names, ciphertext, saved_at, saved_by) "
            "VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT (clinic, provider) DO UPDATE SET names = EXCLUDED.names, "
            "ciphertext = EXCLUDED.ciphertext, saved_at = EXCLUDED.saved_at, saved_by = EXCLUDED.saved_by",
            actor.clinic_id, provider, names, ciphertext, datetime.now(timezone.utc), actor.id)
        await audit.record(actor, "credentials.saved", object_type="credentials", object_id=provider,
                           detail={"fields": sorted(kept)})


async def load(settings: Settings, clinic_id: int, provider: str) -> dict[str, str] | None:
    """The clinic's credentials for a provider, decrypted, or None when none are saved."""
    row = await ClinicCredential.select(ClinicCredential.ciphertext).where(
        (ClinicCredential.clinic == clinic_id) & (ClinicCredential.provider == provider)).first()
    if row is None:
        return None
    try:
        return json.loads(fernet(settings).decrypt(row["ciphertext"].encode()))
    except InvalidToken as exc:
        raise CredentialsUnreadable(provider) from exc


async def forget(actor: Actor, provider: str) -> bool:
    """Delete the clinic's credentials for a provider at once (a disconnection); True if there were any."""
    require(actor, Permission.MANAGE_CLINIC)
    async with transaction():
        deleted = await ClinicCredential.delete().where(
            (ClinicCredential.clinic == actor.clinic_id) & (ClinicCredential.provider == provider)
        ).returning(ClinicCredential.id)
        await audit.record(actor, "credentials.forgotten", object_type="credentials", object_id=provider,
                           detail={"deleted": bool(deleted)})
    return bool(deleted)


async def overview(actor: Actor) -> dict[str, dict]:
    """What is saved per provider (field names and when), for the settings page: never a value."""
    require(actor, Permission.MANAGE_CLINIC)
    rows = await ClinicCredential.select(ClinicCredential.provider, ClinicCredential.names,
                                         ClinicCredential.saved_at).where(ClinicCredential.clinic == actor.clinic_id)
    return {row["provider"]: {"fields": [n for n in row["names"].split(",") if n], "saved_at": row["saved_at"]}
            for row in rows}
