"""The categories of patient data that exist today; charts, notes, images and history register the same way."""

from portal import patient_fields
from portal.calendar.statuses import Status
from portal.i18n import lazy_gettext
from portal.privacy.registry import ID, MAYBE_DAY, WHEN, DataCategory, one_of, plain_rows, register
from portal.tables import (
    Appointment,
    AuditEntry,
    ConsentEvent,
    Guardian,
    Patient,
    PrivacyRequest,
)

CARE = lazy_gettext("GDPR Art. 9(2)(h) (health care) and Art. 6(1)(c) (the legal duty to keep a treatment record)")
CONTRACT = lazy_gettext("GDPR Art. 6(1)(b) (the treatment agreement) and Art. 6(1)(c) (legal duties)")
DEMOGRAPHICS = "read_demographics"  # who may read a request's details about these categories (not the chart's)


async def allow_erasure(purpose: str = "erasure") -> None:
    """Let this transaction delete rows that are otherwise append-only (an approved erasure, the retention run).

    The grant comes from a SECURITY DEFINER function of the schema owner, recorded in `erasure_grant`; the
    application role cannot forge it (portal/db_roles.py). The settings remain for triggers not yet moved over.
    """
    await Patient.raw("SELECT chairside_allow_erasure({}), set_config('chairside.erasure', 'on', true), "
                      "set_config('chairside.audit_purge', 'on', true)", purpose)


IDENTITY_FIELDS = {"given_name": lazy_gettext("Given name"), "family_name": lazy_gettext("Family name"),
                   "date_of_birth": lazy_gettext("Date of birth (ISO 8601)"),
                   "gender": lazy_gettext("Gender as stated (female, male, other or empty)"),
                   "national_id": lazy_gettext("National ID number"),
                   "created_at": lazy_gettext("When the record was created")}


async def _identity(patient_id: int) -> list[dict]:
    rows = await Patient.select(*[getattr(Patient, f) for f in IDENTITY_FIELDS]).where(Patient.id == patient_id)
    return plain_rows(rows, IDENTITY_FIELDS)


async def _erase_identity(patient_id: int) -> int:
    """Last of all: remove the patient row and anything still hanging on it."""
    await allow_erasure()
    await Patient.raw("DELETE FROM patient_session WHERE patient_id = {}", patient_id)
    await Patient.raw("DELETE FROM data_export WHERE patient_id = {}", patient_id)
    await Patient.raw("DELETE FROM web_session WHERE patient_id = {}", patient_id)
    await Appointment.delete().where(Appointment.patient == patient_id)
    await ConsentEvent.delete().where(ConsentEvent.patient == patient_id)
    return len(await Patient.delete().where(Patient.id == patient_id).returning(Patient.id))


CONTACT_FIELDS = {"email": lazy_gettext("Email address"), "phone_mobile": lazy_gettext("Mobile phone (E.164)"),
                  "phone_other": lazy_gettext("Other phone (E.164)"),
                  "address": lazy_gettext("Street and number"), "postcode": lazy_gettext("Postcode"),
                  "city": lazy_gettext("City"), "country": lazy_gettext("Country (ISO 3166-1)"),
                  "preferred_language": lazy_gettext("Preferred language (ISO 639-1)")}


async def _contact(patient_id: int) -> list[dict]:
    rows = await Patient.select(*[getattr(Patient, f) for f in CONTACT_FIELDS]).where(Patient.id == patient_id)
    return plain_rows(rows, CONTACT_FIELDS)


async def _erase_contact(patient_id: int) -> int:
    rows = await Patient.update({Patient.email: "", Patient.phone_mobile: "", Patient.phone_other: "",
                                 Patient.address: "", Patient.postcode: "", Patient.city: "", Patient.country: "",
                                 Patient.preferred_language: "en"}).where(
        Patient.id == patient_id).returning(Patient.id)
    return len(rows)


