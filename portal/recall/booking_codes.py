"""Online booking without a link: a one-time code for existing patients (email or mobile plus date of birth) and for
new patients (name, contact, date of birth), who then become a record marked "booked online" for the desk to review.

The request answers the same, and does the same work, whoever asks: it stores the details typed and queues
`send_code`; the worker matches the patient, issues the code (an HMAC of the code is stored, never the code) and
sends it, so neither the answer nor its timing says whether anyone matched. A code lives `CODE_MINUTES` and
allows `CODE_ATTEMPTS` tries; a right code opens the clinic's booking page for the patient through a short-lived
signed link (portal/recall/booking.py), so booking itself has one path. Rate limits: portal/recall/booking_limits.py.
"""

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from portal import audit, display, job_queue, patient_fields
from portal.contacts import changes as contact_changes
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.i18n import _, lazy_gettext
from portal.messaging import mail, outbox
from portal.permissions import Actor, Permission, require
from portal.recall import booking, booking_limits
from portal.settings import Settings
from portal.tables import BookingCode, Clinic, OnlinePatient, Patient

CODE_MINUTES = 10
CODE_ATTEMPTS = 5
ONLINE_NAME = "Patient (online)"
REVIEW_LIMIT = 200
display.register_labels("booking_code_kind", {"known": lazy_gettext("Existing patient"),
                                              "new": lazy_gettext("New patient")})


@dataclass(frozen=True)
class KnownForm:
    contact: str = ""  # email address or mobile number
    date_of_birth: str = ""


@dataclass(frozen=True)
class NewForm:
    given_name: str = ""
    family_name: str = ""
    email: str = ""
    phone_mobile: str = ""
    date_of_birth: str = ""
    preferred_language: str = ""


@dataclass(frozen=True)
class CodeForm:
    code: str = ""


def _details(row: dict) -> dict:
    """The JSON details as a dict (a raw query hands them over as text)."""
    value = row["details"] or {}
    return json.loads(value) if isinstance(value, str) else value


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def code_hash(secret: str, code_id: int, code: str) -> str:
    return hmac.new(secret.encode(), f"booking-code:{code_id}:{code}".encode(), hashlib.sha256).hexdigest()


async def open_clinic(clinic_id: int) -> dict:
    """The clinic's public booking page: NotFound unless the owner has switched online booking on."""
    clinic = await Clinic.select(Clinic.id, Clinic.name, Clinic.country, Clinic.locale, Clinic.time_zone).where(
        Clinic.id == clinic_id).first()
    if clinic is None or not (await booking.booking_settings(clinic_id))["enabled"]:
        raise NotFound()
    return clinic


def _clean(clean, raw: str, field: str, errors: dict):
    try:
        return clean(raw)
    except patient_fields.FieldProblem as problem:
        errors[field] = problem.message
        return None


async def _store(clinic: dict, kind: str, channel: str, address: str, born, details: dict, client: str,
                 settings: Settings) -> str:
    """Count the try, store the request and queue the code; the reference for the code page."""
    await booking_limits.count(booking_limits.CODE_REQUEST, settings, client, address, clinic["id"])
    ref = secrets.token_urlsafe(24)
    now = datetime.now(timezone.utc)
    async with transaction():
        row = BookingCode(clinic=clinic["id"], kind=kind, ref_hash=digest(ref), channel=channel, address=address,
                          date_of_birth=born, details=details, expires_at=now + timedelta(minutes=CODE_MINUTES),
                          created_at=now)
        await row.save()
        await audit.record(None, "booking.code_requested", clinic_id=clinic["id"], object_type="booking_code",
                           object_id=row.id, detail={"kind": kind})
        await job_queue.defer("booking.send_code", code_id=row.id, clinic_id=clinic["id"])
    return ref


async def request_known(clinic: dict, form: KnownForm, client: str, settings: Settings) -> str:
    """An existing patient asks for a code by email or mobile number and date of birth (one answer for all)."""
    errors: dict[str, str] = {}
    contact = form.contact.strip()
    if not contact:
        errors["contact"] = _("Enter your email address or mobile number.")
        channel, address = "email", ""
    elif "@" in contact:
        channel, address = "email", _clean(patient_fields.email, contact, "contact", errors)
    else:
        channel = "sms"
        address = _clean(lambda raw: patient_fields.phone(raw, clinic["country"]), contact, "contact", errors)
    born = _clean(patient_fields.birth_date, form.date_of_birth, "date_of_birth", errors)
    if errors:
        raise ValidationFailed(errors)
    return await _store(clinic, "known", channel, address, born, {}, client, settings)


