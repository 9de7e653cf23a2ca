"""TOTP for staff: enrol (secret, QR code, first code), check a code or a recovery code once, remember a device.

A code is accepted for the current 30-second step and one either side (clocks drift), and only for a step later
than the last one used, so a code seen over a shoulder cannot be replayed. Recovery codes are random, shown once,
stored as SHA-256 and used once each. A remembered device carries a random token (its hash stored, 30 days).

The secret is stored encrypted with the Fernet key of providers' credentials (`CREDENTIALS_KEY`), so a copy of the
database alone cannot make codes. Secrets written before that are plain base32: they are read as they are, and
sealed at the next write (a code used) or by the hourly housekeeping (`seal_plain_secrets`), whichever comes first.
"""

import hashlib
import hmac
import secrets
import time
from datetime import datetime, timedelta, timezone

import pyotp
import segno

from portal import audit
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.i18n import _
from portal.memberships import clinics
from portal.messaging.credentials import fernet
from portal.permissions import Actor
from portal.settings import Settings
from portal.tables import Staff, StaffRecoveryCode, StaffTotp, StaffTrustedDevice, StaffTwoFactorReset


class EnrolmentRequired(Exception):
    """A role that must use a second factor signed in without one: to the enrolment page first."""


# Routes a session that still has to enrol may reach (everything else sends it to enrol).
ENROL_ROUTES = frozenset({"two_factor.enrol", "two_factor.confirm", "logout"})
ISSUER = "Chairside"
RECOVERY_CODES = 10
DEVICE_COOKIE = "trusted_device"
DEVICE_DAYS = 30
STEP = 30
CODE_TRIES = 5  # wrong codes in one pending sign-in before the password must be given again
PENDING_SECONDS = 600


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def seal(settings: Settings, secret: str) -> str:
    return fernet(settings).encrypt(secret.encode()).decode()


def unseal(settings: Settings, stored: str) -> str:
    """The base32 secret of a stored value: a Fernet token (always starts "gAAAAA"; base32 is upper case) or an
    older plain secret."""
    if stored.startswith("gAAAAA"):
        return fernet(settings).decrypt(stored.encode()).decode()
    return stored


def is_sealed(stored: str) -> bool:
    return stored.startswith("gAAAAA")


async def seal_plain_secrets(settings: Settings) -> int:
    """Encrypt every secret still stored plain (written before encryption at rest); returns how many."""
    rows = await StaffTotp.select(StaffTotp.id, StaffTotp.secret).where(StaffTotp.secret.not_like("gAAAAA%"))
    for row in rows:
        await StaffTotp.update({StaffTotp.secret: seal(settings, row["secret"])}).where(
            (StaffTotp.id == row["id"]) & (StaffTotp.secret == row["secret"]))
    return len(rows)


def required_for(actor: Actor, settings: Settings) -> bool:
    return actor.role is not None and actor.role.value in settings.totp_required_roles


async def enrolled(staff_id: int) -> bool:
    return await StaffTotp.exists().where((StaffTotp.staff == staff_id) & StaffTotp.confirmed_at.is_not_null())


async def must_enrol(actor: Actor, settings: Settings) -> bool:
    """Not enrolled, and either the role (in the active clinic) requires a second factor or an owner reset theirs
    (portal/two_factor/resets.py). The factor is the person's identity's, whichever clinic they act in."""
    identity = await clinics.identity_of(actor.id)
    if await enrolled(identity):
        return False
    return required_for(actor, settings) or await StaffTwoFactorReset.exists().where(
        StaffTwoFactorReset.staff == identity)


def qr_svg(uri: str) -> str:
    """The provisioning URI as an SVG QR code drawn here (no third party sees the secret; no inline style)."""
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", title="QR code")
    label = _("QR code for your authenticator app")
    return svg.replace("<svg ", '<svg role="img" aria-label="' + label + '" ', 1)


