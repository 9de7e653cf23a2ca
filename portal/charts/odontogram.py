"""Tooth findings: recorded per tooth and surface, never edited (a new finding supersedes on the drawing).

The chart shows, per surface, the newest finding that covers it and, per tooth, the newest finding of each
whole-tooth kind; the tooth's full history stays one tap away. Planned work is derived, not copied: it is drawn
on top from the plan items still planned in plans that are still open (`_PLANNED_WORK`), so declining a plan
takes its work off the chart. Findings an earlier version copied from plan items (state "planned" with a
`plan_item`) stay in the append-only history and are no longer drawn.
"""

import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone

from portal import audit, display
from portal.charts import teeth
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import collect, too_long
from portal.i18n import gettext, lazy_gettext
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.tables import ToothFinding

KINDS = {"caries": lazy_gettext("Caries"), "filling": lazy_gettext("Filling"), "sealant": lazy_gettext("Sealant"),
         "fracture": lazy_gettext("Fracture"), "crown": lazy_gettext("Crown"),
         "bridge": lazy_gettext("Bridge"), "implant": lazy_gettext("Implant"),
         "root_canal": lazy_gettext("Root canal"), "missing": lazy_gettext("Missing")}
SURFACE_KINDS = {"caries", "filling", "sealant"}  # need at least one surface
WHOLE_KINDS = {"crown", "bridge", "implant", "root_canal", "missing", "fracture"}  # fracture: surfaces optional
STATES = {"existing": lazy_gettext("Existing"), "planned": lazy_gettext("Planned"),
          "completed": lazy_gettext("Completed")}
MATERIALS = {"": "—", "composite": lazy_gettext("Composite"), "amalgam": lazy_gettext("Amalgam"),
             "glass_ionomer": lazy_gettext("Glass ionomer"),
             "ceramic": lazy_gettext("Ceramic"), "zirconia": lazy_gettext("Zirconia"),
             "metal_ceramic": lazy_gettext("Metal-ceramic"), "gold": lazy_gettext("Gold"),
             "titanium": lazy_gettext("Titanium")}
display.register_labels("finding_kind", KINDS)
display.register_labels("finding_state", STATES)
CHART_COLUMNS = (ToothFinding.id, ToothFinding.tooth, ToothFinding.surfaces, ToothFinding.kind,
                 ToothFinding.state)
OPEN_PLANS = ("proposed", "accepted", "in_progress")  # a declined (or any future closed) plan is off the chart


@dataclass(frozen=True)
class FindingForm(teeth.SurfaceTicks):
    kind: str = "caries"
    state: str = "existing"
    material: str = ""
    note: str = ""


def check_finding(kind: str, state: str, material: str, surfaces: str, note: str = "") -> None:
    errors = collect(kind=None if kind in KINDS else gettext("Choose a finding from the list."),
                     state=None if state in STATES else gettext("Choose existing, planned or completed."),
                     material=None if material in MATERIALS else "Choose a material from the list.",
                     note=too_long(note, 500))
    if kind in SURFACE_KINDS and not surfaces and "kind" not in errors:
        errors["surfaces"] = f"Tick the surfaces with {KINDS[kind].lower()}."
    if errors:
        raise ValidationFailed(errors)


