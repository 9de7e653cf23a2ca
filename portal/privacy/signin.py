"""Patient and guardian sign-in: a single-use link valid 15 minutes, mailed to the address on file; a newer
link or a sign-in ends the older links to the same address.

The answer is the same whether or not the email and date of birth match anyone. Sessions are rows of their
own (cookie `patient_session`), separate from staff sessions; the Actor they load has kind "patient" or
"guardian", so no staff permission ever applies.
"""

import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from portal import audit, i18n
from portal.db import transaction
from portal.errors import Forbidden, NotFound, Throttled, ValidationFailed
from portal.forms import collect, email_problem, parse_date
from portal.i18n import gettext
from portal.messaging import mail, outbox
from portal.patients import age_on
from portal.permissions import Actor
from portal.settings import Settings
from portal.tables import Guardian, LoginAttempt, Patient, PatientSession, PatientSignInLink

LINK_MINUTES = 15
COOKIE = "patient_session"


@dataclass(frozen=True)
class LinkForm:
    email: str = ""
    date_of_birth: str = ""


@dataclass(frozen=True)
class SignedIn:
    """A patient session: who signed in (email) and, once chosen, whose data it shows (actor)."""

    token_hash: str
    clinic_id: int
    email: str
    actor: Actor | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _wait_minutes(email: str, ip: str, settings: Settings) -> int:
    """Every link request counts (they all look alike to the sender): per address and per IP."""
    since = datetime.now(timezone.utc) - timedelta(minutes=settings.login_window_minutes)
    waits = []
    for column, value, limit in ((LoginAttempt.email, "privacy:" + email, settings.login_account_limit),
                                 (LoginAttempt.ip, "privacy:" + ip, settings.login_ip_limit)):
        rows = await LoginAttempt.select(LoginAttempt.at).where((column == value) & (LoginAttempt.at > since)).order_by(
            LoginAttempt.at, ascending=False).limit(limit)
        if len(rows) >= limit:
            free_at = rows[-1]["at"] + timedelta(minutes=settings.login_window_minutes)
            waits.append(math.ceil((free_at - datetime.now(timezone.utc)).total_seconds() / 60))
    return max(waits, default=0)


async def _clinics_for(email: str, born: date) -> list[dict]:
    """Clinics where this address belongs to the patient born that day (old enough to act alone), or to a
    guardian of a child born that day who is still under the clinic's age of digital consent."""
    # The language of the mail: the patient's, else the guardian's, else the clinic's (portal/i18n.py).
    return await Patient.raw(
        "SELECT c.id, c.name, c.locale, c.country, COALESCE((SELECT p.preferred_language FROM patient p "
        "WHERE p.clinic = c.id AND lower(p.email) = {} AND p.date_of_birth = {} LIMIT 1), (SELECT "
        "g.preferred_language FROM guardian g JOIN patient p ON p.id = g.patient WHERE g.clinic = c.id "
        "AND lower(g.email) = {} AND p.date_of_birth = {} LIMIT 1)) AS language "
        "FROM clinic c WHERE EXISTS (SELECT 1 FROM patient p WHERE p.clinic = c.id "
        "AND lower(p.email) = {} AND p.date_of_birth = {} AND p.isolated_at IS NULL "
        "AND date_part('year', age(current_date, p.date_of_birth)) >= c.digital_consent_age) "
        "OR EXISTS (SELECT 1 FROM guardian g JOIN patient p ON p.id = g.patient WHERE g.clinic = c.id "
        "AND lower(g.email) = {} AND p.date_of_birth = {} AND p.isolated_at IS NULL "
        "AND date_part('year', age(current_date, p.date_of_birth)) < c.digital_consent_age) ORDER BY c.id",
        email, born, email, born, email, born, email, born)


