"""A staff member's new email address, confirmed by its holder: proposing, the two mails, confirming, cancelling,
reporting.

Whoever edits the address (the owner, or an owner their own) gets the same answer for every address: nothing is
looked up while they wait, so an address another clinic knows answers exactly like an unknown one. The new address
gets a single-use link; the previous one is told of the change with a link to report it. Only when the holder of
the new address opens the link do we look at who holds it: an address that already signs in elsewhere takes this
membership into that identity (the link proves control of the mailbox, the same proof an invitation to join or a
password reset rests on, so asking for the password as well would add nothing); otherwise the person's sign-in
address changes in every clinic they work at.
"""

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from asyncpg.exceptions import UniqueViolationError

from portal import audit, i18n, links, sessions, staff
from portal.contacts.notices import masked
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import email_problem
from portal.memberships import identities
from portal.memberships.identities import CREDENTIAL_TABLES, NO_PASSWORD
from portal.messaging import mail, outbox
from portal.permissions import Actor
from portal.settings import Settings
from portal.tables import Clinic, Staff, StaffToken

CONFIRM_FOR = timedelta(hours=72)
REPORT_FOR = timedelta(days=14)
PURPOSES = ("email_change", "email_report")
MAIL_KEY = "staff-email-confirm:"  # + staff id: the erasure of that account finds mail sent to a pending address


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def save(actor: Actor, settings: Settings, staff_id: int, form: staff.StaffForm) -> None:
    """The owner's edit form: every other field saved at once, a new address of an account in use proposed."""
    async with transaction():
        address = await staff.update_staff(actor, staff_id, form)
        if address is not None:
            await propose(actor, settings, staff_id, address)


async def _void(staff_id: int) -> int:
    voided = await StaffToken.update({StaffToken.used_at: datetime.now(timezone.utc)}).where(
        (StaffToken.staff == staff_id) & StaffToken.purpose.is_in(list(PURPOSES)) & StaffToken.used_at.is_null()
    ).returning(StaffToken.id)
    return len(voided)


