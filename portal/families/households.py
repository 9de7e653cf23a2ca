"""Families (households): patients of one clinic under one shared postal address, which staff apply to members.

A patient belongs to at most one family. The family's address is the household's; "use the family's address"
writes it to the members' own address fields (each change audited on that member's record, which is the history
the patient sees on their access page). A family whose last member leaves is deleted with its address. Billing
the household together is the billing domain's (portal.billing.accounts.share_account), called per member.
"""

from dataclasses import dataclass
from datetime import datetime, timezone

from portal import audit, patient_fields
from portal.billing import accounts
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.families.guardians import children_of, in_clinic
from portal.forms import whole_number
from portal.i18n import gettext
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, can, require
from portal.tables import BillingAccount, BillingMember, Family, FamilyMember, Patient

ADDRESS = ("address", "postcode", "city", "country")


@dataclass(frozen=True)
class FamilyForm:
    household_name: str = ""
    address: str = ""
    postcode: str = ""
    city: str = ""
    country: str = ""


@dataclass(frozen=True)
class MemberForm:
    member_patient: str = ""  # the member's patient id, chosen from the typeahead


@dataclass(frozen=True)
class BillingForm:
    guarantor: str = ""  # the member who pays for the household


def _clean(actor: Actor, form: FamilyForm) -> dict:
    errors, values = {}, {}
    try:
        values["name"] = patient_fields.text(form.household_name, 200)
        if not values["name"]:
            errors["household_name"] = gettext("Give the family a name, e.g. its family name.")
    except patient_fields.FieldProblem as problem:
        errors["household_name"] = problem.message
    try:
        values.update(patient_fields.clean({k: getattr(form, k) for k in ADDRESS}, actor.country))
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return values


async def _family_id(actor: Actor, patient_id: int) -> int | None:
    row = await FamilyMember.select(FamilyMember.family).where(
        (FamilyMember.patient == patient_id) & (FamilyMember.clinic == actor.clinic_id)).first()
    return row["family"] if row else None


async def _own_family(actor: Actor, patient_id: int) -> int:
    """The family of a patient of this clinic; NotFound for a foreign patient or one in no family."""
    await ensure_in_clinic(actor, patient_id)
    if (family_id := await _family_id(actor, patient_id)) is None:
        raise NotFound()
    return family_id


