"""Staff accounts of a clinic: the owner adds (the new colleague chooses their own password from an invitation),
edits, changes roles, deactivates (which ends sessions) and deletes (the worker then erases the person's data)."""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from asyncpg.exceptions import UniqueViolationError

from portal import audit, display, i18n, sessions
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, email_problem, required, too_long
from portal.i18n import lazy_gettext, lazy_pgettext
from portal.memberships import identities
from portal.permissions import Actor, Permission, Role, require
from portal.tables import (
    LoginAttempt,
    OutboxMessage,
    Staff,
    StaffRecoveryCode,
    StaffToken,
    StaffTotp,
    StaffTrustedDevice,
    StaffTwoFactorReset,
)

PUBLIC_COLUMNS = (Staff.id, Staff.name, Staff.email, Staff.role, Staff.registration_body,
                  Staff.registration_number, Staff.active, Staff.language)

display.register_labels("role", {Role.OWNER.value: lazy_pgettext("role", "Owner"),
                                 Role.DENTIST.value: lazy_pgettext("role", "Dentist"),
                                 Role.HYGIENIST.value: lazy_pgettext("role", "Dental hygienist"),
                                 Role.RECEPTIONIST.value: lazy_pgettext("role", "Receptionist")})


@dataclass(frozen=True)
class StaffForm:
    name: str = ""
    email: str = ""
    role: str = ""
    registration_body: str = ""
    registration_number: str = ""
    active: bool = True
    language: str = ""  # "" = the clinic's language


async def list_staff(actor: Actor) -> list[dict]:
    """Staff records are personal data too: reading them is audited."""
    require(actor, Permission.MANAGE_STAFF)
    async with transaction():
        rows = await Staff.select(*PUBLIC_COLUMNS, Staff.deletion_requested_at).where(
            (Staff.clinic == actor.clinic_id) & Staff.erased_at.is_null()).order_by(Staff.name)
        waiting = {r["id"] for r in await Staff.select(Staff.id).where(
            (Staff.clinic == actor.clinic_id) & (Staff.password_hash == NO_PASSWORD) & Staff.joined_at.is_null())}
        pending = await pending_addresses(actor.clinic_id)
        for row in rows:
            row["invited"] = row["id"] in waiting  # no password chosen yet
            row["pending_email"] = pending.get(row["id"])
            row["cannot_sign"] = row["role"] in (Role.DENTIST, Role.HYGIENIST) and not row["registration_number"]
        await audit.record(actor, "staff.listed", object_type="staff", detail={"staff": [r["id"] for r in rows]})
    return rows


async def get_staff(actor: Actor, staff_id: int) -> dict:
    require(actor, Permission.MANAGE_STAFF)
    row = await Staff.select(*PUBLIC_COLUMNS, Staff.deletion_requested_at).where(
        (Staff.id == staff_id) & (Staff.clinic == actor.clinic_id) & Staff.erased_at.is_null()).first()
    if row is None:
        raise NotFound()
    row["pending_email"] = (await pending_addresses(actor.clinic_id, staff_id)).get(staff_id)
    await audit.record(actor, "staff.viewed", object_type="staff", object_id=staff_id)
    return row


async def pending_addresses(clinic_id: int, staff_id: int | None = None) -> dict[int, str]:
    """New addresses waiting for their holder's confirmation (portal/memberships/email_changes.py), per member."""
    query = StaffToken.select(StaffToken.staff, StaffToken.address).where(
        (StaffToken.clinic == clinic_id) & (StaffToken.purpose == "email_change") & StaffToken.used_at.is_null()
        & (StaffToken.expires_at > datetime.now(timezone.utc)))
    if staff_id is not None:
        query = query.where(StaffToken.staff == staff_id)
    return {r["staff"]: r["address"] for r in await query}


def form_from_record(row: dict) -> StaffForm:
    return StaffForm(**{k: row[k] for k in ("name", "email", "role", "registration_body", "registration_number",
                                            "active", "language")})


NO_PASSWORD = ""  # not a hash: verifying any password against it fails, so the account waits for its invitation
_TAKEN = {"email": lazy_gettext("Another staff account already uses this email.")}


