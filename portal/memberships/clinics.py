"""A person's memberships: which clinics an identity may act in, and switching between them.

A staff row is a membership (clinic, role, name as that clinic knows them). The row a person signs in with is their
identity (`person` is None); rows in other clinics point at it and count once the person accepted the invitation.
The session carries the active membership's id as `staff_id`, so the signed-in floor stays one statement and a
session from before memberships is simply a session in the identity's own clinic.
"""

from datetime import datetime, timezone

from portal import audit
from portal.db import transaction
from portal.errors import NotFound
from portal.permissions import Actor
from portal.tables import Staff


async def identity_of(staff_id: int) -> int:
    """The identity behind a membership (itself for an identity row)."""
    row = await Staff.select(Staff.person).where(Staff.id == staff_id).first()
    return (row["person"] or staff_id) if row else staff_id


async def memberships(identity_id: int) -> list[dict]:
    """Where this person may act: their own clinic and every accepted, active membership elsewhere."""
    return await Staff.select(Staff.id, Staff.role, Staff.clinic.id.as_alias("clinic_id"),
                              Staff.clinic.name.as_alias("clinic_name")).where(
        ((Staff.id == identity_id) | ((Staff.person == identity_id) & Staff.joined_at.is_not_null()))
        & (Staff.active == True) & Staff.erased_at.is_null()  # noqa: E712
    ).order_by(Staff.clinic.name)


async def join(staff_id: int) -> None:
    """The person accepted an owner's invitation (the link's token proved the address): the membership counts."""
    async with transaction():
        row = await Staff.select(Staff.clinic, Staff.person).where(Staff.id == staff_id).first()
        await Staff.update({Staff.joined_at: datetime.now(timezone.utc)}).where(
            (Staff.id == staff_id) & Staff.person.is_not_null() & Staff.joined_at.is_null())
        await audit.record(None, "staff.membership_joined", clinic_id=row["clinic"], object_type="staff",
                           object_id=staff_id, detail={"identity": row["person"]})


async def switch(actor: Actor, identity_id: int, staff_id: int) -> dict:
    """Check that the target is one of this person's memberships; audited in both clinics. NotFound otherwise."""
    target = next((m for m in await memberships(identity_id) if m["id"] == staff_id), None)
    if target is None:
        raise NotFound()
    async with transaction():
        await audit.record(actor, "auth.clinic_left", object_type="staff", object_id=actor.id,
                           detail={"to_clinic": target["clinic_id"]})
        await audit.record(None, "auth.clinic_switched", clinic_id=target["clinic_id"], object_type="staff",
                           object_id=staff_id, detail={"from_clinic": actor.clinic_id})
    return target