async def request_link(form: LinkForm, ip: str, settings: Settings, link_url: Callable[[str], str]) -> None:
    """Mail a sign-in link for every clinic where the details match; say nothing about whether any did."""
    born = parse_date(form.date_of_birth)
    errors = collect(email=email_problem(form.email),
                     date_of_birth=None if born else gettext("Enter your date of birth, e.g. 1984-03-21."))
    if errors:
        raise ValidationFailed(errors)
    email = form.email.strip().lower()
    now = datetime.now(timezone.utc)
    async with transaction():
        await LoginAttempt.raw("SELECT pg_advisory_xact_lock(hashtext({})), pg_advisory_xact_lock(hashtext({}))",
                               "privacy-email:" + email, "privacy-ip:" + ip)
        wait = await _wait_minutes(email, ip, settings)
        if not wait:
            await LoginAttempt.insert(LoginAttempt(email="privacy:" + email, ip=("privacy:" + ip)[:64],
                                                   succeeded=False, at=now))
            for clinic in await _clinics_for(email, born):
                await _end_links(clinic["id"], email)  # a newer link ends the older ones
                token = secrets.token_urlsafe(32)
                link = PatientSignInLink(clinic=clinic["id"], email=email, token_hash=digest(token),
                                         expires_at=now + timedelta(minutes=LINK_MINUTES), created_at=now)
                await link.save()
                rendered = mail.render("privacy_sign_in_link", clinic["language"], clinic_language=clinic["locale"],
                                       region=clinic["country"], clinic_name=clinic["name"], link=link_url(token),
                                       minutes=LINK_MINUTES)
                await outbox.enqueue(outbox.Email(to=email, subject=rendered.subject, text=rendered.text),
                                     key=f"privacy-link:{link.id}", clinic_id=clinic["id"])
                await audit.record(None, "privacy.link_sent", clinic_id=clinic["id"], object_type="sign_in_link",
                                   object_id=link.id)
    if wait:
        raise Throttled(max(wait, 1))


async def _end_links(clinic_id: int, email: str) -> None:
    await PatientSignInLink.raw("UPDATE patient_sign_in_link SET expires_at = now() WHERE clinic = {} "
                                "AND email = {} AND used_at IS NULL AND expires_at > now()", clinic_id, email)


async def redeem(token: str, settings: Settings) -> str | None:
    """Use a link once: a new session token, or None when the link is unknown, used or expired."""
    now = datetime.now(timezone.utc)
    async with transaction():
        rows = await PatientSignInLink.raw(
            "UPDATE patient_sign_in_link SET used_at = now() WHERE token_hash = {} AND used_at IS NULL "
            "AND expires_at > now() RETURNING id, clinic, email", digest(token[:200]))
        if not rows:
            await audit.record(None, "privacy.link_refused", object_type="sign_in_link")
            return None
        link = rows[0]
        await _end_links(link["clinic"], link["email"])  # a sign-in ends every other link to the address
        session_token = secrets.token_urlsafe(32)
        await PatientSession.insert(PatientSession(
            token_hash=digest(session_token), clinic=link["clinic"], email=link["email"], created_at=now,
            seen_at=now, expires_at=now + timedelta(hours=settings.session_absolute_hours)))
        await audit.record(None, "privacy.signed_in", clinic_id=link["clinic"], object_type="sign_in_link",
                           object_id=link["id"])
    return session_token


async def choices(clinic_id: int, email: str) -> list[dict]:
    """Whose data this address may see: the patient themself and children of a guardian (with `allowed`
    False for a child who has reached the age of digital consent and now decides alone)."""
    rows = await Patient.raw(
        "SELECT p.id AS patient_id, p.given_name, p.family_name, p.date_of_birth, NULL::int AS guardian_id, "
        "c.digital_consent_age FROM patient p JOIN clinic c ON c.id = p.clinic WHERE p.clinic = {} "
        "AND lower(p.email) = {} AND p.isolated_at IS NULL UNION ALL "
        "SELECT p.id, p.given_name, p.family_name, p.date_of_birth, g.id, c.digital_consent_age FROM guardian g "
        "JOIN patient p ON p.id = g.patient JOIN clinic c ON c.id = p.clinic WHERE g.clinic = {} "
        "AND lower(g.email) = {} AND p.isolated_at IS NULL ORDER BY 1", clinic_id, email, clinic_id, email)
    today = date.today()
    for row in rows:
        age = age_on(row["date_of_birth"], today)
        row["name"] = f'{row["given_name"]} {row["family_name"]}'
        row["allowed"] = age >= row["digital_consent_age"] if row["guardian_id"] is None \
            else age < row["digital_consent_age"]
    return rows