async def _check(actor: Actor, form: StaffForm, staff_id: int | None) -> dict:
    errors = collect(
        name=required(form.name, i18n.gettext("Name")) or too_long(form.name, 200),
        email=email_problem(form.email),
        role=None if form.role in Role.__members__.values() else i18n.gettext("Choose a role."),
        language=None if form.language in ("", *i18n.LANGUAGES) else i18n.gettext("Choose from the list."),
        registration_body=too_long(form.registration_body, 200),
        registration_number=too_long(form.registration_number, 100),
    )
    email = form.email.strip().lower()
    if "email" not in errors:
        # Within this clinic only: whether another clinic knows the address is none of this owner's business
        # (create_staff invites an existing person the same way as a new one).
        clash = Staff.exists().where((Staff.email == email) & (Staff.clinic == actor.clinic_id))
        if staff_id is not None:
            clash = clash.where(Staff.id != staff_id)
        if await clash:
            errors.update(_TAKEN)
    if staff_id == actor.id and (form.role != Role.OWNER.value or not form.active):
        errors["role"] = i18n.gettext("You cannot remove your own owner role or deactivate yourself.")
    if errors:
        raise ValidationFailed(errors)
    return {Staff.name: form.name.strip(), Staff.email: email, Staff.role: form.role,
            Staff.registration_body: form.registration_body.strip(),
            Staff.registration_number: form.registration_number.strip(), Staff.active: form.active,
            Staff.language: form.language}


async def create_staff(actor: Actor, form: StaffForm) -> int:
    """Add a staff member without a password: nobody can sign in to the account until its owner chooses one from
    an invitation link (`staff_tokens.invite_new_staff` adds and invites in one step; the owner never types one)."""
    require(actor, Permission.MANAGE_STAFF)
    values = await _check(actor, form, None)
    # A person who already signs in elsewhere gets a membership here (their identity keeps its password and second
    # factor); the owner sees the same answer and the same invitation as for a new address.
    identity = await Staff.select(Staff.id).where(
        (Staff.email == values[Staff.email]) & Staff.person.is_null() & (Staff.clinic != actor.clinic_id)).first()
    try:
        async with transaction():
            row = Staff(clinic=actor.clinic_id, password_hash=NO_PASSWORD, person=identity["id"] if identity else None,
                        created_at=datetime.now(timezone.utc), **{col._meta.name: v for col, v in values.items()})
            await row.save()
            await audit.record(actor, "staff.created", object_type="staff", object_id=row.id,
                               detail={"role": form.role})
    except UniqueViolationError:  # the same email registered a moment ago by someone else
        raise ValidationFailed(dict(_TAKEN)) from None
    return row.id


async def update_staff(actor: Actor, staff_id: int, form: StaffForm) -> str | None:
    """Edit a staff member; deactivating or changing the role ends their sessions at once. A new address of an
    account in use is not written: it is returned, for `memberships.email_changes` to send to its holder to confirm
    (the same answer whoever holds it). An account nobody uses yet takes the new address at once; the invitation
    to it is the proof, and links sent to the old one stop working."""
    before = await get_staff(actor, staff_id)
    values = await _check(actor, form, staff_id)
    link = await Staff.select(Staff.person, Staff.joined_at, Staff.password_hash).where(Staff.id == staff_id).first()
    pending = None
    if values[Staff.email] != before["email"]:
        if link["password_hash"] != NO_PASSWORD or link["joined_at"] is not None:
            pending = values.pop(Staff.email)
        else:
            # Not in use: the new address decides again who is invited (an existing person or a new account).
            identity = await Staff.select(Staff.id).where(
                (Staff.email == values[Staff.email]) & Staff.person.is_null() & (Staff.clinic != actor.clinic_id)
                & Staff.erased_at.is_null()).first()
            values[Staff.person] = identity["id"] if identity else None
    try:
        async with transaction():
            await Staff.update(values).where((Staff.id == staff_id) & (Staff.clinic == actor.clinic_id))
            if Staff.email in values and values[Staff.email] != before["email"]:
                await StaffToken.update({StaffToken.used_at: datetime.now(timezone.utc)}).where(
                    (StaffToken.staff == staff_id) & StaffToken.used_at.is_null())
            changed = sorted(col._meta.name for col, v in values.items()
                             if col._meta.name in before and before[col._meta.name] != v)
            if not form.active or before["role"] != form.role:
                await sessions.end_sessions_of_staff(staff_id)
            if before["active"] and not form.active:  # their other clinics keep them (the identity moves there)
                await identities.hand_over(staff_id)
            await audit.record(actor, "staff.updated", object_type="staff", object_id=staff_id,
                               detail={"changed": changed})
    except UniqueViolationError:
        raise ValidationFailed(dict(_TAKEN)) from None
    return pending