GUARDIAN_FIELDS = {"name": lazy_gettext("Guardian's name"), "relationship": lazy_gettext("Relationship to the patient"),
                   "email": lazy_gettext("Guardian's email"),
                   "phone": lazy_gettext("Guardian's phone (E.164)"),
                   "preferred_language": lazy_gettext("Language the guardian reads"),
                   "created_at": lazy_gettext("When it was recorded")}


async def _guardians(patient_id: int) -> list[dict]:
    rows = await Guardian.select(*[getattr(Guardian, f) for f in GUARDIAN_FIELDS]).where(
        Guardian.patient == patient_id).order_by(Guardian.id)
    return plain_rows(rows, GUARDIAN_FIELDS)


async def _erase_guardians(patient_id: int) -> int:
    return len(await Guardian.delete().where(Guardian.patient == patient_id).returning(Guardian.id))


APPOINTMENT_FIELDS = {"id": lazy_gettext("Appointment id"), "starts_at": lazy_gettext("Start (UTC, ISO 8601)"),
                      "ends_at": lazy_gettext("End (UTC, ISO 8601)"), "status": lazy_gettext("Status"),
                      "type": lazy_gettext("Kind of appointment"), "provider": lazy_gettext("Dentist or hygienist"),
                      "notes": lazy_gettext("Booking notes"),
                      "cancel_reason": lazy_gettext("Why it was cancelled")}


async def _appointments(patient_id: int) -> list[dict]:
    rows = await Appointment.raw(
        "SELECT a.id, a.starts_at, a.ends_at, a.status, t.name AS type, s.name AS provider, a.notes, a.cancel_reason "
        "FROM appointment a JOIN appointment_type t ON t.id = a.appointment_type JOIN staff s ON s.id = a.provider "
        "WHERE a.patient = {} ORDER BY a.starts_at", patient_id)
    return plain_rows(rows, APPOINTMENT_FIELDS)


async def _erase_appointments(patient_id: int) -> int:
    return len(await Appointment.delete().where(Appointment.patient == patient_id).returning(Appointment.id))


CONSENT_FIELDS = {"at": lazy_gettext("When (UTC)"), "kind": lazy_gettext("What the consent is for"),
                  "granted": lazy_gettext("Given (true) or withdrawn (false)"),
                  "previous": lazy_gettext("The answer before"),
                  "actor_kind": lazy_gettext("Who changed it (patient, guardian, staff, unsubscribe)"),
                  "actor_name": lazy_gettext("Their name"), "source": lazy_gettext("Where the change came from"),
                  "notice_version": lazy_gettext("Privacy notice version in force")}


async def _consents(patient_id: int) -> list[dict]:
    rows = await ConsentEvent.select().where(ConsentEvent.patient == patient_id).order_by(ConsentEvent.id)
    return plain_rows(rows, CONSENT_FIELDS)


async def _erase_consents(patient_id: int) -> int:
    await allow_erasure()
    return len(await ConsentEvent.delete().where(ConsentEvent.patient == patient_id).returning(ConsentEvent.id))


MESSAGE_FIELDS = {"created_at": lazy_gettext("When it was written"), "channel": lazy_gettext("email, sms or whatsapp"),
                  "recipient": lazy_gettext("Sent to"),
                  "subject": lazy_gettext("Subject"), "text_body": lazy_gettext("Text"),
                  "status": lazy_gettext("queued, sent or dead"),
                  "sent_at": lazy_gettext("When it was sent")}


async def _messages(patient_id: int) -> list[dict]:
    """Every message to the patient: by their id, and to their addresses (sign-in links, request answers)."""
    from portal.privacy import traces

    return plain_rows(await traces.messages_to(patient_id), MESSAGE_FIELDS)


async def _erase_messages(patient_id: int) -> int:
    from portal.privacy import traces

    return await traces.erase_messages(patient_id)


