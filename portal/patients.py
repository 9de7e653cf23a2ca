"""Patients (the core record every feature hangs on): create, edit, list, search, guardians for minors."""

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

from portal import audit, patient_fields, phones
from portal.contacts import changes as contact_changes
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import parse_date, whole_number
from portal.permissions import Actor, Permission, require
from portal.tables import Guardian, MedicalAlert, Patient

GENDERS = patient_fields.GENDERS
LANGUAGES = patient_fields.LANGUAGES
COUNTRIES = patient_fields.COUNTRIES
# Addresses that reach a person (sign-in, mail, texts): kept apart until their holder confirms them.
CONFIRMED = {"email": "email", "phone_mobile": "phone"}
AGE_OF_MAJORITY = 18
PAGE_SIZE = 50
LIST_COLUMNS = (Patient.id, Patient.given_name, Patient.family_name, Patient.date_of_birth,
                Patient.phone_mobile, Patient.email)


@dataclass(frozen=True)
class PatientForm:
    given_name: str = ""
    family_name: str = ""
    date_of_birth: str = ""
    gender: str = ""
    national_id: str = ""
    email: str = ""
    phone_mobile: str = ""
    phone_other: str = ""
    address: str = ""
    postcode: str = ""
    city: str = ""
    country: str = ""
    preferred_language: str = "en"


@dataclass(frozen=True)
class GuardianForm:
    name: str = ""
    relationship: str = ""
    email: str = ""
    phone: str = ""


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _clean(actor: Actor, form: PatientForm) -> dict:
    """Every field through its one rule in portal.patient_fields (the privacy centre and corrections use them too)."""
    values = patient_fields.clean({name: getattr(form, name) for name in PatientForm.__dataclass_fields__},
                                  actor.country)
    return {getattr(Patient, name): value for name, value in values.items()}


async def propose_addresses(actor: Actor, patient_id: int, addresses: dict[str, str], origin: str) -> None:
    """The patient's email and mobile number, as typed on any side: each waits for its holder (portal/contacts)."""
    for name, channel in CONFIRMED.items():
        if name in addresses:
            await contact_changes.propose(actor, actor.clinic_id, contact_changes.Holder(patient_id), channel,
                                          addresses[name], origin)


def _split(values: dict) -> tuple[dict, dict[str, str]]:
    """(columns written at once, addresses that wait for confirmation)."""
    addresses = {col._meta.name: v for col, v in values.items() if col._meta.name in CONFIRMED}
    return {col: v for col, v in values.items() if col._meta.name not in CONFIRMED}, addresses


async def create_patient(actor: Actor, form: PatientForm) -> int:
    require(actor, Permission.EDIT_DEMOGRAPHICS)
    values, addresses = _split(_clean(actor, form))
    now = datetime.now(timezone.utc)
    async with transaction():
        row = Patient(clinic=actor.clinic_id, created_at=now, updated_at=now,
                      **{col._meta.name: v for col, v in values.items()})
        await row.save()
        await audit.record(actor, "patient.created", patient_id=row.id, object_type="patient", object_id=row.id)
        await propose_addresses(actor, row.id, addresses, "patient_created")
    return row.id


async def update_patient(actor: Actor, patient_id: int, form: PatientForm) -> None:
    require(actor, Permission.EDIT_DEMOGRAPHICS)
    before = await _owned(actor, patient_id)  # a foreign id is a 404 before any validation message
    values, addresses = _split(_clean(actor, form))
    async with transaction():
        changed = sorted(col._meta.name for col, v in values.items() if before[col._meta.name] != v)
        await Patient.update({**values, Patient.updated_at: datetime.now(timezone.utc)}).where(
            (Patient.id == patient_id) & (Patient.clinic == actor.clinic_id))
        await audit.record(actor, "patient.updated", patient_id=patient_id, object_type="patient",
                           object_id=patient_id, detail={"changed": changed})
        await propose_addresses(actor, patient_id, addresses, "staff_form")


async def ensure_in_clinic(actor: Actor, patient_id: int) -> None:
    """NotFound unless the patient belongs to the actor's clinic and is not isolated after an erasure (another
    clinic's ids and isolated records look unknown to every normal staff view)."""
    if not await Patient.exists().where((Patient.id == patient_id) & (Patient.clinic == actor.clinic_id)
                                        & Patient.isolated_at.is_null()):
        raise NotFound()