async def propose(actor: Actor, settings: Settings, staff_id: int, address: str) -> None:
    """In the caller's transaction, with a checked, lower-case address: an earlier pending change stops, the new
    address gets its link, the previous one the notice. The same statements run whoever holds the address."""
    row = await Staff.select(Staff.id, Staff.clinic, Staff.name, Staff.email, Staff.language).where(
        (Staff.id == staff_id) & (Staff.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    await _void(staff_id)
    now = datetime.now(timezone.utc)
    clinic = await Clinic.select(Clinic.name, Clinic.locale, Clinic.country).where(Clinic.id == actor.clinic_id).first()
    tokens = {}
    for purpose, lifetime in (("email_change", CONFIRM_FOR), ("email_report", REPORT_FOR)):
        tokens[purpose] = secrets.token_urlsafe(32)
        saved = StaffToken(clinic=actor.clinic_id, staff=staff_id, purpose=purpose, address=address,
                           requested_by=actor.id, token_hash=_digest(tokens[purpose]), created_at=now,
                           expires_at=now + lifetime)
        await saved.save()
        tokens[purpose + "_id"] = saved.id
    common = {"clinic_language": clinic["locale"], "region": clinic["country"], "name": row["name"],
              "clinic_name": clinic["name"]}
    confirm = mail.render("staff_email_confirm", row["language"], **common, hours=int(CONFIRM_FOR.total_seconds()
                                                                                        // 3600),
                          link=links.absolute_url(settings, f"/staff-email/{tokens['email_change']}"))
    await outbox.enqueue(outbox.Email(to=address, subject=confirm.subject, text=confirm.text, html=confirm.html),
                         key=f"{MAIL_KEY}{staff_id}:{tokens['email_change_id']}", clinic_id=actor.clinic_id)
    notice = mail.render("staff_email_changed", row["language"], **common, new=masked(address),
                         link=links.absolute_url(settings, f"/staff-email/{tokens['email_report']}"))
    await outbox.enqueue(outbox.Email(to=row["email"], subject=notice.subject, text=notice.text, html=notice.html),
                         key=f"staff-email-notice:{staff_id}:{tokens['email_report_id']}", clinic_id=actor.clinic_id)
    await audit.record(actor, "staff.email_change_requested", object_type="staff", object_id=staff_id)


async def cancel(actor: Actor, staff_id: int) -> None:
    """The owner withdraws a pending change (a typo, a second thought): both links stop working."""
    await staff.get_staff(actor, staff_id)
    async with transaction():
        if await _void(staff_id):
            await audit.record(actor, "staff.email_change_cancelled", object_type="staff", object_id=staff_id)


async def own(actor: Actor) -> dict:
    """Anyone signed in: the address they sign in with and a new one waiting for confirmation, if any."""
    row = await Staff.select(Staff.email).where((Staff.id == actor.id) & (Staff.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    pending = (await staff.pending_addresses(actor.clinic_id, actor.id)).get(actor.id)
    await audit.record(actor, "staff.viewed", object_type="staff", object_id=actor.id)
    return {"email": row["email"], "pending_email": pending}


async def propose_own(actor: Actor, settings: Settings, typed: str) -> None:
    """A staff member changes their own sign-in address: nothing is looked up, whoever holds the new address (a
    clash with a colleague's account shows on the link page, to the holder, not here)."""
    if problem := email_problem(typed):
        raise ValidationFailed({"email": problem})
    address = typed.strip().lower()
    if address == (await own(actor))["email"]:
        raise ValidationFailed({"email": i18n.gettext("That is the address you sign in with now.")})
    async with transaction():
        await propose(actor, settings, actor.id, address)


async def cancel_own(actor: Actor) -> None:
    async with transaction():
        if await _void(actor.id):
            await audit.record(actor, "staff.email_change_cancelled", object_type="staff", object_id=actor.id)


async def check(token: str) -> dict:
    """What a live link is for; NotFound for unknown, used, expired or other kinds of token."""
    row = await StaffToken.select(StaffToken.purpose, StaffToken.address, StaffToken.staff.name,
                                  StaffToken.clinic.name).where(
        (StaffToken.token_hash == _digest(token[:200])) & StaffToken.used_at.is_null()
        & StaffToken.purpose.is_in(list(PURPOSES)) & (StaffToken.expires_at > datetime.now(timezone.utc))).first()
    if row is None:
        raise NotFound()
    # The report link goes to the previous address: it shows the new one only masked, like its mail.
    shown = row["address"] if row["purpose"] == "email_change" else masked(row["address"])
    return {"purpose": row["purpose"], "address": shown, "name": row["staff.name"], "clinic_name": row["clinic.name"]}


async def _use(token: str, purpose: str) -> dict:
    used = await StaffToken.raw(
        "UPDATE staff_token SET used_at = now() WHERE token_hash = {} AND used_at IS NULL AND expires_at > now() "
        "AND purpose = {} RETURNING staff, clinic, address, requested_by", _digest(token[:200]), purpose)
    if not used:
        raise NotFound()
    return used[0]


async def confirm(token: str) -> str | None:
    """The holder of the new address confirms (the link is single-use). Refused with nothing changed when the
    address already belongs to someone at one of the clinics concerned. Returns a token to choose a password with
    when the address became a sign-in of its own (see `_detach`)."""
    try:
        async with transaction():
            used = await _use(token, "email_change")
            staff_id, address = used["staff"], used["address"]
            row = await Staff.select(Staff.id, Staff.clinic, Staff.person).where(
                (Staff.id == staff_id) & Staff.deletion_requested_at.is_null() & Staff.erased_at.is_null()).first()
            if row is None:
                raise NotFound()
            await _void(staff_id)  # the notice's report link too: there is nothing pending left to stop
            identity = row["person"] or row["id"]
            holder = await Staff.select(Staff.id).where(
                (Staff.email == address) & Staff.person.is_null() & Staff.deletion_requested_at.is_null()
                & Staff.erased_at.is_null()).first()
            holder_id = holder["id"] if holder else None
            # The person may move their whole sign-in; an owner moves only their clinic's membership, or an owner
            # of one clinic could take over the person's sign-in to another (the new address resets its password).
            whole = used["requested_by"] == staff_id or not await _works_elsewhere(identity, staff_id)
            password_token = None
            if holder_id == identity:
                changed = []
            elif whole and holder_id is None:
                changed = await Staff.update({Staff.email: address}).where(
                    ((Staff.id == identity) | (Staff.person == identity)) & Staff.erased_at.is_null()
                ).returning(Staff.id, Staff.clinic)
            else:
                if not whole and row["person"] is None:  # their other clinics keep the sign-in they have
                    await identities.hand_over(staff_id)
                if holder_id is None:
                    changed, password_token = await _detach(row, address)
                elif whole and row["person"] is not None:  # asked while acting elsewhere: the whole person moves
                    changed = await _join(await Staff.select(Staff.id, Staff.clinic, Staff.person).where(
                        Staff.id == identity).first(), holder_id, address, whole)
                else:
                    changed = await _join(row, holder_id, address, whole)
            for each in changed:  # every clinic whose staff list now shows the new address
                await audit.record(None, "staff.email_changed", clinic_id=each["clinic"], object_type="staff",
                                   object_id=each["id"])
    except UniqueViolationError:
        raise ValidationFailed({"form": i18n.gettext(
            "This address already belongs to another staff account at one of the clinics concerned. Ask the "
            "clinic to remove one of the two accounts first.")}) from None
    return password_token


async def _works_elsewhere(identity: int, staff_id: int) -> bool:
    """Whether the person has a usable row besides this one (their identity's own, or an accepted membership)."""
    own = ((Staff.id == identity) & (Staff.active == True) & Staff.deletion_requested_at.is_null()  # noqa: E712
           & Staff.erased_at.is_null())
    return await Staff.exists().where((own | identities.live_memberships(identity)) & (Staff.id != staff_id))


async def _detach(row: dict, address: str) -> tuple[list[dict], str]:
    """An owner's change to an address nobody signs in with, for a person who also works elsewhere: this clinic's
    row becomes a sign-in of its own. The link proved the mailbox, so its holder chooses the password right away
    (the same proof an invitation rests on)."""
    now = datetime.now(timezone.utc)
    await Staff.update({Staff.person: None, Staff.email: address, Staff.password_hash: NO_PASSWORD,
                        Staff.joined_at: None}).where(Staff.id == row["id"])
    await sessions.end_sessions_of_staff(row["id"])
    token = secrets.token_urlsafe(32)
    await StaffToken(clinic=row["clinic"], staff=row["id"], purpose="invitation", token_hash=_digest(token),
                     created_at=now, expires_at=now + CONFIRM_FOR).save()
    return [{"id": row["id"], "clinic": row["clinic"]}], token


async def _join(row: dict, holder_id: int, address: str, whole: bool) -> list[dict]:
    """The new address already signs in elsewhere: this membership becomes the holder's, and when the person asked
    it themselves, every membership of their identity follows (two sign-ins of one person become one); the old
    sign-in's sessions end, as its address now belongs to another account."""
    now = datetime.now(timezone.utc)
    moved = [{"id": row["id"], "clinic": row["clinic"]}]
    if whole and row["person"] is None:  # an identity: its memberships follow, its password and second factor go
        moved += await Staff.update({Staff.person: holder_id, Staff.email: address}).where(
            Staff.person == row["id"]).returning(Staff.id, Staff.clinic)
    if row["person"] is None:
        for table in CREDENTIAL_TABLES:
            await table.delete().where(table.staff == row["id"])
        await StaffToken.update({StaffToken.used_at: now}).where(
            (StaffToken.staff == row["id"]) & StaffToken.used_at.is_null())
    await Staff.update({Staff.person: holder_id, Staff.email: address, Staff.password_hash: NO_PASSWORD,
                        Staff.joined_at: now}).where(Staff.id == row["id"])
    for each in moved:
        await sessions.end_sessions_of_staff(each["id"])
    return moved


async def report(token: str) -> None:
    """The previous address says it did not ask: the pending change stops, and the clinic's audit trail shows the
    report. (Confirming uses up this link too: a confirmed change is not undone from here.)"""
    async with transaction():
        used = await _use(token, "email_report")
        stopped = await _void(used["staff"])
        await audit.record(None, "staff.email_change_reported", clinic_id=used["clinic"], object_type="staff",
                           object_id=used["staff"], detail={"stopped": bool(stopped)})