REQUEST_FIELDS = {"id": lazy_gettext("Request number"),
                  "kind": lazy_gettext("access, correction, erasure, restriction, objection or inquiry"),
                  "status": lazy_gettext("Status"), "received_at": lazy_gettext("Received (UTC)"),
                  "due_at": lazy_gettext("Answer due by (UTC)"),
                  "filed_by_kind": lazy_gettext("Who asked"), "details": lazy_gettext("What was asked (JSON text)"),
                  "decision_reason": lazy_gettext("The clinic's answer or reason"),
                  "decided_at": lazy_gettext("When it was decided"),
                  "target": lazy_gettext("The record a correction concerns (kind/id, e.g. appointment/12 or tooth/36)")}


async def _requests(patient_id: int) -> list[dict]:
    import json

    rows = await PrivacyRequest.select().where(PrivacyRequest.patient_id == patient_id).order_by(
        PrivacyRequest.id).output(load_json=True)
    for row in rows:
        row["details"] = json.dumps(row["details"], ensure_ascii=False)
        row["target"] = (row.get("target_kind") or None) and "/".join(
            str(part) for part in (row["target_kind"], row["target_id"]) if part is not None)
    return plain_rows(rows, REQUEST_FIELDS)


async def _erase_requests(patient_id: int) -> int:
    return len(await PrivacyRequest.delete().where(PrivacyRequest.patient_id == patient_id)
               .returning(PrivacyRequest.id))


ACCESS_FIELDS = {"at": lazy_gettext("When (UTC)"), "actor_name": lazy_gettext("Staff member"),
                 "role": lazy_gettext("Their role"),
                 "what": lazy_gettext("What they did, in words"),
                 "action": lazy_gettext("What they did (the audit code)")}
# Words for the audit codes a patient is most likely to see; other codes are shown as they are.
ACCESS_WORDS = {"patient.viewed": lazy_gettext("Opened your record"),
                "patient.opened_for_edit": lazy_gettext("Opened your record to edit it"),
                "patient.updated": lazy_gettext("Changed your details"),
                "patient.created": lazy_gettext("Registered you"),
                "patient.listed": lazy_gettext("Saw your name in the patient list"),
                "patient.searched": lazy_gettext("Found you in a search"),
                "calendar.day_viewed": lazy_gettext("Saw your appointment (day view)"),
                "calendar.week_viewed": lazy_gettext("Saw your appointment (week view)"),
                "appointment.viewed": lazy_gettext("Opened your appointment"),
                "appointment.booked": lazy_gettext("Booked an appointment"),
                "appointment.moved": lazy_gettext("Moved an appointment"),
                "appointment.cancelled": lazy_gettext("Cancelled an appointment"),
                "guardian.added": lazy_gettext("Added a guardian"),
                "consent_changed": lazy_gettext("Recorded a consent change"),
                "privacy.request_viewed": lazy_gettext("Read your privacy request"),
                "privacy.isolated_opened": lazy_gettext("Opened your restricted record (reason recorded)"),
                "tooth_chart.viewed": lazy_gettext("Saw your tooth chart"),
                "clinical_notes.viewed": lazy_gettext("Read your clinical notes"),
                "treatment_plans.listed": lazy_gettext("Saw the list of your treatment plans"),
                "image.listed": lazy_gettext("Saw the list of your X-rays and photos")}


async def _access_log(patient_id: int) -> list[dict]:
    rows = await AuditEntry.raw(
        "SELECT a.at, a.actor_name, coalesce(s.role, '') AS role, a.action FROM audit_entry a "
        "LEFT JOIN staff s ON s.id = a.actor_id WHERE a.patient_id = {} AND a.actor_kind = 'staff' "
        "ORDER BY a.id DESC", patient_id)
    for row in rows:
        row["what"] = str(ACCESS_WORDS.get(row["action"], row["action"].replace("_", " ").replace(".", ": ")))
    return plain_rows(rows, ACCESS_FIELDS)


async def _erase_access_log(patient_id: int) -> int:
    await allow_erasure()
    return len(await AuditEntry.delete().where(AuditEntry.patient_id == patient_id).returning(AuditEntry.id))