async def _owned(actor: Actor, patient_id: int) -> dict:
    row = await Patient.select(*Patient.all_columns(exclude=[Patient.clinic])).where(
        (Patient.id == patient_id) & (Patient.clinic == actor.clinic_id) & Patient.isolated_at.is_null()).first()
    if row is None:
        raise NotFound()
    return row


async def get_patient(actor: Actor, patient_id: int, purpose: str = "viewed") -> dict:
    """One patient's demographics and guardians; reading it is audited."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    async with transaction():
        return await _read_patient(actor, patient_id, purpose)


async def _read_patient(actor: Actor, patient_id: int, purpose: str) -> dict:
    row = await _owned(actor, patient_id)
    row["guardians"] = await Guardian.select(
        Guardian.id, Guardian.name, Guardian.relationship, Guardian.email, Guardian.phone, Guardian.guardian_patient
    ).where((Guardian.patient == patient_id) & (Guardian.clinic == actor.clinic_id)).order_by(Guardian.id)
    row["alerts"] = await MedicalAlert.select(MedicalAlert.label, MedicalAlert.severity).where(
        (MedicalAlert.patient == patient_id) & (MedicalAlert.clinic == actor.clinic_id)
        & MedicalAlert.resolved_at.is_null()).order_by(MedicalAlert.id)
    row["age"] = age_on(row["date_of_birth"], date.today())
    row["is_minor"] = row["age"] < AGE_OF_MAJORITY
    await audit.record(actor, f"patient.{purpose}", patient_id=patient_id, object_type="patient",
                       object_id=patient_id)
    return row


def form_from_record(row: dict) -> PatientForm:
    return PatientForm(**{k: (row[k].isoformat() if isinstance(row[k], date) else row[k])
                          for k in PatientForm.__dataclass_fields__})


async def list_patients(actor: Actor, page: int = 1) -> tuple[list[dict], bool]:
    """A page of patients by family name; returns (rows, has_more)."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    page = min(max(page, 1), 100_000)
    columns = ", ".join(c._meta.db_column_name for c in LIST_COLUMNS)
    # Sorted as people read names: case and diacritics ignored ("de Boer" before "Yilmaz", "Çelik" with the Cs).
    rows = await Patient.raw(
        f"SELECT {columns} FROM patient WHERE clinic = {{}} AND isolated_at IS NULL "
        "ORDER BY fold_text(family_name), fold_text(given_name), id OFFSET {} LIMIT {}",
        actor.clinic_id, (page - 1) * PAGE_SIZE, PAGE_SIZE + 1)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    await audit.record_patients_shown(actor, "patient.listed", [r["id"] for r in rows])
    return rows, more


