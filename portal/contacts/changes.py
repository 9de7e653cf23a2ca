"""Address changes: proposed from any side, confirmed by the holder (link, code) or by staff in person, reportable.

The patient and guardian columns (`patient.email`, `patient.phone_mobile`, `guardian.email`, `guardian.phone`) hold
only confirmed addresses, so every reader of them (the privacy centre's sign-in, the outbox's senders, inbound
message matching) trusts only what a holder confirmed. A proposed address waits in `contact_change` until then;
the previous address is told, with a link to report the change, which undoes it. Removing an address needs no
confirmation (it grants nothing) but is told to the removed address all the same. A postal address typed on the
clinic's kiosk waits too: no link or code can reach it, so only staff confirm it in person.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from portal import audit, display, job_queue
from portal.db import transaction
from portal.errors import Forbidden, NotFound, ValidationFailed
from portal.i18n import _, lazy_gettext
from portal.permissions import Actor, Permission, can, require
from portal.tables import ContactChange, Guardian, Patient, PatientSession

CONFIRM_FOR = timedelta(hours=72)
CODE_ATTEMPTS = 5
CHANNELS = ("email", "phone", "postal")
REACHABLE = ("email", "phone")  # channels a link or code can be sent to (a postal address is confirmed in person)
# Origins whose first address gives no one new access to an existing record: no cooling-off after them.
NO_COOLING = ("patient_created", "lead", "online_booking")
IDENTITY_CHECKS = {"passport": lazy_gettext("Passport"), "id_card": lazy_gettext("National identity card"),
                   "driving_licence": lazy_gettext("Driving licence"),
                   "residence_permit": lazy_gettext("Residence permit")}
STATUSES = {"pending": lazy_gettext("Waiting for confirmation"), "confirmed": lazy_gettext("Confirmed"),
            "superseded": lazy_gettext("Replaced by a later change"), "withdrawn": lazy_gettext("Withdrawn"),
            "reported": lazy_gettext("Reported as not made by the holder"), "expired": lazy_gettext("Expired")}
METHODS = {"link": lazy_gettext("Link in the email"), "code": lazy_gettext("Code sent by text message"),
           "in_person": lazy_gettext("In person at the clinic"),
           "inbound_message": lazy_gettext("A message from this number"), "removed": lazy_gettext("Removed"),
           "booking_code": lazy_gettext("Code sent to this address for online booking")}
display.register_labels("identity_check", IDENTITY_CHECKS)
display.register_labels("contact_status", STATUSES)
display.register_labels("contact_method", METHODS)


@dataclass(frozen=True)
class Holder:
    """Whose address: the patient's own (guardian_id None) or one guardian's of that patient."""

    patient_id: int
    guardian_id: int | None = None


@dataclass(frozen=True)
class InPersonForm:
    identity_check: str = ""


@dataclass(frozen=True)
class CodeForm:
    code: str = ""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def code_digest(change_id: int, code: str) -> str:
    return digest(f"{change_id}:{code}")


def _column(holder: Holder, channel: str):
    if channel == "postal":
        assert holder.guardian_id is None, "guardians have no postal address of their own"
        return Patient.address
    if holder.guardian_id is None:
        return Patient.email if channel == "email" else Patient.phone_mobile
    return Guardian.email if channel == "email" else Guardian.phone


async def confirmed_address(holder: Holder, channel: str) -> str:
    column = _column(holder, channel)
    table = column._meta.table
    key = holder.guardian_id if holder.guardian_id is not None else holder.patient_id
    row = await table.select(column).where(table.id == key).first()
    return row[column._meta.name] if row else ""


async def _last_known(clinic_id: int, holder: Holder, channel: str) -> str:
    """The confirmed address now, else the one last removed: a removal followed by a new address still tells
    the holder of the old one."""
    if current := await confirmed_address(holder, channel):
        return current
    row = await ContactChange.select(ContactChange.previous).where(
        (ContactChange.clinic == clinic_id) & (ContactChange.patient == holder.patient_id)
        & _same_holder(holder) & (ContactChange.channel == channel) & (ContactChange.method == "removed")
        & (ContactChange.status == "confirmed")).order_by(ContactChange.id, ascending=False).first()
    return row["previous"] if row else ""


def _same_holder(holder: Holder):
    return ContactChange.guardian.is_null() if holder.guardian_id is None \
        else ContactChange.guardian == holder.guardian_id


async def _write(holder: Holder, channel: str, address: str) -> None:
    column = _column(holder, channel)
    table = column._meta.table
    key = holder.guardian_id if holder.guardian_id is not None else holder.patient_id
    values = {column: address}
    if table is Patient:
        values[Patient.updated_at] = datetime.now(timezone.utc)
    await table.update(values).where(table.id == key)


async def propose(actor: Actor, clinic_id: int, holder: Holder, channel: str, address: str, origin: str) -> int | None:
    """Call inside the caller's transaction with a cleaned address. The same address as confirmed, or as already
    waiting, changes nothing; "" removes the address at once; anything else waits for its holder. Returns the
    change's id when one was recorded."""
    assert channel in CHANNELS
    current = await confirmed_address(holder, channel)
    pending = await ContactChange.select(ContactChange.id, ContactChange.address).where(
        (ContactChange.clinic == clinic_id) & (ContactChange.patient == holder.patient_id) & _same_holder(holder)
        & (ContactChange.channel == channel) & (ContactChange.status == "pending")
        & (ContactChange.expires_at > datetime.now(timezone.utc))).first()
    if address == current or (pending and pending["address"] == address):
        return None
    now = datetime.now(timezone.utc)
    await ContactChange.update({ContactChange.status: "superseded"}).where(
        (ContactChange.clinic == clinic_id) & (ContactChange.patient == holder.patient_id) & _same_holder(holder)
        & (ContactChange.channel == channel) & (ContactChange.status == "pending"))
    removal = address == ""
    row = ContactChange(
        clinic=clinic_id, patient=holder.patient_id, guardian=holder.guardian_id, channel=channel, address=address,
        previous=await _last_known(clinic_id, holder, channel) if not removal else current, origin=origin,
        requested_by_kind=actor.kind, requested_by_id=actor.id, requested_at=now, expires_at=now + CONFIRM_FOR,
        cools=origin not in NO_COOLING, status="confirmed" if removal else "pending",
        method="removed" if removal else "", confirmed_at=now if removal else None)
    await row.save()
    if removal:
        await _write(holder, channel, "")
    await audit.record(actor, "contact.removed" if removal else "contact.proposed", patient_id=holder.patient_id,
                       clinic_id=clinic_id, object_type="contact_change", object_id=row.id,
                       detail={"channel": channel, "origin": origin, "guardian": holder.guardian_id})
    # The worker mails the link (or texts the code) and tells the previous address: links need PUBLIC_URL.
    await job_queue.defer("contacts.notify", change_id=row.id, clinic_id=clinic_id)
    return row.id


