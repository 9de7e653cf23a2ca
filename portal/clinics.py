"""Clinics: creating one (with its first owner) and reading its settings."""

from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from portal import audit, auth
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.forms import collect, email_problem, required
from portal.permissions import Actor, Role
from portal.tables import Clinic, Staff


@dataclass(frozen=True)
class NewClinic:
    name: str
    country: str
    time_zone: str
    contact_email: str
    privacy_email: str
    address: str = ""
    locale: str = "en"


@dataclass(frozen=True)
class NewOwner:
    name: str
    email: str
    password: str


def _time_zone_problem(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "Choose a time zone such as Europe/Amsterdam."
    return None if name in available_timezones() else "Choose a time zone such as Europe/Amsterdam."


async def create_clinic_with_owner(clinic: NewClinic, owner: NewOwner) -> Actor:
    """Make a clinic and its owner in one transaction (used by `portal create-owner` and the demo)."""
    errors = collect(
        name=required(clinic.name, "Clinic name"),
        country=None if len(clinic.country.strip()) == 2 and clinic.country.isalpha()
        else "Use a 2-letter country code.",
        time_zone=_time_zone_problem(clinic.time_zone),
        contact_email=email_problem(clinic.contact_email),
        privacy_email=email_problem(clinic.privacy_email),
        owner_name=required(owner.name, "Owner name"),
        owner_email=email_problem(owner.email),
        password=None if len(owner.password) >= auth.MIN_PASSWORD_LENGTH
        else f"Use at least {auth.MIN_PASSWORD_LENGTH} characters.",
    )
    if not errors and await Staff.exists().where(Staff.email == owner.email.strip().lower()):
        errors["owner_email"] = "A staff account with this email already exists."
    if errors:
        raise ValidationFailed(errors)
    now = datetime.now(timezone.utc)
    async with transaction():
        row = Clinic(name=clinic.name.strip(), address=clinic.address.strip(), country=clinic.country.upper(),
                     time_zone=clinic.time_zone, contact_email=clinic.contact_email.strip().lower(),
                     privacy_email=clinic.privacy_email.strip().lower(), locale=clinic.locale, created_at=now)
        await row.save()
        staff = Staff(clinic=row.id, name=owner.name.strip(), email=owner.email.strip().lower(),
                      password_hash=auth.hash_password(owner.password), role=Role.OWNER.value, active=True,
                      created_at=now)
        await staff.save()
        actor = Actor(kind="staff", id=staff.id, clinic_id=row.id, name=staff.name, role=Role.OWNER,
                      clinic_name=row.name, time_zone=row.time_zone, country=row.country)
        await audit.record(actor, "clinic.created", object_type="clinic", object_id=row.id)
    return actor
