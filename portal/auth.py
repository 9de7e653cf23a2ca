"""Staff sign-in: argon2id passwords, throttling kept in PostgreSQL, and loading the Actor of a session.

Throttling locks out attackers, not staff: failures count per (account, client address) pair with growing
delays (1, 2, 4, 8 ... minutes, capped at the window), per client address, and account-wide only at ten times
the pair limit and only for unknown devices. A browser that once signed in to an account carries a signed
known-device cookie for it: the right password from there is never refused, whatever others tried.
"""

import hashlib
import hmac
import math
import secrets
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


DEVICE_COOKIE = "known_device"
DEVICE_DAYS = 180
DEVICES_PER_BROWSER = 8  # a shared front-desk computer remembers several accounts
ACCOUNT_WIDE_FACTOR = 10  # failures from anywhere before unknown devices must wait


def _device_signature(secret: str, staff_id: int, nonce: str) -> str:
    return hmac.new(secret.encode(), f"known-device:{staff_id}:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def known_staff_ids(secret: str, cookie: str | None) -> frozenset[int]:
    """The accounts this browser signed in to before (signatures checked; anything else is ignored)."""
    known = set()
    for entry in (cookie or "").split("~")[:DEVICES_PER_BROWSER]:
        staff_id, _, rest = entry.partition(".")
        nonce, _, signature = rest.partition(".")
        if staff_id.isascii() and staff_id.isdigit() and len(staff_id) < 12 and nonce and hmac.compare_digest(
                signature.encode(), _device_signature(secret, int(staff_id), nonce).encode()):
            known.add(int(staff_id))
    return frozenset(known)


def remember_device(secret: str, cookie: str | None, staff_id: int) -> str:
    """The cookie value after a successful sign-in: this account first, then the others it already held."""
    kept = [e for e in (cookie or "").split("~")[:DEVICES_PER_BROWSER]
            if (ids := known_staff_ids(secret, e)) and staff_id not in ids]
    nonce = secrets.token_urlsafe(9)
    return "~".join([f"{staff_id}.{nonce}.{_device_signature(secret, staff_id, nonce)}", *kept][:DEVICES_PER_BROWSER])


def _minutes_until(moment: datetime) -> int:
    return max(math.ceil((moment - datetime.now(timezone.utc)).total_seconds() / 60), 0)


async def _failures(where, since: datetime, limit: int) -> list[datetime]:
    rows = await LoginAttempt.select(LoginAttempt.at).where(
        where & (LoginAttempt.succeeded == False) & (LoginAttempt.at > since)  # noqa: E712
    ).order_by(LoginAttempt.at, ascending=False).limit(limit)
    return [row["at"] for row in rows]


async def _wait_minutes(email: str, ip: str, settings: Settings) -> int:
    """Minutes until this client may try this account again; 0 when not throttled."""
    window = timedelta(minutes=settings.login_window_minutes)
    since = datetime.now(timezone.utc) - window
    waits = []
    # The pair: growing delays once the limit is reached (1, 2, 4 ... minutes after the last failure).
    pair = await _failures((LoginAttempt.email == email) & (LoginAttempt.ip == ip), since, 64)
    if len(pair) >= settings.login_account_limit:
        delay = timedelta(minutes=2 ** min(len(pair) - settings.login_account_limit, 16))
        waits.append(_minutes_until(pair[0] + min(delay, window)))
    # The client address, whatever account it tries; and the account from everywhere, at a much higher count.
    for where, limit in (((LoginAttempt.ip == ip), settings.login_ip_limit),
                         ((LoginAttempt.email == email), settings.login_account_limit * ACCOUNT_WIDE_FACTOR)):
        failures = await _failures(where, since, limit)
        if len(failures) >= limit:
            waits.append(_minutes_until(failures[-1] + window))
    return max(waits, default=0)


async def sign_in(email: str, password: str, ip: str, settings: Settings,
                  known_devices: frozenset[int] = frozenset()) -> Actor:
    """Check the credentials; raise Throttled or SignInFailed (same answer for every kind of failure).

    `known_devices` are the accounts this browser proved it signed in to before: for those the password is
    checked even while others' failures throttle the account, so the right one always gets in.
    """
    email = email.strip().lower()[:320]
    async with transaction():
        # Attempts for one account or one address queue up here, so parallel guesses cannot all be checked
        # against the same (too low) failure count.
        await LoginAttempt.raw("SELECT pg_advisory_xact_lock(hashtext({})), pg_advisory_xact_lock(hashtext({}))",
                               "login-email:" + email, "login-ip:" + ip)
        staff = await Staff.objects().where((Staff.email == email) & Staff.person.is_null()).first()  # the identity
        clinic_id = staff.clinic if staff else None
        wait = await _wait_minutes(email, ip, settings)
        known = staff is not None and staff.id in known_devices
        valid = False
        if wait > 0 and not known:
            await audit.record(None, "auth.throttled", clinic_id=clinic_id, object_type="staff",
                               object_id=staff.id if staff else None, detail={"ip": ip})
            throttled = max(wait, 1)
        else:
            valid = _verify(staff.password_hash if staff else _DUMMY_HASH, password)
            throttled = max(wait, 1) if wait > 0 and not (valid and staff.active) else 0
            now = datetime.now(timezone.utc)
            if not (staff and valid and staff.active):
                await LoginAttempt.insert(LoginAttempt(email=email, ip=ip, succeeded=False, at=now))
                await audit.record(None, "auth.sign_in_failed", clinic_id=clinic_id, object_type="staff",
                                   object_id=staff.id if staff else None, detail={"ip": ip, "known_device": known})
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
    await audit.record(actor, "auth.signed_in", object_type="staff", object_id=staff.id,
                       detail={"ip": ip, "known_device": known})
    return actor


async def _forget_old_attempts(settings: Settings) -> None:
    """Attempts older than a day decide nothing any more; keeping them would only keep IP addresses."""
    horizon = datetime.now(timezone.utc) - timedelta(minutes=max(settings.login_window_minutes, 24 * 60))
    await LoginAttempt.delete().where(LoginAttempt.at < horizon)


async def load_staff_actor(staff_id: int, loaded: dict | None = None) -> Actor | None:
    """The Actor for a signed-in staff member, or None when the account is gone or deactivated. `loaded` is the
    row the session store read with the session (sessions.loaded_staff), which saves the query."""
    if loaded is None:
        row = await Staff.select(
            Staff.id, Staff.name, Staff.role, Staff.active, Staff.clinic.id.as_alias("clinic_id"),
            Staff.clinic.name.as_alias("clinic_name"), Staff.clinic.time_zone.as_alias("time_zone"),
            Staff.clinic.country.as_alias("country"), Staff.language, Staff.clinic.locale.as_alias("locale"),
        ).where(Staff.id == staff_id).first()
    else:
        row = loaded
    if row is None or not row["active"]:
        return None
    return Actor(kind="staff", id=row["id"], clinic_id=row["clinic_id"], name=row["name"], role=Role(row["role"]),
                 clinic_name=row["clinic_name"], time_zone=row["time_zone"], country=row["country"],
                 language=i18n.choose(row["language"], row["locale"]), setup_version=row.get("setup_version", 0))


async def sign_out_everywhere(actor: Actor) -> int:
    """End every session of the acting staff member, on every device."""
    ended = await sessions.end_sessions_of_staff(actor.id)
    await audit.record(actor, "auth.signed_out_everywhere", object_type="staff", object_id=actor.id,
                       detail={"sessions": ended})
    return ended

