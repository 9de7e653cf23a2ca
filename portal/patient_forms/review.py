"""Staff's side of a filled form: the differences against the current record, accepting them into a new version
(medical history, contact details) or declining, with who and when; the signed PDF."""

import dataclasses
from datetime import datetime, timezone

from portal import audit, patients
from portal.charts import medical_history
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.i18n import gettext as _
from portal.patient_forms import catalogue
from portal.permissions import Actor, Permission, require
from portal.tables import Patient, SentForm

LIST_COLUMNS = (SentForm.id, SentForm.kind, SentForm.title, SentForm.sent_at, SentForm.sent_by_name,
                SentForm.expires_at, SentForm.submitted_at, SentForm.decision, SentForm.decided_at)


async def of_patient(actor: Actor, patient_id: int) -> list[dict]:
    """The patient's forms, newest first (sent, signed, decided)."""
    require(actor, Permission.READ_CLINICAL)
    await patients.ensure_in_clinic(actor, patient_id)
    rows = await SentForm.select(*LIST_COLUMNS).where(
        (SentForm.patient == patient_id) & (SentForm.clinic == actor.clinic_id)).order_by(SentForm.id,
                                                                                         ascending=False)
    await audit.record(actor, "patient_form.listed", patient_id=patient_id, object_type="patient_form")
    return rows


async def _form(actor: Actor, patient_id: int, form_id: int, *columns) -> dict:
    row = await SentForm.select(*columns).where(
        (SentForm.id == form_id) & (SentForm.patient == patient_id) & (SentForm.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    await patients.ensure_in_clinic(actor, patient_id)
    return catalogue.loaded(row)


def differences(fields: list[dict], answers: dict, history: dict, patient: dict) -> list[dict]:
    """Each mapped answer beside the value it would replace; `changed` when accepting it would change the record."""
    found = []
    for field in fields:
        target = field.get("maps_to", "")
        if not target or field["name"] not in answers:
            continue
        where, name = target.split(".", 1)
        current = history.get(name, "") if where == "history" else patient.get(name) or ""
        proposed = answers[field["name"]]
        found.append({"field": field, "record": where, "name": name, "current": str(current),
                      "proposed": proposed, "changed": str(current).strip() != proposed.strip()})
    return found


async def _current(actor: Actor, patient_id: int) -> tuple[dict, dict]:
    history = dataclasses.asdict(medical_history.form_from_version(
        await medical_history.get_version(actor, patient_id)))
    patient = await Patient.select(Patient.email, Patient.phone_mobile, Patient.address).where(
        (Patient.id == patient_id) & (Patient.clinic == actor.clinic_id)).first()
    return history, patient or {}


async def show(actor: Actor, patient_id: int, form_id: int) -> dict:
    """One form with its answers and the differences against the current record; reading it is audited."""
    require(actor, Permission.READ_CLINICAL)
    async with transaction():
        form = await _form(actor, patient_id, form_id, *SentForm.all_columns(
            exclude=[SentForm.pdf, SentForm.signature_png, SentForm.token_hash]))
        history, patient = await _current(actor, patient_id)
        form["differences"] = differences(form["fields"], form["answers"] or {}, history, patient)
        await audit.record(actor, "patient_form.viewed", patient_id=patient_id, object_type="patient_form",
                           object_id=form_id)
    return form


async def accept(actor: Actor, patient_id: int, form_id: int) -> int | None:
    """Write the changed answers into a new medical history version and/or the contact details; returns the new
    history version (None when the history did not change). The form records who accepted and when."""
    require(actor, Permission.WRITE_CLINICAL)
    async with transaction():
        form = await _form(actor, patient_id, form_id, SentForm.fields, SentForm.answers, SentForm.submitted_at,
                           SentForm.decision)
        _check_open(form)
        history, patient = await _current(actor, patient_id)
        changes = [d for d in differences(form["fields"], form["answers"], history, patient) if d["changed"]]
        version = None
        if any(d["record"] == "history" for d in changes):
            values = {**history, **{d["name"]: d["proposed"] for d in changes if d["record"] == "history"}}
            version = await medical_history.save_history(actor, patient_id, medical_history.HistoryForm(**values))
        if any(d["record"] == "patient" for d in changes):
            record = await patients.get_patient(actor, patient_id, purpose="form_accepted")
            current = patients.form_from_record(record)
            await patients.update_patient(actor, patient_id, dataclasses.replace(
                current, **{d["name"]: d["proposed"] for d in changes if d["record"] == "patient"}))
        await _decide(actor, patient_id, form_id, "accepted", version, [d["name"] for d in changes])
    return version


async def decline(actor: Actor, patient_id: int, form_id: int) -> None:
    """Keep the record as it is; the form stays, marked declined with who and when."""
    require(actor, Permission.WRITE_CLINICAL)
    async with transaction():
        form = await _form(actor, patient_id, form_id, SentForm.submitted_at, SentForm.decision)
        _check_open(form)
        await _decide(actor, patient_id, form_id, "declined", None, [])


def _check_open(form: dict) -> None:
    if form["submitted_at"] is None:
        raise ValidationFailed({"decision": _("The patient has not signed this form yet.")})
    if form["decision"] is not None:
        raise ValidationFailed({"decision": _("This form has already been decided.")})


async def _decide(actor: Actor, patient_id: int, form_id: int, decision: str, version: int | None,
                  changed: list[str]) -> None:
    await SentForm.update({SentForm.decision: decision, SentForm.decided_by: actor.id,
                           SentForm.decided_by_name: actor.name, SentForm.decided_at: datetime.now(timezone.utc),
                           SentForm.history_version: version}).where(SentForm.id == form_id)
    await audit.record(actor, f"patient_form.{decision}", patient_id=patient_id, object_type="patient_form",
                       object_id=form_id, detail={"changed": changed, "history_version": version})


async def signed_pdf(actor: Actor, patient_id: int, form_id: int) -> tuple[str, bytes]:
    """(file name, PDF bytes) of a signed form; each download is audited."""
    require(actor, Permission.READ_CLINICAL)
    async with transaction():
        form = await _form(actor, patient_id, form_id, SentForm.kind, SentForm.pdf, SentForm.submitted_at)
        if form["pdf"] is None:
            raise NotFound()
        await audit.record(actor, "patient_form.downloaded", patient_id=patient_id, object_type="patient_form",
                           object_id=form_id)
    return f"form-{form_id}-{form['kind']}.pdf", bytes(form["pdf"])