async def end_sessions(actor: Actor, staff_id: int) -> int:
    """The owner signs a staff member out on every device (a lost tablet, a shared password)."""
    await get_staff(actor, staff_id)
    ended = await sessions.end_sessions_of_staff(staff_id)
    await audit.record(actor, "staff.signed_out_everywhere", object_type="staff", object_id=staff_id,
                       detail={"sessions": ended})
    return ended


async def set_own_language(actor: Actor, language: str) -> None:
    """A staff member picks the language they read ('' = the clinic's); anyone signed in may set their own."""
    if not actor.is_staff or language not in ("", *i18n.LANGUAGES):
        raise ValidationFailed({"language": i18n.gettext("Choose from the list.")})
    async with transaction():
        await Staff.update({Staff.language: language}).where(
            (Staff.id == actor.id) & (Staff.clinic == actor.clinic_id))
        await audit.record(actor, "staff.language", object_type="staff", object_id=actor.id,
                           detail={"language": language})


ERASE_WITHIN = timedelta(days=30)  # the promise; the hourly housekeeping keeps it within the hour


async def request_deletion(actor: Actor, staff_id: int) -> None:
    """The owner deletes an account: it stops working now (sessions, devices, links) and the worker erases the
    person's name, email and sign-in data. Signed clinical entries keep the name and registration they were signed
    with (copied at signing), and appointments keep pointing at the account's id."""
    await get_staff(actor, staff_id)
    if staff_id == actor.id:
        raise ValidationFailed({"form": i18n.gettext("You cannot delete your own account.")})
    async with transaction():
        await Staff.update({Staff.active: False, Staff.deletion_requested_at: datetime.now(timezone.utc)}).where(
            (Staff.id == staff_id) & (Staff.clinic == actor.clinic_id))
        ended = await sessions.end_sessions_of_staff(staff_id)
        await StaffTrustedDevice.delete().where(StaffTrustedDevice.staff == staff_id)
        await StaffToken.delete().where(StaffToken.staff == staff_id)
        await identities.hand_over(staff_id)  # only this clinic's membership goes; other clinics keep the person
        await audit.record(actor, "staff.deletion_requested", object_type="staff", object_id=staff_id,
                           detail={"sessions": ended})


async def erase_deleted() -> int:
    """Worker: erase the personal data of every deleted account (run hourly); returns how many. The audit trail
    keeps its rows as written (it is the evidence of who did what), the rest is gone."""
    due = await Staff.select(Staff.id, Staff.clinic, Staff.email).where(
        Staff.deletion_requested_at.is_not_null() & Staff.erased_at.is_null())
    for row in due:
        async with transaction():
            staff_id = row["id"]
            await Staff.update({Staff.name: "", Staff.email: f"erased-{staff_id}@staff.invalid",
                                Staff.password_hash: NO_PASSWORD, Staff.language: "", Staff.registration_body: "",
                                Staff.registration_number: "", Staff.active: False,
                                Staff.erased_at: datetime.now(timezone.utc)}).where(Staff.id == staff_id)
            for table in (StaffTotp, StaffRecoveryCode, StaffTrustedDevice, StaffTwoFactorReset, StaffToken):
                await table.delete().where(table.staff == staff_id)
            await sessions.end_sessions_of_staff(staff_id)
            if not await identities.address_in_use(row["email"]):  # else the person still works elsewhere
                await LoginAttempt.delete().where(LoginAttempt.email == row["email"])
                await OutboxMessage.delete().where(OutboxMessage.recipient == row["email"])
            # A link to a new address that was never confirmed carries the name too (portal/memberships/email_changes).
            await OutboxMessage.delete().where(OutboxMessage.idempotency_key.like(f"staff-email-confirm:{staff_id}:%"))
            await audit.record(None, "staff.erased", clinic_id=row["clinic"], object_type="staff", object_id=staff_id)
    return len(due)
