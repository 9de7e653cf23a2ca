"""Where a person's sign-in lives: moving an identity to another of their memberships when its own clinic lets go.

The identity row is also the person's membership in the clinic where their account began. When that clinic
deactivates or deletes them, their other clinics must not lose them: the identity (password, second factor,
remembered devices) moves to their oldest live membership, and the old row becomes a membership of it. Reactivating
the old row later simply brings that membership back; deleting it lets the worker erase that row alone.
"""

from datetime import datetime, timezone

from portal import audit, sessions
from portal.tables import Staff, StaffRecoveryCode, StaffToken, StaffTotp, StaffTrustedDevice, StaffTwoFactorReset

CREDENTIAL_TABLES = (StaffTotp, StaffRecoveryCode, StaffTrustedDevice, StaffTwoFactorReset)
NO_PASSWORD = ""  # as portal.staff.NO_PASSWORD: no password verifies against it


def live_memberships(identity_id: int):
    """Accepted, active, not deleted memberships of this identity in other clinics (a Piccolo where clause)."""
    return ((Staff.person == identity_id) & Staff.joined_at.is_not_null() & (Staff.active == True)  # noqa: E712
            & Staff.deletion_requested_at.is_null() & Staff.erased_at.is_null())


async def hand_over(staff_id: int) -> int | None:
    """Call in the caller's transaction after `staff_id` stopped being usable in its clinic. When it is an identity
    with a live membership elsewhere, that membership becomes the identity; returns its id (None: nothing moved)."""
    row = await Staff.select(Staff.id, Staff.clinic, Staff.person, Staff.password_hash).where(
        Staff.id == staff_id).first()
    if row is None or row["person"] is not None:
        return None
    heir = await Staff.select(Staff.id, Staff.clinic).where(live_memberships(staff_id)).order_by(Staff.id).first()
    if heir is None:
        return None  # their last membership: the identity stays here (and is erased with it when deleted)
    now = datetime.now(timezone.utc)
    # The old row steps aside first: the address is unique among identities.
    await Staff.update({Staff.person: heir["id"], Staff.password_hash: NO_PASSWORD, Staff.joined_at: now}).where(
        Staff.id == staff_id)
    await Staff.update({Staff.person: None, Staff.password_hash: row["password_hash"]}).where(
        Staff.id == heir["id"])
    await Staff.update({Staff.person: heir["id"]}).where(Staff.person == staff_id)
    for table in CREDENTIAL_TABLES:
        await table.update({table.staff: heir["id"]}).where(table.staff == staff_id)
    # Links mailed for the old row (a password reset) would set a password nobody signs in with any more.
    await StaffToken.update({StaffToken.used_at: now}).where(
        (StaffToken.staff == staff_id) & StaffToken.used_at.is_null()
        & StaffToken.purpose.is_in(["password_reset", "invitation"]))
    await sessions.end_sessions_of_staff(staff_id)
    # Told in the heir's clinic only: the clinic that let go must not learn where else the person works.
    await audit.record(None, "staff.identity_moved", clinic_id=heir["clinic"], object_type="staff",
                       object_id=heir["id"], detail={"from": staff_id})
    return heir["id"]


async def address_in_use(email: str) -> bool:
    """Whether a row that is not deleted still carries this address (its sign-in attempts and mail must stay)."""
    return await Staff.exists().where((Staff.email == email) & Staff.deletion_requested_at.is_null()
                                      & Staff.erased_at.is_null())
