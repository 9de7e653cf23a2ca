"""Treatment plans: phases of procedures linked to teeth, totals, the patient's recorded acceptance.

A plan is built while "proposed" (each change bumps its version). Accepting freezes what was agreed —
version, items, fees and total — in an append-only acceptance row, so later fee changes never alter it. An
acceptance at the chair carries a drawn signature of the patient or guardian: the strokes, the PNG drawn from
them on the server (patient_forms.signatures) and a SHA-256 of what was signed (plan, version, items, fees, total,
signer and strokes), the same scheme as signed forms.
Completing a procedure writes the completed finding on the tooth chart and a signed chart entry; until then the
chart derives the planned work from the items of open plans (declining a plan takes it off the chart).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from portal import audit, clock, display
from portal.billing import ledger
from portal.charts import clinical_notes, fee_schedule, odontogram, teeth
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, required, too_long, whole_number
from portal.i18n import gettext, lazy_gettext
from portal.patient_forms import signatures
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.recall import due as recall_due
from portal.tables import Clinic, PlanAcceptance, PlanItem, TreatmentPlan

STATUSES = {"proposed": lazy_gettext("Proposed"), "accepted": lazy_gettext("Accepted"),
            "in_progress": lazy_gettext("In progress"), "completed": lazy_gettext("Completed"),
            "declined": lazy_gettext("Declined")}
display.register_labels("plan_status", STATUSES)
METHODS = {"in_person": lazy_gettext("In person, signed at the chair"),
           "written": lazy_gettext("Written consent form"), "verbal": lazy_gettext("Verbally")}
SIGNER_ROLES = {"patient": lazy_gettext("The patient"), "guardian": lazy_gettext("A parent or guardian")}
# How a plan is accepted decides whether a drawn signature is required: at the chair it is; a written form on
# paper or a verbal agreement has none to draw (a drawing, if given, is still kept).
SIGNED_METHODS = frozenset({"in_person"})


@dataclass(frozen=True)
class PlanForm:
    title: str = ""


@dataclass(frozen=True)
class ItemForm(teeth.SurfaceTicks):
    procedure_code_id: str = ""
    tooth: str = ""
    phase: str = "1"


@dataclass(frozen=True)
class AcceptanceForm:
    accepted_by: str = ""
    method: str = "in_person"
    signer_role: str = "patient"
    strokes: str = ""


async def _plan(actor: Actor, patient_id: int, plan_id: int) -> dict:
    row = await TreatmentPlan.select().where(
        (TreatmentPlan.id == plan_id) & (TreatmentPlan.patient == patient_id)
        & (TreatmentPlan.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    return row


async def create_plan(actor: Actor, patient_id: int, form: PlanForm) -> int:
    require(actor, Permission.WRITE_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    title = form.title.strip()
    if errors := collect(title=required(title, "A title") or too_long(title, 200)):
        raise ValidationFailed(errors)
    now = datetime.now(timezone.utc)
    async with transaction():
        plan_id = (await TreatmentPlan.insert(TreatmentPlan(
            clinic=actor.clinic_id, patient=patient_id, title=title, currency=await fee_schedule.currency(
                actor.clinic_id), created_by=actor.id, created_at=now, updated_at=now)))[0]["id"]
        await audit.record(actor, "treatment_plan.created", patient_id=patient_id, object_type="treatment_plan",
                           object_id=plan_id)
    return plan_id


async def _bump(plan_id: int) -> None:
    await TreatmentPlan.raw("UPDATE treatment_plan SET version = version + 1, updated_at = now() WHERE id = {}",
                            plan_id)


async def add_item(actor: Actor, patient_id: int, plan_id: int, form: ItemForm) -> int:
    """Plan a procedure (fee copied from the schedule now); a tooth procedure shows as planned on the chart
    while the plan is open (derived there by odontogram.read_chart, never copied into the findings)."""
    require(actor, Permission.WRITE_CLINICAL)
    plan = await _plan(actor, patient_id, plan_id)
    errors: dict[str, str] = {}
    if plan["status"] != "proposed":
        errors["procedure_code_id"] = gettext("Only a proposed plan can change; start a new plan for more treatment.")
    code_id = whole_number(form.procedure_code_id)
    code = None
    if code_id is not None:
        codes = [c for c in await fee_schedule.list_codes(actor, active_only=True) if c["id"] == code_id]
        code = codes[0] if codes else None
    if code is None:
        errors.setdefault("procedure_code_id", gettext("Choose a procedure from the fee schedule."))
    phase = whole_number(form.phase)
    if phase is None or not 1 <= phase <= 9:
        errors["phase"] = gettext("Choose a phase from 1 to 9.")
    tooth = None
    if form.tooth.strip():
        numbering = (await Clinic.select(Clinic.tooth_numbering).where(Clinic.id == actor.clinic_id).first()
                     )["tooth_numbering"]
        try:
            tooth = teeth.parse_tooth(form.tooth, numbering)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    elif code and code["charts_as"]:
        errors["tooth"] = f"{code['description']} needs a tooth."
    if not errors and code["charts_as"] in odontogram.SURFACE_KINDS and not form.surfaces:
        errors["surfaces"] = gettext("Tick the surfaces to treat.")
    if errors:
        raise ValidationFailed(errors)
    surfaces = form.surfaces if code["charts_as"] not in odontogram.WHOLE_KINDS - {"fracture"} else ""
    async with transaction():
        item_id = (await PlanItem.insert(PlanItem(
            clinic=actor.clinic_id, plan=plan_id, phase=phase, procedure_code=code["id"], code=code["code"],
            description=code["description"], fee=code["fee"], charts_as=code["charts_as"], material=code["material"],
            tooth=tooth, surfaces=surfaces)))[0]["id"]
        await _bump(plan_id)
        await audit.record(actor, "treatment_plan.item_added", patient_id=patient_id, object_type="plan_item",
                           object_id=item_id, detail={"plan": plan_id, "code": code["code"]})
    return item_id


async def accept(actor: Actor, patient_id: int, plan_id: int, form: AcceptanceForm) -> int:
    """Record who accepted which version of the plan, how, and exactly what it cost then."""
    require(actor, Permission.WRITE_CLINICAL)
    plan = await _plan(actor, patient_id, plan_id)
    accepted_by = form.accepted_by.strip()
    errors = collect(accepted_by=required(accepted_by, gettext("The name of who accepted")) or too_long(accepted_by,
                                                                                                        200),
                     method=None if form.method in METHODS else gettext("Choose how the patient accepted."),
                     signer_role=None if form.signer_role in SIGNER_ROLES else gettext("Choose who signs."))
    strokes: list = []
    try:
        strokes = signatures.read_strokes(form.strokes)
    except ValidationFailed as failed:
        errors.update(failed.errors)
    if not strokes and "signature" not in errors and form.method in SIGNED_METHODS:
        errors["signature"] = gettext("Ask the patient or guardian to draw their signature in the box.")
    items = await _items(plan_id)
    if plan["status"] != "proposed":
        errors["accepted_by"] = gettext("This plan is %(status)s; only a proposed plan is accepted.",
                                         status=str(STATUSES[plan["status"]]).lower())
    elif not items:
        errors["accepted_by"] = gettext("Add at least one procedure before recording acceptance.")
    if errors:
        raise ValidationFailed(errors)
    snapshot = [{"code": i["code"], "description": i["description"], "fee": str(i["fee"]), "phase": i["phase"],
                 "tooth": i["tooth"], "surfaces": i["surfaces"]} for i in items]
    total = _total(items)
    sha = signed_digest(plan, snapshot, total, accepted_by, form.signer_role, form.method, strokes) if strokes \
        else None
    async with transaction():
        acceptance_id = (await PlanAcceptance.insert(PlanAcceptance(
            clinic=actor.clinic_id, plan=plan_id, plan_version=plan["version"], total=total,
            currency=plan["currency"], items=json.dumps(snapshot), accepted_by=accepted_by, method=form.method,
            recorded_by=actor.id, recorded_by_name=actor.name, at=datetime.now(timezone.utc),
            signer_role=form.signer_role, signature_strokes=json.dumps(strokes) if strokes else None,
            signature_png=signatures.render_png(strokes) if strokes else None, signed_sha256=sha)))[0]["id"]
        await TreatmentPlan.update({TreatmentPlan.status: "accepted", TreatmentPlan.updated_at: datetime.now(
            timezone.utc)}).where(TreatmentPlan.id == plan_id)
        await audit.record(actor, "treatment_plan.accepted", patient_id=patient_id, object_type="treatment_plan",
                           object_id=plan_id, detail={"version": plan["version"], "by": accepted_by, "sha256": sha})
    return acceptance_id


def signed_content(plan: dict, snapshot: list[dict], total: Decimal, accepted_by: str, signer_role: str,
                   method: str, strokes: list) -> bytes:
    """Exactly what the patient or guardian signed, as canonical JSON bytes (the hash input)."""
    return json.dumps({"plan": plan["id"], "title": plan["title"], "version": plan["version"],
                       "currency": plan["currency"], "items": snapshot, "total": str(total), "signer": accepted_by,
                       "role": signer_role, "method": method, "strokes": strokes},
                      sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def signed_digest(plan: dict, snapshot: list[dict], total: Decimal, accepted_by: str, signer_role: str,
                  method: str, strokes: list) -> str:
    return hashlib.sha256(signed_content(plan, snapshot, total, accepted_by, signer_role, method, strokes)
                          ).hexdigest()


def verify(plan: dict, acceptance: dict) -> bool:
    """Whether a stored acceptance still matches its hash (the items, fees, signer and strokes as signed)."""
    if not acceptance["signed_sha256"]:
        return False
    strokes = acceptance["signature_strokes"]
    strokes = json.loads(strokes) if isinstance(strokes, str) else strokes
    items = acceptance["items"]
    items = json.loads(items) if isinstance(items, str) else items
    plan_then = {**plan, "version": acceptance["plan_version"], "currency": acceptance["currency"]}
    return signed_digest(plan_then, items, acceptance["total"], acceptance["accepted_by"], acceptance["signer_role"],
                         acceptance["method"], strokes) == acceptance["signed_sha256"]


async def decline(actor: Actor, patient_id: int, plan_id: int) -> None:
    require(actor, Permission.WRITE_CLINICAL)
    plan = await _plan(actor, patient_id, plan_id)
    if plan["status"] not in ("proposed", "accepted"):
        raise ValidationFailed({"plan": gettext("Treatment has started or finished; it can no longer be declined.")})
    async with transaction():
        await TreatmentPlan.update({TreatmentPlan.status: "declined"}).where(TreatmentPlan.id == plan_id)
        await audit.record(actor, "treatment_plan.declined", patient_id=patient_id, object_type="treatment_plan",
                           object_id=plan_id)


async def complete_item(actor: Actor, patient_id: int, plan_id: int, item_id: int) -> None:
    """Mark a procedure done: completed finding on the tooth, a signed chart entry, the charge on the patient's
    account (billing.ledger), plan status moved on."""
    require(actor, Permission.WRITE_CLINICAL)
    plan = await _plan(actor, patient_id, plan_id)
    item = await PlanItem.select().where((PlanItem.id == item_id) & (PlanItem.plan == plan_id)
                                         & (PlanItem.clinic == actor.clinic_id)).first()
    if item is None:
        raise NotFound()
    if plan["status"] not in ("accepted", "in_progress"):
        raise ValidationFailed({"plan": gettext("Record the patient's acceptance before completing treatment.")})
    if item["status"] != "planned":
        raise ValidationFailed({"plan": gettext("This procedure is already completed.")})
    now = datetime.now(timezone.utc)
    async with transaction():
        await PlanItem.update({PlanItem.status: "completed", PlanItem.completed_at: now,
                               PlanItem.completed_by: actor.id}).where(PlanItem.id == item_id)
        where = ""
        if item["tooth"] is not None:
            where = f" on tooth {item['tooth']}" + (f" {item['surfaces']}" if item["surfaces"] else "")
            if item["charts_as"]:
                await odontogram.insert_finding(actor, patient_id, item["tooth"], item["surfaces"],
                                                item["charts_as"], "completed", item["material"],
                                                f"{item['code']} completed", plan_item=item_id)
        await clinical_notes.sign(actor, patient_id, clinical_notes.PROCEDURE_TEMPLATE,
                                  f"Completed {item['code']} {item['description']}{where} (plan \"{plan['title']}\").")
        await ledger.charge_completed_item(actor, patient_id, item)
        remaining = await PlanItem.count().where((PlanItem.plan == plan_id) & (PlanItem.status == "planned"))
        await TreatmentPlan.update({TreatmentPlan.status: "completed" if remaining == 0 else "in_progress",
                                    TreatmentPlan.updated_at: now}).where(TreatmentPlan.id == plan_id)
        await audit.record(actor, "treatment_plan.item_completed", patient_id=patient_id, object_type="plan_item",
                           object_id=item_id, detail={"plan": plan_id})
        await recall_due.procedure_completed(actor, patient_id, item["code"], clock.today(actor.time_zone))


async def _items(plan_id: int) -> list[dict]:
    return await PlanItem.select().where(PlanItem.plan == plan_id).order_by(PlanItem.phase, PlanItem.id)


def _total(items: list[dict]) -> Decimal:
    return sum((i["fee"] for i in items if i["status"] != "declined"), Decimal("0.00"))


async def get_plan(actor: Actor, patient_id: int, plan_id: int) -> dict:
    """A plan with its phases (items and totals), plan total and every recorded acceptance."""
    require(actor, Permission.READ_CLINICAL)
    async with transaction():
        plan = await _plan(actor, patient_id, plan_id)
        items = await _items(plan_id)
        phases: dict[int, dict] = {}
        for item in items:
            phase = phases.setdefault(item["phase"], {"number": item["phase"], "items": [], "total": Decimal("0.00")})
            phase["items"].append(item)
        for phase in phases.values():
            phase["total"] = _total(phase["items"])
        plan["phases"] = list(phases.values())
        plan["total"] = _total(items)
        plan["acceptances"] = await PlanAcceptance.select(*PlanAcceptance.all_columns(exclude=[
            PlanAcceptance.signature_png, PlanAcceptance.signature_strokes])).where(
            PlanAcceptance.plan == plan_id).order_by(PlanAcceptance.id).output(load_json=True)
        await audit.record(actor, "treatment_plan.viewed", patient_id=patient_id, object_type="treatment_plan",
                           object_id=plan_id)
    return plan


async def list_plans(actor: Actor, patient_id: int, patient_checked: bool = False) -> list[dict]:
    """The patient's plans newest first, with their totals (one query), audited as a list. `patient_checked`: the
    caller has just checked the patient is the actor clinic's and not isolated (the chart page's header)."""
    require(actor, Permission.READ_CLINICAL)
    if not patient_checked:
        await ensure_in_clinic(actor, patient_id)
    plans = await TreatmentPlan.raw(
        "SELECT p.id, p.title, p.status, p.version, p.currency, p.created_at, "
        "coalesce(sum(i.fee) FILTER (WHERE i.status <> 'declined'), 0) AS total, count(i.id) AS items "
        "FROM treatment_plan p LEFT JOIN plan_item i ON i.plan = p.id WHERE p.patient = {} AND p.clinic = {} "
        "GROUP BY p.id ORDER BY p.id DESC", patient_id, actor.clinic_id)
    await audit.record(actor, "treatment_plans.listed", patient_id=patient_id, object_type="treatment_plan",
                       detail={"plans": [plan["id"] for plan in plans]})
    return plans