async def proposal(actor: Actor, patient_id: int) -> FamilyForm:
    """A new family's form, filled from the patient (their family name and address)."""
    row = await Patient.select(Patient.family_name, *[getattr(Patient, k) for k in ADDRESS]).where(
        (Patient.id == patient_id) & (Patient.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    return FamilyForm(household_name=row["family_name"], **{k: row[k] for k in ADDRESS})


async def household(actor: Actor, patient_id: int) -> dict:
    """The patient's family (None when in none) with its members, and the children they are guardian of.

    Every other patient shown by name is audited as shown; the patient's own page read is audited by its page."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    await ensure_in_clinic(actor, patient_id)
    family, members = None, []
    if (family_id := await _family_id(actor, patient_id)) is not None:
        family = await Family.select(Family.id, Family.name, *[getattr(Family, k) for k in ADDRESS]).where(
            Family.id == family_id).first()
        members = await Patient.raw(
            "SELECT m.id AS member_id, p.id, p.given_name, p.family_name, p.date_of_birth, p.address, p.postcode, "
            "p.city, p.country FROM family_member m JOIN patient p ON p.id = m.patient WHERE m.family = {} "
            "AND p.isolated_at IS NULL ORDER BY p.date_of_birth, p.id", family_id)
        for m in members:
            m["same_address"] = all(m[k] == family[k] for k in ADDRESS)
        family["billing"] = await _billing(actor, [m["id"] for m in members]) \
            if can(actor, Permission.HANDLE_PAYMENTS) else None
    children = await children_of(actor, patient_id)
    async with transaction():
        if family or children:  # what the block showed of the patient's own record
            await audit.record(actor, "family.viewed", patient_id=patient_id, object_type="family",
                               object_id=family["id"] if family else None)
        await audit.record_patients_shown(actor, "family.members_shown", sorted(
            {m["id"] for m in members if m["id"] != patient_id} | {c["id"] for c in children}))
    return {"family": family, "members": members, "guardian_of": children}


async def _billing(actor: Actor, member_ids: list[int]) -> dict | None:
    """The family account all members are billed to, if they share one (derived from billing, not stored)."""
    rows = await BillingMember.select(BillingMember.account).where(
        BillingMember.patient.is_in(member_ids or [0]) & (BillingMember.clinic == actor.clinic_id))
    accounts_of = {r["account"] for r in rows}
    if len(rows) != len(member_ids) or len(accounts_of) != 1:
        return None
    return await BillingAccount.select(BillingAccount.id, BillingAccount.name, BillingAccount.guarantor).where(
        (BillingAccount.id == accounts_of.pop()) & (BillingAccount.kind == "family")).first()


async def create_family(actor: Actor, patient_id: int, form: FamilyForm) -> int:
    """A new family with the patient as its first member."""
    require(actor, Permission.EDIT_DEMOGRAPHICS)
    await ensure_in_clinic(actor, patient_id)
    values = _clean(actor, form)
    async with transaction():
        if await _family_id(actor, patient_id) is not None:
            raise ValidationFailed({"household_name": gettext("This patient already belongs to a family.")})
        family = Family(clinic=actor.clinic_id, created_at=datetime.now(timezone.utc), **values)
        await family.save()
        await _join(actor, family.id, patient_id)
        await audit.record(actor, "family.created", patient_id=patient_id, object_type="family",
                           object_id=family.id)
    return family.id


async def _join(actor: Actor, family_id: int, patient_id: int) -> None:
    joined = await FamilyMember.raw(
        "INSERT INTO family_member (clinic, family, patient) VALUES ({}, {}, {}) ON CONFLICT (patient) DO NOTHING "
        "RETURNING id", actor.clinic_id, family_id, patient_id)
    if not joined:
        raise ValidationFailed({"member_patient": gettext("This patient already belongs to a family.")})
    await audit.record(actor, "family.member_added", patient_id=patient_id, object_type="family",
                       object_id=family_id)


async def update_family(actor: Actor, patient_id: int, form: FamilyForm) -> None:
    """Rename the family or change its address (members keep theirs until the address is applied)."""
    require(actor, Permission.EDIT_DEMOGRAPHICS)
    family_id = await _own_family(actor, patient_id)
    values = _clean(actor, form)
    async with transaction():
        await Family.update({getattr(Family, k): v for k, v in values.items()}).where(Family.id == family_id)
        await audit.record(actor, "family.updated", patient_id=patient_id, object_type="family", object_id=family_id)


async def add_member(actor: Actor, patient_id: int, form: MemberForm) -> int:
    """Add a patient of this clinic to the family of `patient_id`; returns the new member's patient id."""
    require(actor, Permission.EDIT_DEMOGRAPHICS)
    family_id = await _own_family(actor, patient_id)
    chosen = whole_number(form.member_patient or "")
    if chosen is None:
        raise ValidationFailed({"member_patient": gettext("Search for the patient and choose them from the list.")})
    if await in_clinic(actor, chosen) is None:
        raise ValidationFailed({"member_patient": gettext("No patient with that number in this clinic.")})
    async with transaction():
        await _join(actor, family_id, chosen)
    return chosen


async def remove_member(actor: Actor, patient_id: int, member_id: int) -> None:
    """Take one member out of the family; the family goes (with its address) when its last member leaves."""
    require(actor, Permission.EDIT_DEMOGRAPHICS)
    family_id = await _own_family(actor, patient_id)
    async with transaction():
        removed = await FamilyMember.delete().where(
            (FamilyMember.id == member_id) & (FamilyMember.family == family_id)
            & (FamilyMember.clinic == actor.clinic_id)).returning(FamilyMember.patient)
        if not removed:
            raise NotFound()
        await audit.record(actor, "family.member_removed", patient_id=removed[0]["patient"], object_type="family",
                           object_id=family_id)
        if not await FamilyMember.exists().where(FamilyMember.family == family_id):
            await Family.delete().where(Family.id == family_id)


async def apply_address(actor: Actor, patient_id: int) -> int:
    """Write the family's address to every member whose own address differs; returns how many changed."""
    require(actor, Permission.EDIT_DEMOGRAPHICS)
    family_id = await _own_family(actor, patient_id)
    async with transaction():
        family = (await Family.raw(f"SELECT {', '.join(ADDRESS)} FROM family WHERE id = {{}} FOR UPDATE",
                                   family_id))[0]
        if not any(family[k] for k in ("address", "postcode", "city")):  # never blank the members' addresses
            raise ValidationFailed({"form": gettext("Give the family an address first.")})
        members = await Patient.raw(
            f"SELECT p.id, {', '.join('p.' + k for k in ADDRESS)} FROM family_member m JOIN patient p "
            "ON p.id = m.patient WHERE m.family = {} AND p.isolated_at IS NULL ORDER BY p.id FOR UPDATE OF p",
            family_id)
        changed = 0
        for member in members:
            fields = sorted(k for k in ADDRESS if member[k] != family[k])
            if not fields:
                continue
            await Patient.update({**{getattr(Patient, k): family[k] for k in ADDRESS},
                                  Patient.updated_at: datetime.now(timezone.utc)}).where(Patient.id == member["id"])
            await audit.record(actor, "family.address_applied", patient_id=member["id"], object_type="patient",
                               object_id=member["id"], detail={"family": family_id, "changed": fields})
            changed += 1
    return changed


async def bill_together(actor: Actor, patient_id: int, form: BillingForm) -> list[str]:
    """Bill every member to the guarantor's account (billing's share_account, one member at a time); returns the
    members that could not move, each with billing's reason (e.g. an unsettled balance)."""
    require(actor, Permission.HANDLE_PAYMENTS)
    family_id = await _own_family(actor, patient_id)
    members = await FamilyMember.select(FamilyMember.patient, FamilyMember.patient.given_name,
                                        FamilyMember.patient.family_name).where(FamilyMember.family == family_id)
    guarantor = whole_number(form.guarantor or "")
    if guarantor not in {m["patient"] for m in members}:
        raise ValidationFailed({"guarantor": gettext("Choose the member who pays.")})
    refused = []
    target = await accounts.account_id_of(actor.clinic_id, guarantor)
    for member in members:
        if member["patient"] == guarantor or await accounts.account_id_of(actor.clinic_id, member["patient"]) == target:
            continue
        try:
            await accounts.share_account(actor, member["patient"], guarantor)
        except ValidationFailed as exc:
            refused.append(f'{member["patient.given_name"]} {member["patient.family_name"]}: '
                           f'{exc.errors.get("guarantor", "")}')
    return refused
