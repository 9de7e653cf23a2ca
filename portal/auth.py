"""Staff sign-in: argon2id passwords, throttling kept in PostgreSQL, and loading the Actor of a session."""

import math
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from portal import audit, i18n, sessions
from portal.db import transaction
from portal.errors import SignInFailed, Throttled
from portal.permissions import Actor, Role
from portal.settings import Settings
from portal.tables import LoginAttempt, Staff

hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = hasher.hash("chairside-timing-equaliser")

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    return hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def _wait_minutes(email: str, ip: str, settings: Settings) -> int:
    """Minutes until the account or the IP may try again; 0 when not throttled."""
    since = datetime.now(timezone.utc) - timedelta(minutes=settings.login_window_minutes)
    waits = []
    for column, value, limit in ((LoginAttempt.email, email, settings.login_account_limit),
                                 (LoginAttempt.ip, ip, settings.login_ip_limit)):
        failures = await LoginAttempt.select(LoginAttempt.at).where(
            (column == value) & (LoginAttempt.succeeded == False) & (LoginAttempt.at > since)  # noqa: E712
        ).order_by(LoginAttempt.at, ascending=False).limit(limit)
        if len(failures) >= limit:
            free_at = failures[-1]["at"] + timedelta(minutes=settings.login_window_minutes)
            waits.append(math.ceil((free_at - datetime.now(timezone.utc)).total_seconds() / 60))
    return max(waits, default=0)


async def sign_in(email: str, password: str, ip: str, settings: Settings) -> Actor:
    """Check the credentials; raise Throttled or SignInFailed (same answer for every kind of failure)."""
    email = email.strip().lower()[:320]
    async with transaction():
        # Attempts for one account or one address queue up here, so parallel guesses cannot all be checked
        # against the same (too low) failure count.
        await LoginAttempt.raw("SELECT pg_advisory_xact_lock(hashtext({})), pg_advisory_xact_lock(hashtext({}))",
                               "login-email:" + email, "login-ip:" + ip)
        staff = await Staff.objects().where(Staff.email == email).first()
        clinic_id = staff.clinic if staff else None
        wait = await _wait_minutes(email, ip, settings)
        if wait > 0:
            await audit.record(None, "auth.throttled", clinic_id=clinic_id, object_type="staff",
                               object_id=staff.id if staff else None, detail={"ip": ip})
            throttled = max(wait, 1)
        else:
            throttled = 0
            valid = _verify(staff.password_hash if staff else _DUMMY_HASH, password)
            now = datetime.now(timezone.utc)
            if not (staff and valid and staff.active):
                await LoginAttempt.insert(LoginAttempt(email=email, ip=ip, succeeded=False, at=now))
                await audit.record(None, "auth.sign_in_failed", clinic_id=clinic_id, object_type="staff",
                                   object_id=staff.id if staff else None, detail={"ip": ip})
    if throttled:
        raise Throttled(throttled)
    if not (staff and valid and staff.active):
        raise SignInFailed()
    if hasher.check_needs_rehash(staff.password_hash):
        await Staff.update({Staff.password_hash: hash_password(password)}).where(Staff.id == staff.id)
    await LoginAttempt.insert(LoginAttempt(email=email, ip=ip, succeeded=True, at=now))
    await _forget_old_attempts(settings)
    await sessions.purge_expired()
    actor = await load_staff_actor(staff.id)
    await audit.record(actor, "auth.signed_in", object_type="staff", object_id=staff.id, detail={"ip": ip})
    return actor


async def _forget_old_attempts(settings: Settings) -> None:
    """Attempts older than a day decide nothing any more; keeping them would only keep IP addresses."""
    horizon = datetime.now(timezone.utc) - timedelta(minutes=max(settings.login_window_minutes, 24 * 60))
    await LoginAttempt.delete().where(LoginAttempt.at < horizon)


async def load_staff_actor(staff_id: int) -> Actor | None:
    """The Actor for a signed-in staff member, or None when the account is gone or deactivated."""
    row = await Staff.select(
        Staff.id, Staff.name, Staff.role, Staff.active, Staff.clinic.id, Staff.clinic.name,
        Staff.clinic.time_zone, Staff.clinic.country, Staff.language, Staff.clinic.locale,
    ).where(Staff.id == staff_id).first()
    if row is None or not row["active"]:
        return None
    return Actor(kind="staff", id=row["id"], clinic_id=row["clinic.id"], name=row["name"], role=Role(row["role"]),
                 clinic_name=row["clinic.name"], time_zone=row["clinic.time_zone"], country=row["clinic.country"],
                 language=i18n.choose(row["language"], row["clinic.locale"]))


async def sign_out_everywhere(actor: Actor) -> int:
    """End every session of the acting staff member, on every device."""
    ended = await sessions.end_sessions_of_staff(actor.id)
    await audit.record(actor, "auth.signed_out_everywhere", object_type="staff", object_id=actor.id,
                       detail={"sessions": ended})
    return ended