async def _confirm(row: dict, values: dict, actor: Actor | None, method: str) -> None:
    """Write the confirmed address to its column (in the caller's transaction) and record who and how."""
    holder = Holder(row["patient"], row["guardian"])
    await ContactChange.update({ContactChange.status: "confirmed", ContactChange.method: method,
                                ContactChange.confirmed_at: datetime.now(timezone.utc), **values}).where(
        ContactChange.id == row["id"])
    await _write(holder, row["channel"], row["address"])
    await audit.record(actor, "contact.confirmed", patient_id=row["patient"], clinic_id=row["clinic"],
                       object_type="contact_change", object_id=row["id"],
                       detail={"channel": row["channel"], "method": method, "guardian": row["guardian"]})


_ROW = (ContactChange.id, ContactChange.clinic, ContactChange.patient, ContactChange.guardian, ContactChange.channel,
        ContactChange.address, ContactChange.previous, ContactChange.status, ContactChange.expires_at,
        ContactChange.code_hash, ContactChange.code_attempts)


async def confirm_link(token: str) -> dict | None:
    """The emailed link, used once before it expires; None when unknown, used or expired."""
    async with transaction():
        row = await ContactChange.select(*_ROW).where(
            (ContactChange.token_hash == digest(token[:200])) & (ContactChange.status == "pending")
            & (ContactChange.expires_at > datetime.now(timezone.utc))).first()
        if row is None:
            await audit.record(None, "contact.link_refused", object_type="contact_change")
            return None
        await _confirm(row, {ContactChange.token_hash: None}, None, "link")
    return row


