"""Who made an export: each clinic signs its patients' exports with its own Ed25519 key, and an importer checks it.

The key pair is made on the clinic's first export; the private half is stored sealed with the credentials key
(`CREDENTIALS_KEY`, portal/messaging/credentials.py), so a copy of the database alone cannot sign. The signature
covers the RFC 8785 canonical JSON of `export.json` without its `signature` member; as `files` lists the SHA-256 of
every other file of the ZIP, it covers the whole archive. A clinic publishes its keys (signed-out page and JSON at
`/export-keys/<clinic>`), so a receiving clinic on another installation compares the fingerprint it is shown.
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from portal import links
from portal.errors import NotFound
from portal.messaging.credentials import fernet
from portal.settings import Settings
from portal.tables import Clinic, ExportSigningKey

ALGORITHM = "Ed25519"
KEYS_PATH = "/export-keys/{clinic_id}"  # the clinic's published keys (portal/views/export_keys.py)


@dataclass(frozen=True)
class Verdict:
    """A signature that holds: by a key of a clinic on this installation (`clinic` named) or by an unknown key."""

    fingerprint: str
    key_id: str
    clinic: str | None  # the clinic on this installation whose key it is, from our own records


def fingerprint(public_key: bytes) -> str:
    """SHA-256 of the raw 32-byte public key, in groups of four hex digits (read aloud over the phone)."""
    digest = hashlib.sha256(public_key).hexdigest()
    return " ".join(digest[i:i + 4] for i in range(0, 64, 4))


def canonical(document: dict) -> bytes:
    """What is signed: the document without `signature`, as RFC 8785 JSON (sorted keys, no spaces, UTF-8)."""
    unsigned = {key: value for key, value in document.items() if key != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


def keys_url(settings: Settings, clinic_id: int) -> str:
    return links.absolute_url(settings, KEYS_PATH.format(clinic_id=clinic_id))


async def _current_key(settings: Settings, clinic_id: int) -> tuple[str, Ed25519PrivateKey]:
    """The clinic's signing key, made on first use (two exports at once agree on one key: the unique index)."""
    for _attempt in range(2):
        row = await ExportSigningKey.select(ExportSigningKey.key_id, ExportSigningKey.private_key_sealed).where(
            (ExportSigningKey.clinic == clinic_id) & ExportSigningKey.retired_at.is_null()).first()
        if row is not None:
            raw = fernet(settings).decrypt(row["private_key_sealed"].encode())
            return row["key_id"], Ed25519PrivateKey.from_private_bytes(raw)
        private = Ed25519PrivateKey.generate()
        public = private.public_key().public_bytes_raw()
        await ExportSigningKey.raw(
            "INSERT INTO export_signing_key (clinic, key_id, public_key, private_key_sealed, created_at) "
            "VALUES ({}, {}, {}, {}, {}) ON CONFLICT DO NOTHING", clinic_id,
            hashlib.sha256(public).hexdigest()[:16], public,
            fernet(settings).encrypt(private.private_bytes_raw()).decode(), datetime.now(timezone.utc))
    raise RuntimeError("no export signing key could be made")


async def sign(settings: Settings, clinic_id: int, document: dict) -> dict:
    """The document's `signature` member, made with the clinic's key."""
    key_id, private = await _current_key(settings, clinic_id)
    return {"algorithm": ALGORITHM, "key_id": key_id,
            "public_key": base64.b64encode(private.public_key().public_bytes_raw()).decode(),
            "value": base64.b64encode(private.sign(canonical(document))).decode()}


class SignatureRefused(Exception):
    """Missing, malformed or not matching the document: the export cannot be imported."""

    def __init__(self, missing: bool):
        super().__init__("missing" if missing else "invalid")
        self.missing = missing


async def verify(document: dict) -> Verdict:
    """Check the signature against the document; name the clinic when the key is one of this installation's."""
    block = document.get("signature")
    if not isinstance(block, dict):
        raise SignatureRefused(missing=True)
    try:
        if block.get("algorithm") != ALGORITHM:
            raise ValueError(block.get("algorithm"))
        public = base64.b64decode(block["public_key"], validate=True)
        Ed25519PublicKey.from_public_bytes(public).verify(base64.b64decode(block["value"], validate=True),
                                                          canonical(document))
    except (InvalidSignature, KeyError, TypeError, ValueError):
        raise SignatureRefused(missing=False) from None
    # The key decides who made it, not the document's own words (its `controller` or `key_id`).
    row = await ExportSigningKey.select(ExportSigningKey.key_id, ExportSigningKey.clinic.name).where(
        ExportSigningKey.public_key == public).first()
    if row is None:
        return Verdict(fingerprint(public), str(block.get("key_id", ""))[:40], None)
    return Verdict(fingerprint(public), row["key_id"], row["clinic.name"])


async def published_keys(settings: Settings, clinic_id: int) -> dict:
    """The clinic's export keys for anyone: name, each key's id, public key, fingerprint and dates."""
    clinic = await Clinic.select(Clinic.id, Clinic.name, Clinic.time_zone).where(Clinic.id == clinic_id).first()
    if clinic is None:
        raise NotFound()
    rows = await ExportSigningKey.select(ExportSigningKey.key_id, ExportSigningKey.public_key,
                                         ExportSigningKey.created_at, ExportSigningKey.retired_at).where(
        ExportSigningKey.clinic == clinic_id).order_by(ExportSigningKey.id)
    return {"clinic": clinic["name"], "time_zone": clinic["time_zone"], "url": keys_url(settings, clinic_id),
            "keys": [{"key_id": r["key_id"], "algorithm": ALGORITHM,
                      "public_key": base64.b64encode(bytes(r["public_key"])).decode(),
                      "fingerprint": fingerprint(bytes(r["public_key"])),
                      "created_at": r["created_at"], "retired_at": r["retired_at"]} for r in rows]}