async def request_new(clinic: dict, form: NewForm, client: str, settings: Settings) -> str:
    """A new patient gives name, email, mobile (optional) and date of birth; the code goes to the email."""
    errors: dict[str, str] = {}
    fields = patient_fields.FIELDS
    given = _clean(lambda raw: fields["given_name"].clean(raw, clinic["country"]), form.given_name, "given_name",
                   errors)
    family = _clean(lambda raw: fields["family_name"].clean(raw, clinic["country"]), form.family_name,
                    "family_name", errors)
    email = _clean(patient_fields.email, form.email, "email", errors)
    if not form.email.strip():
        errors["email"] = _("Enter your email address: the code goes there.")
    phone = _clean(lambda raw: patient_fields.phone(raw, clinic["country"]), form.phone_mobile, "phone_mobile",
                   errors)
    born = _clean(patient_fields.birth_date, form.date_of_birth, "date_of_birth", errors)
    language = form.preferred_language if form.preferred_language in patient_fields.LANGUAGES else clinic["locale"]
    if errors:
        raise ValidationFailed(errors)
    details = {"given_name": given, "family_name": family, "phone_mobile": phone or "",
               "preferred_language": language}
    return await _store(clinic, "new", "email", email, born, details, client, settings)


_MATCH = {channel: "SELECT id, given_name, preferred_language FROM patient WHERE clinic = {} AND date_of_birth = {} "
          f"AND isolated_at IS NULL AND {column} = {{}} ORDER BY id LIMIT 1"
          for channel, column in (("email", "lower(email)"), ("sms", "phone_mobile"))}


async def _match(clinic_id: int, channel: str, address: str, born) -> dict | None:
    """The patient with this confirmed address and date of birth (the columns hold confirmed addresses only)."""
    rows = await Patient.raw(_MATCH[channel], clinic_id, born, address)
    return rows[0] if rows else None


async def send_code(settings: Settings, code_id: int) -> bool:
    """For the worker, once per request: match, issue and send the code; True when a code went out."""
    async with transaction():
        rows = await BookingCode.raw(
            "UPDATE booking_code SET issued_at = now() WHERE id = {} AND issued_at IS NULL AND expires_at > now() "
            "RETURNING id, clinic, kind, channel, address, date_of_birth, details", code_id)
        if not rows:
            return False
        row = rows[0]
        clinic = await Clinic.select().where(Clinic.id == row["clinic"]).first()
        language = _details(row).get("preferred_language") if row["kind"] == "new" else None
        if row["kind"] == "known":
            patient = await _match(row["clinic"], row["channel"], row["address"], row["date_of_birth"])
            if patient is None:  # nobody to send to; the page still waits for a code that will never be right
                return False
            language = patient["preferred_language"]
            await BookingCode.update({BookingCode.patient: patient["id"]}).where(BookingCode.id == code_id)
        code = f"{secrets.randbelow(1_000_000):06d}"
        await BookingCode.update({BookingCode.code_hash: code_hash(settings.secret_key, code_id, code)}).where(
            BookingCode.id == code_id)
        kind = "booking_code" if row["channel"] == "email" else "booking_code_text"
        rendered = mail.render(kind, language, clinic_language=clinic["locale"], region=clinic["country"],
                               clinic_name=clinic["name"], code=code, minutes=CODE_MINUTES)
        await outbox.enqueue(outbox.Email(to=row["address"], subject=rendered.subject,
                                          text=rendered.text.strip() if row["channel"] == "sms" else rendered.text),
                             key=f"booking-code:{code_id}", clinic_id=row["clinic"], channel=row["channel"],
                             forget_after_sending=True)
        await audit.record(None, "booking.code_sent", clinic_id=row["clinic"], object_type="booking_code",
                           object_id=code_id, detail={"channel": row["channel"]})
    return True


async def waiting(clinic_id: int, ref: str) -> dict:
    """The code page: which kind of request (the answer never says whether anyone matched)."""
    row = await BookingCode.select(BookingCode.id, BookingCode.kind, BookingCode.channel).where(
        (BookingCode.ref_hash == digest(ref[:100])) & (BookingCode.clinic == clinic_id)).first()
    if row is None:
        raise NotFound()
    return row


def wrong_code() -> ValidationFailed:
    return ValidationFailed({"code": _("That code is not right, or it has expired. Check it, or ask for a new one.")})


async def redeem(clinic: dict, ref: str, form: CodeForm, client: str, settings: Settings) -> int:
    """A right code, once, before it expires and within its tries: the patient (a new one is made now)."""
    await booking_limits.count(booking_limits.CODE_ENTRY, settings, client, "ref:" + ref[:100], clinic["id"])
    code = "".join(ch for ch in form.code if ch.isdigit())[:12]
    async with transaction():
        rows = await BookingCode.raw(
            "SELECT * FROM booking_code WHERE ref_hash = {} AND clinic = {} FOR UPDATE", digest(ref[:100]),
            clinic["id"])
        row = rows[0] if rows else None
        usable = (row is not None and row["used_at"] is None and row["code_hash"] is not None
                  and row["expires_at"] > datetime.now(timezone.utc) and row["attempts"] < CODE_ATTEMPTS)
        if not usable or not hmac.compare_digest(row["code_hash"], code_hash(settings.secret_key, row["id"], code)):
            if row is not None:
                await BookingCode.update({BookingCode.attempts: BookingCode.attempts + 1}).where(
                    BookingCode.id == row["id"])
            await audit.record(None, "booking.code_refused", clinic_id=clinic["id"], object_type="booking_code",
                               object_id=row["id"] if row else None)
            failed = True
        else:
            failed = False
            await BookingCode.update({BookingCode.used_at: datetime.now(timezone.utc)}).where(
                BookingCode.id == row["id"])
            patient_id = row["patient"] if row["kind"] == "known" else await _new_patient(clinic, row)
            await audit.record(None, "booking.code_used", clinic_id=clinic["id"], patient_id=patient_id,
                               object_type="booking_code", object_id=row["id"])
    if failed:
        raise wrong_code()
    return patient_id