async def _pending_of_patient(clinic_id: int, patient_id: int, change_id: int) -> dict:
    row = await ContactChange.select(*_ROW).where(
        (ContactChange.id == change_id) & (ContactChange.clinic == clinic_id) & (ContactChange.patient == patient_id)
    ).first()
    if row is None:
        raise NotFound()
    if row["status"] != "pending" or row["expires_at"] <= datetime.now(timezone.utc):
        raise ValidationFailed({"form": _("This change is no longer waiting for confirmation.")})
    return row


async def confirm_code(actor: Actor, patient_id: int, change_id: int, form: CodeForm) -> None:
    """The texted code, typed by the patient (privacy centre) or read out to staff; five tries, then it is void."""
    if actor.is_staff:
        require(actor, Permission.EDIT_DEMOGRAPHICS)
    elif actor.patient_id != patient_id:
        raise Forbidden("not this patient")
    code = "".join(ch for ch in form.code if ch.isdigit())[:12]
    async with transaction():
        row = await _pending_of_patient(actor.clinic_id, patient_id, change_id)
        if not actor.is_staff and row["guardian"] is not None:  # the privacy centre confirms the patient's own
            raise NotFound()
        if row["code_hash"] is None or row["code_attempts"] >= CODE_ATTEMPTS:
            raise ValidationFailed({"code": _("No code can be used for this change any more.")})
        if not hmac.compare_digest(row["code_hash"], code_digest(row["id"], code)):
            await ContactChange.update({ContactChange.code_attempts: ContactChange.code_attempts + 1}).where(
                ContactChange.id == row["id"])
            await audit.record(actor, "contact.code_refused", patient_id=patient_id, object_type="contact_change",
                               object_id=row["id"])
            failed = ValidationFailed({"code": _("That code is not right.")})
        else:
            failed = None
            await _confirm(row, {ContactChange.code_hash: None}, actor, "code")
    if failed:
        raise failed


async def confirm_in_person(actor: Actor, patient_id: int, change_id: int, form: InPersonForm) -> None:
    """Staff saw the holder and an identity document: who and how are recorded. Someone who may read the clinical
    record anyway spares the patient the cooling-off; a receptionist's check does not."""
    require(actor, Permission.EDIT_DEMOGRAPHICS)
    async with transaction():
        row = await _pending_of_patient(actor.clinic_id, patient_id, change_id)  # another clinic's: 404 first
        if form.identity_check not in IDENTITY_CHECKS:
            raise ValidationFailed({"identity_check": _("Choose the document you checked.")})
        await _confirm(row, {ContactChange.confirmed_by: actor.id, ContactChange.confirmed_by_name: actor.name,
                             ContactChange.identity_check: form.identity_check,
                             ContactChange.checked_by_clinician: can(actor, Permission.READ_CLINICAL)},
                       actor, "in_person")


async def confirm_inbound(actor: Actor, clinic_id: int, patient_id: int, phone: str) -> None:
    """A lead's number wrote to us first (the provider vouches for the sender): it is confirmed by that message."""
    row = await ContactChange.select(*_ROW).where(
        (ContactChange.clinic == clinic_id) & (ContactChange.patient == patient_id) & ContactChange.guardian.is_null()
        & (ContactChange.channel == "phone") & (ContactChange.address == phone)
        & (ContactChange.status == "pending")).first()
    if row is not None:
        await _confirm(row, {}, actor, "inbound_message")


async def confirm_proven(actor: Actor, clinic_id: int, patient_id: int, channel: str, address: str,
                         method: str) -> None:
    """An address whose holder has just proved it another way (a code sent there for online booking, typed back):
    its waiting change is confirmed, in the caller's transaction."""
    assert method in METHODS
    row = await ContactChange.select(*_ROW).where(
        (ContactChange.clinic == clinic_id) & (ContactChange.patient == patient_id) & ContactChange.guardian.is_null()
        & (ContactChange.channel == channel) & (ContactChange.address == address)
        & (ContactChange.status == "pending")).first()
    if row is not None:
        await _confirm(row, {}, actor, method)