async def chosen(actor: Actor, patient_id: str) -> dict | None:
    """The patient a form already names (e.g. the booking dialog opened from the patient page), for its label;
    None for an empty, malformed or foreign id. Showing the name is audited like a search result."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    if (wanted := whole_number(patient_id or "")) is None:
        return None
    row = await Patient.select(Patient.id, Patient.given_name, Patient.family_name, Patient.date_of_birth).where(
        (Patient.id == wanted) & (Patient.clinic == actor.clinic_id) & Patient.isolated_at.is_null()).first()
    if row:
        await audit.record_patients_shown(actor, "patient.chosen", [row["id"]])
    return row


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_SEARCH_COLUMNS = "SELECT id, given_name, family_name, date_of_birth, phone_mobile, email FROM patient "
_SEARCH_ORDER = "ORDER BY fold_text(family_name), fold_text(given_name), id LIMIT {}"


def _family_prefix_bounds(word: str) -> tuple[str, str] | None:
    """Folded family names starting with `word` lie in [low, high) in any collation, for a word of ASCII letters and
    digits not ending in z or 9 (the next character would be punctuation, which collations sort elsewhere)."""
    low = word.lower()
    if not re.fullmatch(r"[a-z0-9]+", low) or low[-1] in "z9":
        return None
    return low, low[:-1] + chr(ord(low[-1]) + 1)


async def search_patients(actor: Actor, text: str, limit: int = 10) -> list[dict]:
    """Typeahead: name prefixes (full-text), phone prefix in any local form, date of birth, ID number. Patients
    whose family name starts with a single typed word come first, then every other match, each in name order."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    text = text.strip()[:100]
    if len(text) < 2:
        return []
    conditions, args = [], []
    words = re.findall(r"\w+", text)
    if words and not text.replace(" ", "").isdigit():
        # Every typed word as a prefix, folded by the same SQL function as the stored names ("zoe" finds Zoë).
        conditions.append("search_name @@ (SELECT string_agg(quote_literal(w) || ':*', ' & ')::tsquery "
                          "FROM regexp_split_to_table(fold_text({}), '[^[:alnum:]]+') AS w WHERE w <> '')")
        args.append(text)
    if (prefix := phones.search_prefix(text, actor.country)) is not None:
        conditions.append("(phone_mobile LIKE {} OR phone_other LIKE {})")
        args += [_like_prefix(prefix)] * 2
    if (born := parse_date(text)) is not None:
        conditions.append("date_of_birth = {}")
        args.append(born)
    if len(text) >= 3 and re.fullmatch(r"[\w\-. ]+", text):
        conditions.append("upper(national_id) LIKE {}")
        args.append(_like_prefix(text.upper()))
    if not conditions:
        return []
    where = f"clinic = {{}} AND isolated_at IS NULL AND ({' OR '.join(conditions)})"
    rows = []
    if len(words) == 1 and not words[0].isdigit() and (bounds := _family_prefix_bounds(words[0])):
        # Family names that start with the word first, read as one range of the name index: with a common prefix
        # ("Jan" among 100,000 patients) the planner otherwise walks the whole index from "A" filtering each row.
        # Each of them matches the word search too (its first name word starts with the word), which is left out
        # here so that the planner cannot prefer the text index and sort thousands of rows.
        rows = await Patient.raw(
            _SEARCH_COLUMNS + "WHERE clinic = {} AND isolated_at IS NULL AND fold_text(family_name) >= {} "
            "AND fold_text(family_name) < {} AND starts_with(fold_text(family_name), {}) " + _SEARCH_ORDER,
            actor.clinic_id, bounds[0], bounds[1], bounds[0], limit)
    if len(rows) < limit:
        rows += await Patient.raw(_SEARCH_COLUMNS + f"WHERE {where} AND id <> ALL({{}}::int[]) " + _SEARCH_ORDER,
                                  actor.clinic_id, *args, [r["id"] for r in rows], limit - len(rows))
    await audit.record_patients_shown(actor, "patient.searched", [r["id"] for r in rows])
    return rows


async def add_guardian(actor: Actor, patient_id: int, form: GuardianForm) -> int:
    require(actor, Permission.EDIT_DEMOGRAPHICS)
    await _owned(actor, patient_id)
    values, errors = {}, {}
    for name, rule in (("name", lambda v: patient_fields.text(v, 200, "Name")),
                       ("relationship", lambda v: patient_fields.text(v, 60)), ("email", patient_fields.email),
                       ("phone", lambda v: patient_fields.phone(v, actor.country))):
        try:
            values[name] = rule(getattr(form, name))
        except patient_fields.FieldProblem as problem:
            errors[name] = problem.message
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        row = Guardian(clinic=actor.clinic_id, patient=patient_id, created_at=datetime.now(timezone.utc),
                       **{**values, "email": "", "phone": ""})
        await row.save()
        await audit.record(actor, "guardian.added", patient_id=patient_id, object_type="guardian", object_id=row.id)
        # A guardian's address signs in to the child's record: it waits for its holder like the patient's own.
        holder = contact_changes.Holder(patient_id, row.id)
        await contact_changes.propose(actor, actor.clinic_id, holder, "email", values["email"], "guardian_added")
        await contact_changes.propose(actor, actor.clinic_id, holder, "phone", values["phone"], "guardian_added")
    return row.id


async def remove_guardian(actor: Actor, patient_id: int, guardian_id: int) -> None:
    require(actor, Permission.EDIT_DEMOGRAPHICS)
    async with transaction():
        deleted = await Guardian.delete().where(
            (Guardian.id == guardian_id) & (Guardian.patient == patient_id) & (Guardian.clinic == actor.clinic_id)
        ).returning(Guardian.id)
        if not deleted:
            raise NotFound()
        await audit.record(actor, "guardian.removed", patient_id=patient_id, object_type="guardian",
                           object_id=guardian_id)
