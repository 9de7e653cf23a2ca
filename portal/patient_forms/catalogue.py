"""Form templates per clinic (seeded from the defaults below) and the one rule that checks a patient's answers.

A field is a dict: `name`, `kind` (text, textarea, choice, yesno, date, email, phone, agree), `label`, `required`,
`options` (choice) and `maps_to`: "history.<field>" or "patient.<field>", the record it proposes a change to.
Labels are English msgids marked with N_ and translated when shown, so a form speaks the patient's language.
"""

import json

from portal import audit, patient_fields
from portal.charts import medical_history
from portal.db import transaction
from portal.errors import ValidationFailed
from portal.forms import parse_date, too_long
from portal.i18n import N_
from portal.i18n import gettext as _
from portal.permissions import Actor, Permission, require
from portal.tables import FormTemplate

KINDS = ("medical_history", "consent", "new_patient")
YES_NO = {"yes": N_("Yes"), "no": N_("No")}

DEFAULTS = {
    "medical_history": {
        "title": N_("Medical history questionnaire"),
        "intro": N_("Please tell us about your health. Your dentist reads this before treatment."),
        "fields": [
            {"name": "conditions", "kind": "textarea", "label": N_("Illnesses and conditions"), "required": False,
             "maps_to": "history.conditions"},
            {"name": "medications", "kind": "textarea", "label": N_("Medicines you take"), "required": False,
             "maps_to": "history.medications"},
            {"name": "allergies", "kind": "textarea", "label": N_("Allergies"), "required": False,
             "maps_to": "history.allergies"},
            {"name": "pregnant", "kind": "choice", "label": N_("Are you pregnant?"), "required": False,
             "options": {"": N_("Not applicable"), "yes": N_("Yes"), "no": N_("No")}, "maps_to": "history.pregnant"},
            {"name": "smoking", "kind": "choice", "label": N_("Do you smoke?"), "required": True,
             "options": {"never": N_("Never smoked"), "former": N_("Former smoker"), "current": N_("Smokes")},
             "maps_to": "history.smoking"},
        ]},
    "consent": {
        "title": N_("Consent to a procedure"),
        "intro": N_("Your dentist has explained the treatment below, its risks and the alternatives."),
        "fields": [
            {"name": "understood", "kind": "agree", "required": True,
             "label": N_("I have had the treatment, its risks and the alternatives explained, and my questions "
                         "answered.")},
            {"name": "consent", "kind": "agree", "required": True, "label": N_("I consent to this treatment.")},
            {"name": "questions", "kind": "textarea", "required": False,
             "label": N_("Anything you would still like to ask")},
        ]},
    "new_patient": {
        "title": N_("New patient details"),
        "intro": N_("Please check how we can reach you."),
        "fields": [
            {"name": "email", "kind": "email", "label": N_("Email address"), "required": False,
             "maps_to": "patient.email"},
            {"name": "phone_mobile", "kind": "phone", "label": N_("Mobile phone"), "required": False,
             "maps_to": "patient.phone_mobile"},
            {"name": "address", "kind": "textarea", "label": N_("Postal address"), "required": False,
             "maps_to": "patient.address"},
        ]},
}


async def templates(actor: Actor) -> list[dict]:
    """The clinic's templates, seeded from the defaults the first time they are asked for."""
    require(actor, Permission.READ_CLINICAL)
    rows = await FormTemplate.select().where(FormTemplate.clinic == actor.clinic_id).order_by(FormTemplate.id)
    have = {row["kind"] for row in rows}
    missing = [kind for kind in KINDS if kind not in have]
    if missing:
        async with transaction():
            for kind in missing:
                default = DEFAULTS[kind]
                await FormTemplate.raw(
                    "INSERT INTO form_template (clinic, kind, title, intro, fields) VALUES ({}, {}, {}, {}, {}::jsonb) "
                    "ON CONFLICT (clinic, kind) DO NOTHING", actor.clinic_id, kind, default["title"],
                    default["intro"], _json(default["fields"]))
            await audit.record(actor, "form_template.seeded", object_type="form_template",
                               detail={"kinds": missing})
        rows = await FormTemplate.select().where(FormTemplate.clinic == actor.clinic_id).order_by(FormTemplate.id)
    return [_loaded(row) for row in rows]


def _json(value) -> str:
    return json.dumps(value)


def _loaded(row: dict) -> dict:
    for key in ("fields", "answers", "signature_strokes"):
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row


loaded = _loaded


def check_answers(fields: list[dict], typed: dict[str, str], country: str) -> dict[str, str]:
    """The answers to store (cleaned by each field's rule), or ValidationFailed naming every field with a problem.

    Patient-record fields go through their one rule in portal/patient_fields.py; history fields through the
    limits of portal/charts/medical_history.py, so an accepted answer is always a valid new version.
    """
    answers, errors = {}, {}
    for field in fields:
        name, kind = field["name"], field["kind"]
        raw = (typed.get(name) or "").strip()
        if field.get("required") and not raw:
            errors[name] = _("Please answer this question.") if kind != "agree" else _("Please tick this box.")
            continue
        target = field.get("maps_to", "")
        try:
            if kind == "agree":
                value = "yes" if raw else ""
            elif kind in ("choice", "yesno"):
                options = field.get("options") or YES_NO
                if raw not in options and not (raw == "" and not field.get("required")):
                    raise patient_fields.FieldProblem(_("Choose one of the listed answers."))
                value = raw
            elif kind == "date":
                if raw and parse_date(raw) is None:
                    raise patient_fields.FieldProblem(_("Enter a date such as 1980-04-23."))
                value = raw
            elif target.startswith("patient."):
                cleaned = patient_fields.clean_one(target.removeprefix("patient."), raw, country)
                value = "" if cleaned is None else str(cleaned)
            else:
                if problem := too_long(raw, 4000):
                    raise patient_fields.FieldProblem(problem)
                value = raw
        except patient_fields.FieldProblem as problem:
            errors[name] = problem.message
            continue
        answers[name] = value
    if errors:
        raise ValidationFailed(errors)
    if any(f.get("maps_to", "").startswith("history.") for f in fields):
        medical_history.HistoryForm(**history_values(fields, answers, {}))  # every mapped name is a real field
    return answers


def history_values(fields: list[dict], answers: dict, current: dict) -> dict:
    """`current` (HistoryForm values) with the answers of history-mapped fields laid over it."""
    values = dict(current)
    for field in fields:
        target = field.get("maps_to", "")
        if target.startswith("history.") and field["name"] in answers:
            values[target.removeprefix("history.")] = answers[field["name"]]
    return values
