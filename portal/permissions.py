"""Who may do what: the acting Actor and the one table mapping each role to its permissions."""

from dataclasses import dataclass
from enum import StrEnum

from portal.errors import Forbidden


class Role(StrEnum):
    OWNER = "owner"
    DENTIST = "dentist"
    HYGIENIST = "hygienist"
    RECEPTIONIST = "receptionist"


class Permission(StrEnum):
    VIEW_DASHBOARD = "view_dashboard"
    READ_DEMOGRAPHICS = "read_demographics"
    EDIT_DEMOGRAPHICS = "edit_demographics"
    MANAGE_CALENDAR = "manage_calendar"
    READ_CLINICAL = "read_clinical"
    WRITE_CLINICAL = "write_clinical"
    READ_IMAGES = "read_images"
    MANAGE_STAFF = "manage_staff"
    MANAGE_CLINIC = "manage_clinic"
    VIEW_AUDIT = "view_audit"
    HANDLE_PRIVACY_REQUESTS = "handle_privacy_requests"
    ACCESS_RESTRICTED_RECORDS = "access_restricted_records"
    HANDLE_PAYMENTS = "handle_payments"  # see the patient account, take payments, issue and print invoices
    ADJUST_LEDGER = "adjust_ledger"  # adjustments, write-offs, credit notes, refunds (the owner only)
    VIEW_REPORTS = "view_reports"  # the practice's money reports (the owner only)


_FRONT_DESK = {
    Permission.VIEW_DASHBOARD,
    Permission.READ_DEMOGRAPHICS,
    Permission.EDIT_DEMOGRAPHICS,
    Permission.MANAGE_CALENDAR,
    Permission.HANDLE_PAYMENTS,
}
_CLINICAL = _FRONT_DESK | {Permission.READ_CLINICAL, Permission.WRITE_CLINICAL, Permission.READ_IMAGES}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.DENTIST: frozenset(_CLINICAL),
    Role.HYGIENIST: frozenset(_CLINICAL),
    Role.RECEPTIONIST: frozenset(_FRONT_DESK | {Permission.HANDLE_PRIVACY_REQUESTS}),
}


@dataclass(frozen=True)
class Actor:
    """Whoever is acting: a staff member (with a role) or, later, a patient in the privacy centre."""

    kind: str  # "staff" | "patient"
    id: int
    clinic_id: int
    name: str
    role: Role | None = None
    clinic_name: str = ""
    time_zone: str = "UTC"
    country: str = "GB"
    patient_id: int | None = None  # privacy centre: the patient whose data a patient or guardian session shows
    language: str = "en"  # the language this person reads (portal/i18n.py chose it)
    setup_version: int = 0  # the clinic's set-up as read with the session; 0 = not read (nothing kept)

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"


def can(actor: Actor | None, permission: Permission) -> bool:
    if actor is None or not actor.is_staff or actor.role is None:
        return False
    return permission in ROLE_PERMISSIONS[actor.role]


def require(actor: Actor, permission: Permission) -> None:
    """Raise Forbidden unless the actor's role grants `permission`."""
    if not can(actor, permission):
        raise Forbidden(permission.value)