async def choose(signed_in: SignedIn, patient_id: int) -> None:
    """Pick whose data to see; a guardian of a child now old enough to decide is refused."""
    match = [c for c in await choices(signed_in.clinic_id, signed_in.email) if c["patient_id"] == patient_id]
    if not match:
        raise NotFound()
    allowed = [c for c in match if c["allowed"]]
    if not allowed:
        async with transaction():
            await audit.record(None, "privacy.guardian_refused", clinic_id=signed_in.clinic_id, patient_id=patient_id,
                               object_type="patient", object_id=patient_id)
        raise Forbidden("now_adult")
    await PatientSession.update({PatientSession.patient_id: patient_id,
                                 PatientSession.guardian_id: allowed[0]["guardian_id"]}).where(
        PatientSession.token_hash == signed_in.token_hash)


async def load(token: str, settings: Settings) -> SignedIn | None:
    """The session behind a cookie, re-checked on every request (a child may have come of age meanwhile)."""
    if not token:
        return None
    rows = await PatientSession.raw(
        "SELECT s.token_hash, s.clinic, s.email, s.patient_id, s.guardian_id, s.seen_at, c.name AS clinic_name, "
        "c.time_zone, c.country, c.locale, (SELECT p.preferred_language FROM patient p WHERE p.id = s.patient_id) "
        "AS patient_language, (SELECT g.preferred_language FROM guardian g WHERE g.id = s.guardian_id) "
        "AS guardian_language FROM patient_session s JOIN clinic c ON c.id = s.clinic WHERE s.token_hash = {} "
        "AND s.expires_at > now() AND s.seen_at > now() - {}::interval", digest(token[:200]),
        timedelta(minutes=settings.session_idle_minutes))
    if not rows:
        return None
    row = rows[0]
    if (datetime.now(timezone.utc) - row["seen_at"]).total_seconds() > 60:
        await PatientSession.update({PatientSession.seen_at: datetime.now(timezone.utc)}).where(
            PatientSession.token_hash == row["token_hash"])
    actor = None
    if row["patient_id"] is not None:
        match = [c for c in await choices(row["clinic"], row["email"])
                 if c["patient_id"] == row["patient_id"] and c["guardian_id"] == row["guardian_id"] and c["allowed"]]
        if not match:  # came of age, guardian removed, or erased: the session no longer shows this record
            await PatientSession.update({PatientSession.patient_id: None, PatientSession.guardian_id: None}).where(
                PatientSession.token_hash == row["token_hash"])
        else:
            person = match[0]
            guardian = row["guardian_id"] is not None
            name = person["name"]
            if guardian:
                g = await Guardian.select(Guardian.name).where(Guardian.id == row["guardian_id"]).first()
                name = g["name"] if g else "Guardian"
            actor = Actor(kind="guardian" if guardian else "patient", id=row["guardian_id"] or row["patient_id"],
                          clinic_id=row["clinic"], name=name, clinic_name=row["clinic_name"],
                          time_zone=row["time_zone"], country=row["country"], patient_id=row["patient_id"],
                          language=i18n.choose(row["guardian_language"] if guardian else row["patient_language"],
                                               row["locale"]))
    return SignedIn(token_hash=row["token_hash"], clinic_id=row["clinic"], email=row["email"], actor=actor)


async def sign_out(signed_in: SignedIn) -> None:
    await PatientSession.delete().where(PatientSession.token_hash == signed_in.token_hash)


async def end_sessions_of_patient(patient_id: int) -> None:
    await PatientSession.delete().where(PatientSession.patient_id == patient_id)