async def report(token: str) -> dict | None:
    """"This was not me", from the previous address: a waiting change is withdrawn, a confirmed one undone (the
    previous address comes back) and the patient's privacy-centre sessions end. None for an unknown link."""
    async with transaction():
        row = await ContactChange.select(*_ROW).where(
            ContactChange.report_token_hash == digest(token[:200])).first()
        if row is None or row["status"] not in ("pending", "confirmed"):
            await audit.record(None, "contact.report_refused", object_type="contact_change",
                               object_id=row["id"] if row else None)
            return None
        holder = Holder(row["patient"], row["guardian"])
        if row["status"] == "confirmed" and await confirmed_address(holder, row["channel"]) == row["address"]:
            await _write(holder, row["channel"], row["previous"])
        await ContactChange.update({ContactChange.status: "reported", ContactChange.token_hash: None,
                                    ContactChange.code_hash: None, ContactChange.report_token_hash: None,
                                    ContactChange.reported_at: datetime.now(timezone.utc)}).where(
            ContactChange.id == row["id"])
        # Whoever signed in through the reported address is signed out, also before choosing whose data to see.
        await PatientSession.delete().where((PatientSession.patient_id == row["patient"]) | (
            (PatientSession.clinic == row["clinic"]) & (PatientSession.email == row["address"].lower())))
        await audit.record(None, "contact.reported", patient_id=row["patient"], clinic_id=row["clinic"],
                           object_type="contact_change", object_id=row["id"], detail={"channel": row["channel"]})
    return row


async def cooling_until(clinic_id: int, patient_id: int, days: int) -> datetime | None:
    """When the clinical part of the record opens again to the privacy centre after a confirmed address change of
    the patient or a guardian (None: not cooling). An in-person check by a clinician does not start it."""
    since = datetime.now(timezone.utc) - timedelta(days=days)
    row = await ContactChange.select(ContactChange.confirmed_at).where(
        (ContactChange.clinic == clinic_id) & (ContactChange.patient == patient_id)
        & (ContactChange.status == "confirmed") & (ContactChange.cools == True)  # noqa: E712
        & (ContactChange.checked_by_clinician == False) & (ContactChange.method != "removed")  # noqa: E712
        & ContactChange.cooling_ended_at.is_null()
        & (ContactChange.confirmed_at > since)).order_by(ContactChange.confirmed_at, ascending=False).first()
    return row["confirmed_at"] + timedelta(days=days) if row else None


async def end_cooling(actor: Actor, patient_id: int, days: int, form: InPersonForm) -> int:
    """Someone who may read the clinical record anyway saw the patient (or guardian) later and checked an identity
    document: the cooling-off of every confirmed change ends now, with who and how recorded. Returns how many."""
    require(actor, Permission.READ_CLINICAL)
    async with transaction():
        if not await Patient.exists().where((Patient.id == patient_id) & (Patient.clinic == actor.clinic_id)):
            raise NotFound()
        if form.identity_check not in IDENTITY_CHECKS:
            raise ValidationFailed({"identity_check": _("Choose the document you checked.")})
        since = datetime.now(timezone.utc) - timedelta(days=days)
        ended = await ContactChange.update({
            ContactChange.cooling_ended_at: datetime.now(timezone.utc), ContactChange.cooling_ended_by: actor.id,
            ContactChange.cooling_ended_by_name: actor.name, ContactChange.cooling_ended_check: form.identity_check,
        }).where((ContactChange.clinic == actor.clinic_id) & (ContactChange.patient == patient_id)
                 & (ContactChange.status == "confirmed") & (ContactChange.cools == True)  # noqa: E712
                 & (ContactChange.checked_by_clinician == False)  # noqa: E712
                 & ContactChange.cooling_ended_at.is_null() & (ContactChange.confirmed_at > since)
                 ).returning(ContactChange.id)
        if not ended:
            raise ValidationFailed({"identity_check": _("The record is not waiting: nothing to end.")})
        await audit.record(actor, "contact.cooling_ended", patient_id=patient_id, object_type="patient",
                           object_id=patient_id, detail={"changes": [r["id"] for r in ended],
                                                         "identity_check": form.identity_check})
    return len(ended)