async def record_finding(actor: Actor, patient_id: int, tooth: int, form: FindingForm) -> int:
    require(actor, Permission.WRITE_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    if tooth not in teeth.ALL_TEETH:
        raise ValidationFailed({"tooth": "That is not a tooth."})
    surfaces = "" if form.kind in WHOLE_KINDS - {"fracture"} else form.surfaces
    check_finding(form.kind, form.state, form.material, surfaces, form.note)
    async with transaction():
        finding_id = await insert_finding(actor, patient_id, tooth, surfaces, form.kind, form.state,
                                          form.material, form.note.strip())
    return finding_id


async def insert_finding(actor: Actor, patient_id: int, tooth: int, surfaces: str, kind: str, state: str,
                         material: str = "", note: str = "", plan_item: int | None = None) -> int:
    """Write one finding and its audit row (the caller holds the transaction and has checked the input)."""
    finding_id = (await ToothFinding.insert(ToothFinding(
        clinic=actor.clinic_id, patient=patient_id, tooth=tooth, surfaces=surfaces, kind=kind, state=state,
        material=material, note=note, plan_item=plan_item, recorded_by=actor.id, recorded_by_name=actor.name,
        recorded_at=datetime.now(timezone.utc))))[0]["id"]
    await audit.record(actor, "tooth_finding.recorded", patient_id=patient_id, object_type="tooth_finding",
                       object_id=finding_id, detail={"tooth": tooth, "surfaces": surfaces, "kind": kind,
                                                     "state": state})
    return finding_id


def current_state(findings: list[dict]) -> dict[int, dict]:
    """Per tooth: {"surfaces": {letter: (kind, state)}, "whole": {kind: state}} from findings oldest first
    (planned work last, so it is drawn over what was found)."""
    chart: dict[int, dict] = {}
    for f in findings:
        tooth = chart.setdefault(f["tooth"], {"surfaces": {}, "whole": {}})
        if f["kind"] in WHOLE_KINDS and not f["surfaces"]:
            tooth["whole"][f["kind"]] = f["state"]
        for letter in f["surfaces"]:
            tooth["surfaces"][letter] = (f["kind"], f["state"])
    return chart


# Tooth procedures still planned in open plans, drawn as findings in state "planned" (the one home of the rule):
# the FROM and WHERE of every read of planned work; arguments: clinic, clinic, patient, OPEN_PLANS.
_PLANNED_WORK = ("FROM plan_item i JOIN treatment_plan tp ON tp.id = i.plan WHERE tp.clinic = {} AND i.clinic = {} "
                 "AND tp.patient = {} AND i.status = 'planned' AND tp.status = ANY({}) AND i.tooth IS NOT NULL "
                 "AND i.charts_as <> ''")
_PLANNED_ORDER = "tp.id, i.phase, i.id"
# What the drawing depends on, in one round trip (arguments: patient, clinic, clinic, clinic, patient, OPEN_PLANS):
# a version of the patient's findings and the planned work itself (a few rows). Findings are only ever inserted
# (ids from a sequence, recorded_at now) or erased (append-only by trigger), so their count, the sum of their ids
# and the newest recorded_at move on every change, also when a database starts its ids again (as the tests'
# truncation does).
_CHART_VERSION = ("(SELECT count(*) || ':' || coalesce(sum(f.id), 0) || ':' || coalesce(max(f.recorded_at)::text, '') "
                  "FROM tooth_finding f WHERE f.patient = {} AND f.clinic = {}) AS findings_version, "
                  "(SELECT coalesce(json_agg("
                  f"json_build_array(i.tooth, i.surfaces, i.charts_as) ORDER BY {_PLANNED_ORDER}), '[]')::text "
                  f"{_PLANNED_WORK}) AS planned")
# ... with the patient check (this clinic's, not isolated) and the clinic's numbering (then also: patient, clinic).
_CHART_READ = (f"SELECT c.tooth_numbering, {_CHART_VERSION} FROM patient p JOIN clinic c ON c.id = p.clinic "
               "WHERE p.id = {} AND p.clinic = {} AND p.isolated_at IS NULL")
KEPT_CHARTS = 256  # patients whose folded findings this process keeps (a few KB each)
KEEP_UNUSED_SECONDS = 300.0  # clinical data: a chart nobody opened for this long leaves memory at the next chart read
# (clinic, patient) -> ((findings version, planned work), state, last used): one entry per patient, the newest read,
# least recently used first; a changed version replaces it, so nothing older than the current chart is kept.
_kept: OrderedDict[tuple[int, int], tuple[tuple[str, str], dict[int, dict], float]] = OrderedDict()


@dataclass(frozen=True)
class ChartRead:
    numbering: str | None  # None when the caller had checked the patient (and read the numbering with it)
    state: dict[int, dict]  # current_state's shape; shared between requests: read it, never change it


async def read_chart(actor: Actor, patient_id: int, patient_checked: bool = False) -> ChartRead:
    """The drawing's input for one patient and the clinic's numbering; NotFound for another clinic's or an isolated
    patient. Reading it is audited (the read changes nothing, so the audit row needs no transaction of its own).
    `patient_checked`: the caller has just checked the patient is the actor clinic's and not isolated.

    A ten-year patient has about a thousand findings: folding them on every view was most of the tooth chart's
    time. The fold is kept per process under the findings' version and the planned work, both read with the
    patient check, so a change made by any process shows on the next view."""
    require(actor, Permission.READ_CLINICAL)
    args = [patient_id, actor.clinic_id, actor.clinic_id, actor.clinic_id, patient_id, list(OPEN_PLANS)]
    rows = await (ToothFinding.raw(f"SELECT {_CHART_VERSION}", *args) if patient_checked
                  else ToothFinding.raw(_CHART_READ, *args, patient_id, actor.clinic_id))
    if not rows:
        raise NotFound()
    row = rows[0]
    key, version = (actor.clinic_id, patient_id), (row["findings_version"], row["planned"])
    now = time.monotonic()
    while _kept and now - next(iter(_kept.values()))[2] > KEEP_UNUSED_SECONDS:
        _kept.popitem(last=False)
    kept = _kept.get(key)
    if kept is not None and kept[0] == version:
        _kept[key] = (version, kept[1], now)
        _kept.move_to_end(key)
        state = kept[1]
    else:
        findings = await ToothFinding.select(*CHART_COLUMNS).where(
            (ToothFinding.patient == patient_id) & (ToothFinding.clinic == actor.clinic_id)
            & ((ToothFinding.state != "planned") | ToothFinding.plan_item.is_null())).order_by(ToothFinding.id)
        planned = [{"tooth": tooth, "surfaces": surfaces, "kind": kind, "state": "planned"}
                   for tooth, surfaces, kind in json.loads(row["planned"])]
        state = current_state(findings + planned)
        _kept[key] = (version, state, now)
        _kept.move_to_end(key)
        while len(_kept) > KEPT_CHARTS:
            _kept.popitem(last=False)
    await audit.record(actor, "tooth_chart.viewed", patient_id=patient_id, object_type="tooth_chart",
                       object_id=patient_id)
    return ChartRead(row.get("tooth_numbering"), state)


async def chart_findings(actor: Actor, patient_id: int, patient_checked: bool = False) -> dict[int, dict]:
    """The drawing's input for one patient (see `read_chart`), per tooth: {"surfaces": {letter: (kind, state)},
    "whole": {kind: state}}. Kept between requests: read it, never change it."""
    return (await read_chart(actor, patient_id, patient_checked)).state


async def tooth_history(actor: Actor, patient_id: int, tooth: int) -> list[dict]:
    """Every finding on one tooth, newest first; NotFound for a number that is no tooth."""
    require(actor, Permission.READ_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    if tooth not in teeth.ALL_TEETH:
        raise NotFound()
    async with transaction():
        rows = await ToothFinding.select().where(
            (ToothFinding.patient == patient_id) & (ToothFinding.clinic == actor.clinic_id)
            & (ToothFinding.tooth == tooth)).order_by(ToothFinding.id, ascending=False)
        await audit.record(actor, "tooth_history.viewed", patient_id=patient_id, object_type="tooth",
                           object_id=tooth)
    return rows
