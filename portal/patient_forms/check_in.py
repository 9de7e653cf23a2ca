"""Tablet check-in (kiosk): a staff member turns a tablet into a kiosk; a patient finds today's appointment by
family name and date of birth, confirms or changes their contact details, signs pending forms and is marked arrived.

A name and a date of birth prove little, so nothing typed on the kiosk is trusted: a new email, mobile number or
postal address goes through `contacts.changes.propose` and waits for its holder (link, code) or, for a postal
address, an in-person check at the desk.

The kiosk acts as the patient of the appointment found, never as staff: arriving goes through the calendar's one
status rule (`scheduling.set_status`) with a requester that may only set "arrived".
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from portal import audit, patient_fields
from portal.calendar import scheduling, statuses
from portal.calendar.statuses import Status
from portal.contacts import changes as contact_changes
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import parse_date
from portal.i18n import gettext as _
from portal.permissions import Actor, Permission, require
from portal.tables import Appointment, Clinic, ContactChange, Patient, SentForm

KIOSK = scheduling.Requester("Patient (kiosk)", None, (Status.ARRIVED,))
IDLE_SECONDS = 120  # a patient's check-in is cleared after this long without a tap
# Kiosk field -> (patient field whose rule cleans it, contact channel). Empty means "keep what you have".
CONTACT_FIELDS = {"email": ("email", "email"), "phone": ("phone_mobile", "phone"), "postal": ("address", "postal")}


@dataclass(frozen=True)
class ContactForm:
    email: str = ""
    phone: str = ""
    postal: str = ""


async def start(actor: Actor) -> int:
    """A staff member starts kiosk mode on this device; returns the clinic the kiosk serves."""
    require(actor, Permission.MANAGE_CALENDAR)
    await audit.record(actor, "kiosk.started", object_type="clinic", object_id=actor.clinic_id)
    return actor.clinic_id


async def find(clinic_id: int, family_name: str, born: str) -> dict:
    """Today's open appointment of the patient with this family name and date of birth (ValidationFailed if none,
    with the same words whether the name, the date or the appointment is wrong)."""
    errors = {}
    if not family_name.strip():
        errors["family_name"] = _("Type your family name.")
    birth = parse_date(born)
    if birth is None:
        errors["date_of_birth"] = _("Enter your date of birth, e.g. 1980-04-23.")
    if errors:
        raise ValidationFailed(errors)
    clinic = await Clinic.select(Clinic.time_zone).where(Clinic.id == clinic_id).first()
    zone = ZoneInfo(clinic["time_zone"])
    today = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = await Appointment.raw(
        "SELECT a.id AS appointment_id, a.starts_at, p.id AS patient_id, p.given_name FROM appointment a "
        "JOIN patient p ON p.id = a.patient WHERE a.clinic = {} AND p.clinic = {} AND p.isolated_at IS NULL "
        "AND fold_text(p.family_name) = fold_text({}) AND p.date_of_birth = {} AND a.starts_at >= {} "
        f"AND a.starts_at < {{}} AND a.status IN {statuses.sql_list(statuses.OPEN)} ORDER BY a.starts_at LIMIT 1",
        clinic_id, clinic_id, family_name.strip(), birth, today, today + timedelta(days=1))
    if not rows:
        raise ValidationFailed({"family_name": _("We could not find an appointment today for this name and date "
                                                 "of birth. Please ask at the desk.")})
    found = rows[0]
    await audit.record(None, "kiosk.found", patient_id=found["patient_id"], clinic_id=clinic_id,
                       object_type="appointment", object_id=found["appointment_id"])
    return found


def _masked(value: str) -> str:
    """Enough of an address or number to recognise it, not enough to learn it from a tablet in the waiting room."""
    if not value:
        return ""
    if "@" in value:
        name, _sep, domain = value.partition("@")
        return f"{name[:2]}…@{domain}"
    return f"…{value[-3:]}"


async def visit(clinic_id: int, patient_id: int) -> dict:
    """What the checked-in patient sees: their contact details (masked) and the forms waiting for a signature."""
    patient = await Patient.select(Patient.given_name, Patient.email, Patient.phone_mobile, Patient.address).where(
        (Patient.id == patient_id) & (Patient.clinic == clinic_id)).first()
    if patient is None:
        raise NotFound()
    pending = await SentForm.select(SentForm.id, SentForm.title).where(
        (SentForm.patient == patient_id) & (SentForm.clinic == clinic_id) & SentForm.submitted_at.is_null()
        & (SentForm.expires_at > datetime.now(timezone.utc))).order_by(SentForm.id)
    return {"given_name": patient["given_name"], "email": _masked(patient["email"]),
            "phone": _masked(patient["phone_mobile"]), "postal": _masked(patient["address"]), "pending": pending,
            "waiting": await ContactChange.select(ContactChange.channel).where(
                (ContactChange.clinic == clinic_id) & (ContactChange.patient == patient_id)
                & ContactChange.guardian.is_null() & (ContactChange.status == "pending")
                & (ContactChange.expires_at > datetime.now(timezone.utc))).output(as_list=True)}


async def _kiosk_actor(clinic_id: int, patient_id: int) -> Actor:
    """The kiosk acts as the patient it found (never as staff), in its clinic's zone: "today" is the clinic's."""
    clinic = await Clinic.select(Clinic.time_zone).where(Clinic.id == clinic_id).first()
    return Actor(kind="patient", id=patient_id, clinic_id=clinic_id, name=KIOSK.name, patient_id=patient_id,
                 time_zone=clinic["time_zone"])


async def change_contact(clinic_id: int, patient_id: int, form: ContactForm) -> list[str]:
    """New contact details typed on the kiosk, each proposed for confirmation by its holder (never written to the
    record from here); returns the channels proposed. Empty fields keep what is on file."""
    clinic = await Clinic.select(Clinic.country).where(Clinic.id == clinic_id).first()
    values, errors = {}, {}
    for name, (field, channel) in CONTACT_FIELDS.items():
        typed = getattr(form, name).strip()
        if not typed:
            continue
        try:
            values[channel] = patient_fields.clean_one(field, typed, clinic["country"])
        except patient_fields.FieldProblem as problem:
            errors[name] = problem.message
    if errors:
        raise ValidationFailed(errors)
    if not values:
        raise ValidationFailed({"email": _("Type what has changed, or tap \"I have arrived\" if all is right.")})
    actor = await _kiosk_actor(clinic_id, patient_id)
    proposed = []
    async with transaction():
        if not await Patient.exists().where((Patient.id == patient_id) & (Patient.clinic == clinic_id)
                                            & Patient.isolated_at.is_null()):
            raise NotFound()
        for channel, address in values.items():
            if await contact_changes.propose(actor, clinic_id, contact_changes.Holder(patient_id), channel, address,
                                             "kiosk"):
                proposed.append(channel)
    return proposed


async def form_link(clinic_id: int, patient_id: int, form_id: int) -> str:
    """A fresh secret for one of the patient's pending forms, so the kiosk opens it (the mailed link stops working:
    only one secret per form is valid)."""
    token = secrets.token_urlsafe(32)
    async with transaction():
        rows = await SentForm.update({SentForm.token_hash: hashlib.sha256(token.encode()).hexdigest()}).where(
            (SentForm.id == form_id) & (SentForm.patient == patient_id) & (SentForm.clinic == clinic_id)
            & SentForm.submitted_at.is_null()).returning(SentForm.id)
        if not rows:
            raise NotFound()
        await audit.record(None, "kiosk.form_opened", patient_id=patient_id, clinic_id=clinic_id,
                           object_type="patient_form", object_id=form_id)
    return token


async def arrive(clinic_id: int, patient_id: int, appointment_id: int) -> None:
    """Mark the appointment arrived, as its patient, through the calendar's one status rule."""
    actor = await _kiosk_actor(clinic_id, patient_id)
    await scheduling.set_status(actor, appointment_id, Status.ARRIVED.value, by=KIOSK)
