"""Staff invitations and password resets: single-use, time-limited links sent through the outbox.

Only a SHA-256 of each token is stored. Using one marks it used in the same statement that checks it, so two
clicks cannot both set a password. Asking for a reset says the same thing whether or not the address is
known, and a new request within a few minutes sends nothing more.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from portal import audit, auth, i18n, job_queue, links, sessions, staff
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.memberships import clinics as memberships
from portal.messaging import mail, outbox
from portal.permissions import Actor, Permission, require
from portal.settings import Settings
from portal.tables import Clinic, Staff, StaffToken

LIFETIME = {"invitation": timedelta(days=3), "password_reset": timedelta(hours=1), "membership": timedelta(days=3)}
RESEND_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class NewPasswordForm:
    password: str = ""
    password_again: str = ""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _issue(settings: Settings, staff_row: dict, purpose: str) -> None:
    """A new token (older unused ones of this purpose stop working) and its mail, in the caller's transaction."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(timezone.utc)
    await StaffToken.update({StaffToken.used_at: now}).where(
        (StaffToken.staff == staff_row["id"]) & (StaffToken.purpose == purpose) & StaffToken.used_at.is_null())
    row = StaffToken(clinic=staff_row["clinic"], staff=staff_row["id"], purpose=purpose, token_hash=_hash(token),
                     created_at=now, expires_at=now + LIFETIME[purpose])
    await row.save()
    clinic = await Clinic.select(Clinic.name, Clinic.locale, Clinic.country).where(
        Clinic.id == staff_row["clinic"]).first()
    hours = int(LIFETIME[purpose].total_seconds() // 3600)
    rendered = mail.render("staff_" + purpose, staff_row["language"], clinic_language=clinic["locale"],
                           region=clinic["country"], name=staff_row["name"], clinic_name=clinic["name"],
                           link=links.absolute_url(settings, f"/password/{token}"), hours=hours)
    await outbox.enqueue(outbox.Email(to=staff_row["email"], subject=rendered.subject, text=rendered.text,
                                      html=rendered.html), key=f"staff-token:{row.id}", clinic_id=staff_row["clinic"])


async def invite(actor: Actor, settings: Settings, staff_id: int) -> None:
    """Mail a staff member a link to choose their own password (valid three days)."""
    require(actor, Permission.MANAGE_STAFF)
    row = await Staff.select(Staff.id, Staff.clinic, Staff.name, Staff.email, Staff.language, Staff.person).where(
        (Staff.id == staff_id) & (Staff.clinic == actor.clinic_id) & (Staff.active == True)).first()  # noqa: E712
    if row is None:
        raise NotFound()
    async with transaction():
        # Someone who signs in elsewhere already is asked to join (no new password); the owner cannot tell.
        await _issue(settings, row, "membership" if row["person"] else "invitation")
        await audit.record(actor, "staff.invited", object_type="staff", object_id=staff_id)


async def invite_new_staff(actor: Actor, settings: Settings, form: staff.StaffForm) -> int:
    """Add a staff member and mail them the link to choose their own password, in one transaction."""
    async with transaction():
        staff_id = await staff.create_staff(actor, form)
        await invite(actor, settings, staff_id)
    return staff_id


async def queue_reset_request(email: str) -> None:
    """What the web request does for every address, known or not: queue one job. The lookup and the mail happen
    in the worker, so the request takes the same path and time whether or not an account exists."""
    await job_queue.defer("staff.password_reset", email=email.strip().lower()[:320])


async def request_reset(settings: Settings, email: str) -> None:
    """(Worker) mail a reset link if an active account has this address (the answer is the same either way)."""
    row = await Staff.select(Staff.id, Staff.clinic, Staff.name, Staff.email, Staff.language).where(
        (Staff.email == email.strip().lower()) & Staff.person.is_null() & (Staff.active == True)).first()  # noqa: E712
    if row is None:
        return
    recent = await StaffToken.exists().where(
        (StaffToken.staff == row["id"]) & (StaffToken.purpose == "password_reset")
        & (StaffToken.created_at > datetime.now(timezone.utc) - RESEND_AFTER))
    if recent:
        return
    async with transaction():
        await _issue(settings, row, "password_reset")
        await audit.record(None, "auth.reset_requested", object_type="staff", object_id=row["id"],
                           clinic_id=row["clinic"])


async def check(token: str) -> dict:
    """The staff member behind a live token; NotFound for unknown, used or expired ones."""
    row = await StaffToken.select(StaffToken.purpose, StaffToken.staff.name, StaffToken.clinic.name).where(
        (StaffToken.token_hash == _hash(token)) & StaffToken.used_at.is_null()
        & StaffToken.purpose.is_in(list(LIFETIME))  # an email change's link is no password link
        & (StaffToken.expires_at > datetime.now(timezone.utc))).first()
    if row is None:
        raise NotFound()
    return {"purpose": row["purpose"], "name": row["staff.name"], "clinic_name": row["clinic.name"]}


async def set_password(token: str, form: NewPasswordForm) -> None:
    """Use the token once: set the password and end every session of that account. A membership invitation sets
    no password: using it joins the clinic (the person signs in with the password they have)."""
    if (await check(token))["purpose"] == "membership":
        used = await StaffToken.raw(
            "UPDATE staff_token SET used_at = now() WHERE token_hash = {} AND used_at IS NULL AND expires_at > now() "
            "AND purpose = 'membership' RETURNING staff", _hash(token))
        if not used:
            raise NotFound()
        await memberships.join(used[0]["staff"])
        return
    if len(form.password) < auth.MIN_PASSWORD_LENGTH:
        raise ValidationFailed({"password": i18n.gettext("Use at least %(num)s characters.",
                                                          num=auth.MIN_PASSWORD_LENGTH)})
    if form.password != form.password_again:
        raise ValidationFailed({"password_again": i18n.gettext("The two passwords differ.")})
    async with transaction():
        used = await StaffToken.raw(
            "UPDATE staff_token SET used_at = now() WHERE token_hash = {} AND used_at IS NULL AND expires_at > now() "
            "AND purpose IN ('invitation', 'password_reset') RETURNING staff, clinic, purpose", _hash(token))
        if not used:
            raise NotFound()
        staff_id = used[0]["staff"]
        await Staff.update({Staff.password_hash: auth.hash_password(form.password)}).where(Staff.id == staff_id)
        await sessions.end_sessions_of_staff(staff_id)
        await audit.record(None, "auth.password_set", object_type="staff", object_id=staff_id,
                           detail={"via": used[0]["purpose"]}, clinic_id=used[0]["clinic"])