register(DataCategory(
    read_permission=DEMOGRAPHICS,
    name="identity", title=lazy_gettext("Identity"), order=90, retention="clinical", basis="end_of_treatment",
    purpose=lazy_gettext("To know who the patient is and keep the treatment record with the right person."),
    legal_basis=CARE,
    recipients=("hosting",), fields=IDENTITY_FIELDS, collect=_identity, erase=_erase_identity,
    types={"date_of_birth": MAYBE_DAY, "gender": one_of(patient_fields.GENDERS), "created_at": WHEN},
    correctable=patient_fields.labels(("given_name", "family_name", "date_of_birth", "gender", "national_id"))))
register(DataCategory(
    read_permission=DEMOGRAPHICS,
    name="contact", title=lazy_gettext("Contact details"), order=10, retention="administrative", basis="on_request",
    purpose=lazy_gettext("To get in touch about appointments and care."), legal_basis=CONTRACT,
    recipients=("hosting", "mail", "sms"), fields=CONTACT_FIELDS, collect=_contact, erase=_erase_contact,
    correctable=patient_fields.labels(("email", "phone_mobile", "phone_other", "address", "postcode", "city",
                                       "country", "preferred_language"))))
register(DataCategory(
    read_permission=DEMOGRAPHICS,
    name="guardians", title=lazy_gettext("Parents and guardians"), order=15, retention="administrative",
    basis="on_request",
    purpose=lazy_gettext("To know who may decide for a child."),
    legal_basis=lazy_gettext("GDPR Art. 6(1)(c) and Art. 8 (consent for children)"),
    recipients=("hosting",), fields=GUARDIAN_FIELDS, collect=_guardians, erase=_erase_guardians))
register(DataCategory(
    read_permission=DEMOGRAPHICS,
    name="appointments", title=lazy_gettext("Appointments"), order=20, retention="clinical", basis="end_of_treatment",
    purpose=lazy_gettext("To plan visits; the visits are part of the treatment record."), legal_basis=CARE,
    recipients=("hosting",), fields=APPOINTMENT_FIELDS, collect=_appointments, erase=_erase_appointments,
    types={"id": ID, "starts_at": WHEN, "ends_at": WHEN, "status": one_of(Status)}))
register(DataCategory(
    read_permission=DEMOGRAPHICS,
    name="consents", title=lazy_gettext("Consents"), order=70, retention="administrative", basis="on_request",
    purpose=lazy_gettext("To remember what was agreed to, and prove it."),
    legal_basis=lazy_gettext("GDPR Art. 6(1)(a) consent and Art. 7(1)"),
    recipients=("hosting",), fields=CONSENT_FIELDS, collect=_consents, erase=_erase_consents))
register(DataCategory(
    read_permission=DEMOGRAPHICS,
    name="messages", title=lazy_gettext("Messages sent to you"), order=75, retention="administrative",
    basis="on_request",
    purpose=lazy_gettext("Reminders and answers we sent by mail."), legal_basis=CONTRACT,
    recipients=("hosting", "mail", "sms"), fields=MESSAGE_FIELDS, collect=_messages, erase=_erase_messages))
register(DataCategory(
    read_permission=DEMOGRAPHICS,
    name="requests", title=lazy_gettext("Your privacy requests"), order=80, retention="accountability",
    basis="last_entry",
    purpose=lazy_gettext("To answer privacy requests and show we did."),
    legal_basis=lazy_gettext("GDPR Art. 6(1)(c) with Art. 5(2) and 12"),
    recipients=("hosting",), fields=REQUEST_FIELDS, collect=_requests, erase=_erase_requests))
register(DataCategory(
    read_permission=DEMOGRAPHICS,
    name="access_log", title=lazy_gettext("Who accessed your record"), order=85, retention="accountability",
    basis="last_entry",
    purpose=lazy_gettext("Security: a record of every staff member who read or changed this data."),
    legal_basis=lazy_gettext("GDPR Art. 6(1)(c) with Art. 32 (security of processing)"),
    recipients=("hosting",), fields=ACCESS_FIELDS, collect=_access_log, erase=_erase_access_log))
