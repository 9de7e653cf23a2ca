"""Medical history in versions (each save is a new version with who and when) and the alerts it raises.

Alerts come from two places: rules over the newest history version (replaced on every save) and staff
adding one by hand. Active alerts show in the chart header and on the patient's appointment cards.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from portal import audit
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, required, too_long
from portal.i18n import N_, gettext, lazy_gettext
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.tables import MedicalAlert, MedicalHistory

SMOKING = {"unknown": lazy_gettext("Not asked"), "never": lazy_gettext("Never smoked"),
           "former": lazy_gettext("Former smoker"), "current": lazy_gettext("Smokes")}
PREGNANCY = {"": lazy_gettext("Not applicable / not asked"), "yes": lazy_gettext("Pregnant"),
             "no": lazy_gettext("Not pregnant")}

# (label, fields searched, pattern): conservative word rules a dentist can read and extend.
ALERT_RULES = (
    (N_("Penicillin allergy"), ("allergies",), r"penicillin|amoxicillin|ampicillin"),
    (N_("Latex allergy"), ("allergies",), r"latex"),
    (N_("Local anaesthetic allergy"), ("allergies",), r"lidocaine|articaine|anaesthetic|anesthetic"),
    (N_("NSAID allergy"), ("allergies",), r"ibuprofen|aspirin|nsaid|diclofenac"),
    (N_("Anticoagulants"), ("medications",),
     r"warfarin|acenocoumarol|phenprocoumon|apixaban|rivaroxaban|dabigatran|edoxaban|heparin|clopidogrel"),
    (N_("Bisphosphonates"), ("medications",), r"alendron|risedron|zoledron|ibandron|bisphosphonate|denosumab"),
    (N_("Diabetes"), ("conditions", "medications"), r"diabet|insulin|metformin"),
    (N_("Heart condition"), ("conditions",), r"endocarditis|heart valve|pacemaker|angina|heart failure"),
    (N_("Epilepsy"), ("conditions",), r"epilep|seizure"),
    (N_("Bleeding disorder"), ("conditions",), r"haemophilia|hemophilia|von willebrand|bleeding disorder"),
)


@dataclass(frozen=True)
class HistoryForm:
    conditions: str = ""
    medications: str = ""
    allergies: str = ""
    pregnant: str = ""
    smoking: str = "unknown"
    notes: str = ""


@dataclass(frozen=True)
class AlertForm:
    label: str = ""
    severity: str = "high"


def derived_alerts(form: HistoryForm) -> list[str]:
    """The alert labels a history version raises."""
    found = [label for label, fields, pattern in ALERT_RULES
             if any(re.search(pattern, getattr(form, f), re.IGNORECASE) for f in fields)]
    if form.pregnant == "yes":
        found.append(N_("Pregnant"))
    return found


def _check(form: HistoryForm) -> None:
    errors = collect(conditions=too_long(form.conditions, 4000), medications=too_long(form.medications, 4000),
                     allergies=too_long(form.allergies, 4000), notes=too_long(form.notes, 8000),
                     pregnant=None if form.pregnant in PREGNANCY else gettext("Choose one of the listed answers."),
                     smoking=None if form.smoking in SMOKING else gettext("Choose one of the listed answers."))
    if errors:
        raise ValidationFailed(errors)


async def save_history(actor: Actor, patient_id: int, form: HistoryForm) -> int:
    """Store a new version (never overwrite) and replace the alerts the previous version raised."""
    require(actor, Permission.WRITE_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    _check(form)
    now = datetime.now(timezone.utc)
    async with transaction():
        rows = await MedicalHistory.raw(
            "SELECT coalesce(max(version), 0) + 1 AS v FROM medical_history WHERE patient = {}", patient_id)
        version = rows[0]["v"]
        await MedicalHistory.insert(MedicalHistory(
            clinic=actor.clinic_id, patient=patient_id, version=version, conditions=form.conditions.strip(),
            medications=form.medications.strip(), allergies=form.allergies.strip(),
            pregnant={"yes": True, "no": False}.get(form.pregnant), smoking=form.smoking, notes=form.notes.strip(),
            recorded_by=actor.id, recorded_by_name=actor.name, recorded_at=now))
        await MedicalAlert.update({MedicalAlert.resolved_at: now, MedicalAlert.resolved_by: actor.id}).where(
            (MedicalAlert.patient == patient_id) & (MedicalAlert.source == "history")
            & MedicalAlert.resolved_at.is_null())
        for label in derived_alerts(form):
            await MedicalAlert.insert(MedicalAlert(
                clinic=actor.clinic_id, patient=patient_id, label=label, severity="high", source="history",
                history_version=version, created_by=actor.id, created_at=now))
        await audit.record(actor, "medical_history.saved", patient_id=patient_id, object_type="medical_history",
                           object_id=version)
    return version


async def versions(actor: Actor, patient_id: int) -> list[dict]:
    """Every version, newest first (who and when; the content is read one version at a time)."""
    require(actor, Permission.READ_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    return await MedicalHistory.select(
        MedicalHistory.version, MedicalHistory.recorded_by_name, MedicalHistory.recorded_at
    ).where((MedicalHistory.patient == patient_id) & (MedicalHistory.clinic == actor.clinic_id)).order_by(
        MedicalHistory.version, ascending=False)


async def get_version(actor: Actor, patient_id: int, version: int | None = None) -> dict | None:
    """One version (the newest when `version` is None); reading it is audited."""
    require(actor, Permission.READ_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    query = MedicalHistory.select().where((MedicalHistory.patient == patient_id)
                                          & (MedicalHistory.clinic == actor.clinic_id))
    if version is not None:
        query = query.where(MedicalHistory.version == version)
    async with transaction():
        row = await query.order_by(MedicalHistory.version, ascending=False).first()
        if row is None and version is not None:
            raise NotFound()
        if row is not None:
            await audit.record(actor, "medical_history.viewed", patient_id=patient_id,
                               object_type="medical_history", object_id=row["version"])
    return row


def form_from_version(row: dict | None) -> HistoryForm:
    if row is None:
        return HistoryForm()
    return HistoryForm(conditions=row["conditions"], medications=row["medications"], allergies=row["allergies"],
                       pregnant={True: "yes", False: "no"}.get(row["pregnant"], ""), smoking=row["smoking"],
                       notes=row["notes"])


# A patient's active alerts as a JSON array, oldest first (arguments: patient, clinic): the one home of "active",
# read on its own or inside another statement (the chart header's).
ACTIVE_ALERTS = ("(SELECT coalesce(json_agg(json_build_object('id', a.id, 'label', a.label, 'severity', a.severity, "
                 "'source', a.source) ORDER BY a.id), '[]')::text FROM medical_alert a WHERE a.patient = {} "
                 "AND a.clinic = {} AND a.resolved_at IS NULL)")


def alerts_shown(alerts_json: str) -> list[dict]:
    """`ACTIVE_ALERTS` as the header shows them: derived labels are catalogue entries, so they are translated."""
    return [{**row, "label": gettext(row["label"])} for row in json.loads(alerts_json)]


def alert_labels(alerts_json: str) -> list[str]:
    """`ACTIVE_ALERTS` as a card or a visit names them: the translated labels, oldest first."""
    return [row["label"] for row in alerts_shown(alerts_json)] if alerts_json != "[]" else []


async def active_alerts(actor: Actor, patient_id: int) -> list[dict]:
    """Alerts to show on the chart header; front desk sees them too (they matter for booking)."""
    require(actor, Permission.READ_DEMOGRAPHICS)
    rows = await MedicalAlert.raw(f"SELECT {ACTIVE_ALERTS} AS alerts", patient_id, actor.clinic_id)
    return alerts_shown(rows[0]["alerts"])


async def alerts_for_patients(clinic_id: int, patient_ids: list[int]) -> dict[int, list[str]]:
    """Active alert labels per patient, for calendar cards (one query for a whole day or week)."""
    if not patient_ids:
        return {}
    rows = await MedicalAlert.raw(
        "SELECT patient, array_agg(label ORDER BY id) AS labels FROM medical_alert WHERE clinic = {} "
        "AND patient = ANY({}::int[]) AND resolved_at IS NULL GROUP BY patient", clinic_id, list(set(patient_ids)))
    return {row["patient"]: [gettext(label) for label in row["labels"]] for row in rows}


async def add_alert(actor: Actor, patient_id: int, form: AlertForm) -> int:
    require(actor, Permission.WRITE_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    errors = collect(label=required(form.label, gettext("The alert")) or too_long(form.label, 120),
                     severity=None if form.severity in ("high", "medium") else gettext("Choose high or medium."))
    if errors:
        raise ValidationFailed(errors)
    async with transaction():
        alert_id = (await MedicalAlert.insert(MedicalAlert(
            clinic=actor.clinic_id, patient=patient_id, label=form.label.strip(), severity=form.severity,
            source="manual", created_by=actor.id, created_at=datetime.now(timezone.utc))))[0]["id"]
        await audit.record(actor, "medical_alert.added", patient_id=patient_id, object_type="medical_alert",
                           object_id=alert_id, detail={"label": form.label.strip()})
    return alert_id


async def resolve_alert(actor: Actor, patient_id: int, alert_id: int) -> None:
    require(actor, Permission.WRITE_CLINICAL)
    async with transaction():
        rows = await MedicalAlert.update(
            {MedicalAlert.resolved_at: datetime.now(timezone.utc), MedicalAlert.resolved_by: actor.id}
        ).where((MedicalAlert.id == alert_id) & (MedicalAlert.patient == patient_id)
                & (MedicalAlert.clinic == actor.clinic_id) & MedicalAlert.resolved_at.is_null()
                ).returning(MedicalAlert.id)
        if not rows:
            raise NotFound()
        await audit.record(actor, "medical_alert.resolved", patient_id=patient_id, object_type="medical_alert",
                           object_id=alert_id)
