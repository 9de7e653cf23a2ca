"""Taking a second factor back: the owner resets a member's (a lost phone) or forgets their remembered devices, and
anyone forgets their own remembered devices (a lost laptop). Each is audited and ends what it must at once."""

from datetime import datetime, timezone

from portal import audit, sessions
from portal.db import transaction
from portal.errors import NotFound
from portal.memberships import clinics
from portal.permissions import Actor, Permission, require
from portal.tables import Staff, StaffRecoveryCode, StaffTotp, StaffTrustedDevice, StaffTwoFactorReset


async def _member(actor: Actor, staff_id: int) -> None:
    """Owners act on members of their own clinic only (a foreign id is missing, not forbidden)."""
    require(actor, Permission.MANAGE_STAFF)
    if not await Staff.exists().where((Staff.id == staff_id) & (Staff.clinic == actor.clinic_id)):
        raise NotFound()


async def status(actor: Actor, staff_id: int) -> dict:
    """What the staff page shows about a member's second factor."""
    await _member(actor, staff_id)
    enrolled = await StaffTotp.exists().where((StaffTotp.staff == staff_id) & StaffTotp.confirmed_at.is_not_null())
    devices = await StaffTrustedDevice.count().where(
        (StaffTrustedDevice.staff == staff_id) & (StaffTrustedDevice.expires_at > datetime.now(timezone.utc)))
    pending = await StaffTwoFactorReset.exists().where(StaffTwoFactorReset.staff == staff_id)
    return {"enrolled": enrolled, "devices": devices, "reset_pending": pending}


async def reset(actor: Actor, staff_id: int) -> None:
    """Forget the member's secret, recovery codes and remembered devices, end their sessions, and make them enrol
    again at their next sign-in (whatever their role requires)."""
    await _member(actor, staff_id)
    async with transaction():
        await StaffTotp.delete().where(StaffTotp.staff == staff_id)
        await StaffRecoveryCode.delete().where(StaffRecoveryCode.staff == staff_id)
        devices = await StaffTrustedDevice.delete().where(StaffTrustedDevice.staff == staff_id).returning(
            StaffTrustedDevice.id)
        await StaffTwoFactorReset.delete().where(StaffTwoFactorReset.staff == staff_id)
        await StaffTwoFactorReset.insert(StaffTwoFactorReset(staff=staff_id, reset_by=actor.id,
                                                             reset_at=datetime.now(timezone.utc)))
        ended = await sessions.end_sessions_of_staff(staff_id)
        await audit.record(actor, "staff.two_factor_reset", object_type="staff", object_id=staff_id,
                           detail={"devices": len(devices), "sessions": ended})


async def revoke_devices(actor: Actor, staff_id: int) -> int:
    """The owner forgets every device a member told us to remember: the code is asked there again."""
    await _member(actor, staff_id)
    async with transaction():
        devices = await StaffTrustedDevice.delete().where(StaffTrustedDevice.staff == staff_id).returning(
            StaffTrustedDevice.id)
        await audit.record(actor, "staff.devices_revoked", object_type="staff", object_id=staff_id,
                           detail={"devices": len(devices)})
    return len(devices)


async def revoke_own_devices(actor: Actor) -> int:
    """Anyone signed in forgets their own remembered devices (their identity's, whichever clinic they act in)."""
    identity = await clinics.identity_of(actor.id)
    async with transaction():
        devices = await StaffTrustedDevice.delete().where(StaffTrustedDevice.staff == identity).returning(
            StaffTrustedDevice.id)
        await audit.record(actor, "staff.devices_revoked", object_type="staff", object_id=identity,
                           detail={"devices": len(devices)})
    return len(devices)


async def own_devices(actor: Actor) -> int:
    return await StaffTrustedDevice.count().where(
        (StaffTrustedDevice.staff == await clinics.identity_of(actor.id))
        & (StaffTrustedDevice.expires_at > datetime.now(timezone.utc)))