_LIST = (ContactChange.id, ContactChange.guardian, ContactChange.channel, ContactChange.address,
         ContactChange.origin, ContactChange.status, ContactChange.requested_at, ContactChange.expires_at,
         ContactChange.method, ContactChange.confirmed_at, ContactChange.confirmed_by_name,
         ContactChange.identity_check, ContactChange.code_hash, ContactChange.reported_at,
         ContactChange.cooling_ended_at, ContactChange.cooling_ended_by_name, ContactChange.cooling_ended_check)


def _shaped(rows: list[dict]) -> list[dict]:
    now = datetime.now(timezone.utc)
    for row in rows:
        row["waiting"] = row["status"] == "pending" and row["expires_at"] > now
        row["shown_status"] = "expired" if row["status"] == "pending" and not row["waiting"] else row["status"]
        row["has_code"] = row.pop("code_hash") is not None
    return rows


async def changes_for(actor: Actor, patient_id: int) -> dict:
    """Staff: the patient's and guardians' address changes (waiting first, then the last ten); audited."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    async with transaction():
        owned = await Patient.exists().where((Patient.id == patient_id) & (Patient.clinic == actor.clinic_id)
                                             & Patient.isolated_at.is_null())
        if not owned:
            raise NotFound()
        rows = await ContactChange.select(*_LIST, ContactChange.guardian.name.as_alias("guardian_name")).where(
            (ContactChange.clinic == actor.clinic_id) & (ContactChange.patient == patient_id)).order_by(
            ContactChange.id, ascending=False).limit(10)
        await audit.record(actor, "contact.changes_viewed", patient_id=patient_id, object_type="patient",
                           object_id=patient_id)
    rows = _shaped(rows)
    return {"waiting": [r for r in rows if r["waiting"]], "past": [r for r in rows if not r["waiting"]],
            "identity_checks": IDENTITY_CHECKS, "patient_id": patient_id}


async def own_waiting(actor: Actor) -> list[dict]:
    """Privacy centre: changes of the patient's own addresses still waiting (the contact page's code box)."""
    if actor.kind not in ("patient", "guardian") or actor.patient_id is None:
        raise Forbidden("patient session required")
    rows = await ContactChange.select(*_LIST).where(
        (ContactChange.clinic == actor.clinic_id) & (ContactChange.patient == actor.patient_id)
        & ContactChange.guardian.is_null() & (ContactChange.status == "pending")).order_by(ContactChange.id)
    return [r for r in _shaped(rows) if r["waiting"]]


def _new_secret(change_id: int, channel: str) -> tuple[str, dict]:
    if channel == "email":
        token = secrets.token_urlsafe(32)
        return token, {ContactChange.token_hash: digest(token)}
    code = f"{secrets.randbelow(1_000_000):06d}"
    return code, {ContactChange.code_hash: code_digest(change_id, code)}


async def issue_secrets(change_id: int) -> dict | None:
    """For the worker (portal/contacts/notices.py), once per change: the confirmation secret for the new address
    and the report token for the previous one, stored hashed; None when already issued or no longer waiting."""
    rows = await ContactChange.raw(
        "UPDATE contact_change SET notified_at = now() WHERE id = {} AND notified_at IS NULL "
        "RETURNING id, clinic, patient, guardian, channel, address, previous, status, origin, expires_at",
        change_id)
    if not rows:
        return None
    row = rows[0]
    values, row["secret"], row["report_token"] = {}, None, None
    if row["channel"] not in REACHABLE:  # confirmed in person; nothing to send
        return row
    if row["status"] == "pending" and row["address"]:
        row["secret"], values = _new_secret(row["id"], row["channel"])
    if row["status"] in ("pending", "confirmed"):
        row["report_token"] = secrets.token_urlsafe(32)
        values[ContactChange.report_token_hash] = digest(row["report_token"])
    if values:
        await ContactChange.update(values).where(ContactChange.id == change_id)
    return row