async def start_enrolment(actor: Actor, settings: Settings) -> dict:
    """A new secret waiting for its first code (replacing an unconfirmed one); an enrolled secret is kept. It
    belongs to the identity the person signs in with, also while they act in another clinic."""
    owner = await clinics.identity_of(actor.id)
    row = await StaffTotp.select().where(StaffTotp.staff == owner).first()
    if row is None or row["confirmed_at"] is None:
        secret = pyotp.random_base32()
        async with transaction():
            await StaffTotp.delete().where(StaffTotp.staff == owner)
            await StaffTotp.insert(StaffTotp(staff=owner, secret=seal(settings, secret),
                                             created_at=datetime.now(timezone.utc)))
        row = {"secret": secret, "confirmed_at": None}
    else:
        row = {**row, "secret": unseal(settings, row["secret"])}
    email = (await Staff.select(Staff.email).where(Staff.id == owner).first())["email"]
    uri = pyotp.TOTP(row["secret"]).provisioning_uri(name=email, issuer_name=f"{ISSUER} ({actor.clinic_name})")
    return {"secret": row["secret"], "qr": qr_svg(uri), "enrolled": row["confirmed_at"] is not None}


def _matching_counter(secret: str, code: str, last: int, now: float) -> int | None:
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // STEP)
    for counter in (current - 1, current, current + 1):
        if counter > last and hmac.compare_digest(totp.at(counter * STEP), code):
            return counter
    return None


async def confirm_enrolment(actor: Actor, settings: Settings, code: str) -> list[str]:
    """The first code proves the app holds the secret; returns the recovery codes (shown once, stored hashed)."""
    owner = await clinics.identity_of(actor.id)
    row = await StaffTotp.select().where(StaffTotp.staff == owner).first()
    if row is None or row["confirmed_at"] is not None:
        raise ValidationFailed({"code": _("Start again: open this page to get a new QR code.")})
    counter = _matching_counter(unseal(settings, row["secret"]), code, row["last_counter"], time.time())
    if counter is None:
        raise ValidationFailed({"code": _("That code is not right. Enter the 6 digits your app shows now.")})
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
    async with transaction():
        await StaffTotp.update({StaffTotp.confirmed_at: datetime.now(timezone.utc),
                                StaffTotp.last_counter: counter}).where(StaffTotp.staff == owner)
        await StaffRecoveryCode.delete().where(StaffRecoveryCode.staff == owner)
        await StaffRecoveryCode.insert(*[StaffRecoveryCode(staff=owner, code_hash=digest(c)) for c in codes])
        await StaffTwoFactorReset.delete().where(StaffTwoFactorReset.staff == owner)
        await audit.record(actor, "auth.two_factor_enrolled", object_type="staff", object_id=owner)
    return codes


async def check(settings: Settings, staff_id: int, clinic_id: int, code: str) -> bool:
    """A current TOTP code (once) or an unused recovery code (once); every outcome is audited. A secret still
    stored plain is sealed with this write."""
    async with transaction():
        row = await StaffTotp.select().where((StaffTotp.staff == staff_id)
                                            & StaffTotp.confirmed_at.is_not_null()).first()
        if row is None:
            return False
        counter = _matching_counter(unseal(settings, row["secret"]), code, row["last_counter"], time.time())
        how = "totp"
        if counter is not None:
            values = {StaffTotp.last_counter: counter}
            if not is_sealed(row["secret"]):
                values[StaffTotp.secret] = seal(settings, row["secret"])
            await StaffTotp.update(values).where(StaffTotp.staff == staff_id)
        else:
            how = "recovery_code"
            used = await StaffRecoveryCode.raw(
                "UPDATE staff_recovery_code SET used_at = now() WHERE staff = {} AND code_hash = {} "
                "AND used_at IS NULL RETURNING id", staff_id, digest(code.strip().lower()[:40]))
            if not used:
                how = None
        await audit.record(None, "auth.two_factor_passed" if how else "auth.two_factor_failed", clinic_id=clinic_id,
                           object_type="staff", object_id=staff_id, detail={"how": how} if how else {})
    return how is not None


async def remember_device(staff_id: int) -> str:
    token = secrets.token_urlsafe(32)
    now = datetime.now(timezone.utc)
    await StaffTrustedDevice.insert(StaffTrustedDevice(staff=staff_id, token_hash=digest(token), created_at=now,
                                                       expires_at=now + timedelta(days=DEVICE_DAYS)))
    return token


async def device_remembered(staff_id: int, token: str | None) -> bool:
    if not token:
        return False
    return await StaffTrustedDevice.exists().where(
        (StaffTrustedDevice.staff == staff_id) & (StaffTrustedDevice.token_hash == digest(token[:100]))
        & (StaffTrustedDevice.expires_at > datetime.now(timezone.utc)))