async def _new_patient(clinic: dict, row: dict) -> int:
    """The record of someone who proved their email address with the code: an existing patient with this address
    and date of birth is that patient; otherwise a new record, marked for the front desk's review."""
    if existing := await _match(clinic["id"], "email", row["address"], row["date_of_birth"]):
        await BookingCode.update({BookingCode.patient: existing["id"]}).where(BookingCode.id == row["id"])
        return existing["id"]
    details, now = _details(row), datetime.now(timezone.utc)
    patient = Patient(clinic=clinic["id"], given_name=details["given_name"], family_name=details["family_name"],
                      date_of_birth=row["date_of_birth"], preferred_language=details["preferred_language"],
                      created_at=now, updated_at=now)
    await patient.save()
    actor = Actor(kind="patient", id=patient.id, clinic_id=clinic["id"], name=ONLINE_NAME,
                  clinic_name=clinic["name"], time_zone=clinic["time_zone"], country=clinic["country"],
                  patient_id=patient.id, language=details["preferred_language"])
    await OnlinePatient.insert(OnlinePatient(patient=patient.id, clinic=clinic["id"], created_at=now))
    await BookingCode.update({BookingCode.patient: patient.id}).where(BookingCode.id == row["id"])
    await audit.record(actor, "patient.created", patient_id=patient.id, object_type="patient", object_id=patient.id,
                       detail={"by": "online booking"})
    holder = contact_changes.Holder(patient.id)
    await contact_changes.propose(actor, clinic["id"], holder, "email", row["address"], "online_booking")
    await contact_changes.confirm_proven(actor, clinic["id"], patient.id, "email", row["address"], "booking_code")
    if details.get("phone_mobile"):  # not proven by this code: it waits for its holder like any new number
        await contact_changes.propose(actor, clinic["id"], holder, "phone", details["phone_mobile"], "online_booking")
    return patient.id


# --- The front desk's review -------------------------------------------------------------------------------------

async def to_review(actor: Actor) -> list[dict]:
    """Patients who made their record online and whom nobody at the desk has reviewed yet, oldest first."""
    require(actor, Permission.EDIT_DEMOGRAPHICS)
    rows = await OnlinePatient.select(
        OnlinePatient.patient, OnlinePatient.created_at, OnlinePatient.patient.given_name,
        OnlinePatient.patient.family_name, OnlinePatient.patient.date_of_birth, OnlinePatient.patient.email,
        OnlinePatient.patient.phone_mobile).where(
        (OnlinePatient.clinic == actor.clinic_id) & OnlinePatient.reviewed_at.is_null()
        & OnlinePatient.patient.isolated_at.is_null()).order_by(OnlinePatient.created_at).limit(REVIEW_LIMIT)
    await audit.record_patients_shown(actor, "booking.review_listed", [r["patient"] for r in rows])
    return rows


async def waiting_review(actor: Actor) -> int:
    """How many are waiting (the badge)."""
    return await OnlinePatient.count().where((OnlinePatient.clinic == actor.clinic_id)
                                             & OnlinePatient.reviewed_at.is_null()
                                             & OnlinePatient.patient.isolated_at.is_null())


async def mark_reviewed(actor: Actor, patient_id: int) -> None:
    require(actor, Permission.EDIT_DEMOGRAPHICS)
    async with transaction():
        done = await OnlinePatient.update({OnlinePatient.reviewed_at: datetime.now(timezone.utc),
                                           OnlinePatient.reviewed_by: actor.id,
                                           OnlinePatient.reviewed_by_name: actor.name}).where(
            (OnlinePatient.patient == patient_id) & (OnlinePatient.clinic == actor.clinic_id)
            & OnlinePatient.reviewed_at.is_null()).returning(OnlinePatient.patient)
        if not done:
            raise NotFound()
        await audit.record(actor, "booking.patient_reviewed", patient_id=patient_id, object_type="patient",
                           object_id=patient_id)


async def booked_online(actor: Actor, patient_id: int) -> dict | None:
    """The patient page's mark: when the record was made online and whether the desk has reviewed it."""
    return await OnlinePatient.select(OnlinePatient.created_at, OnlinePatient.reviewed_at,
                                      OnlinePatient.reviewed_by_name).where(
        (OnlinePatient.patient == patient_id) & (OnlinePatient.clinic == actor.clinic_id)).first()
