"""Aligner series: the first plan and each refinement (a new scan, a new round of stages), the batches handed to
the patient, which aligner the patient wears today, and the reminders to change aligners.

Rounds and batches are append-only; which aligner is worn is derived from the latest batch (its first aligner
goes in on `wear_from`, the next every `days_per_aligner` days), so nothing goes stale. A reminder goes out on each
change day by mail through the outbox, only when the patient asked for it (`reminders`, set at the chair) and
consents to reminder mail (re-checked when sent), keyed so a rerun queues nothing twice.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from portal import audit, clock, i18n
from portal.db import transaction
from portal.errors import NotFound, ValidationFailed
from portal.forms import parse_date, too_long, whole_number
from portal.i18n import gettext as _
from portal.messaging import outbox
from portal.patients import ensure_in_clinic
from portal.permissions import Actor, Permission, require
from portal.tables import AlignerBatch, AlignerRound, AlignerSeries, LabCase, PatientImage

REMINDER_CONSENT = "reminder_email"


@dataclass(frozen=True)
class SeriesForm:
    stages: str = ""
    days_per_aligner: str = "14"
    reminders: bool = False
    scan_image_id: str = ""
    lab_case_id: str = ""


@dataclass(frozen=True)
class BatchForm:
    first_stage: str = ""
    last_stage: str = ""
    wear_from: str = ""


@dataclass(frozen=True)
class RefinementForm:
    stages: str = ""
    scan_image_id: str = ""
    lab_case_id: str = ""
    note: str = ""


async def _scan(actor: Actor, patient_id: int, raw: str, errors: dict, required: bool) -> int | None:
    image_id = whole_number(raw)
    if image_id is None:
        if required or raw.strip():
            errors["scan_image_id"] = _("Choose the patient's new scan.")
        return None
    if not await PatientImage.exists().where(
            (PatientImage.id == image_id) & (PatientImage.patient == patient_id)
            & (PatientImage.clinic == actor.clinic_id) & PatientImage.withdrawn_at.is_null()):
        errors["scan_image_id"] = _("Choose the patient's new scan.")
    return image_id


async def _case(actor: Actor, patient_id: int, raw: str, errors: dict) -> int | None:
    case_id = whole_number(raw)
    if case_id is not None and not await LabCase.exists().where(
            (LabCase.id == case_id) & (LabCase.patient == patient_id) & (LabCase.clinic == actor.clinic_id)):
        errors["lab_case_id"] = _("Choose one of this patient's lab cases.")
    return case_id


def _stages(raw: str, errors: dict) -> int:
    stages = whole_number(raw)
    if stages is None or not 1 <= stages <= 120:
        errors["stages"] = _("Give the number of aligners, 1 to 120.")
    return stages or 0


async def start_series(actor: Actor, patient_id: int, form: SeriesForm) -> int:
    """A new aligner series with its first round of stages (from the scan and the lab case, when given)."""
    require(actor, Permission.WRITE_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    errors: dict[str, str] = {}
    stages = _stages(form.stages, errors)
    days = whole_number(form.days_per_aligner)
    if days is None or not 1 <= days <= 60:
        errors["days_per_aligner"] = _("Give the days each aligner is worn, 1 to 60.")
    scan = await _scan(actor, patient_id, form.scan_image_id, errors, required=False)
    case = await _case(actor, patient_id, form.lab_case_id, errors)
    if errors:
        raise ValidationFailed(errors)
    now = datetime.now(timezone.utc)
    async with transaction():
        series = AlignerSeries(clinic=actor.clinic_id, patient=patient_id, days_per_aligner=days,
                               reminders=form.reminders, created_by=actor.id, created_by_name=actor.name,
                               created_at=now)
        await series.save()
        await AlignerRound.insert(AlignerRound(clinic=actor.clinic_id, series=series.id, number=0, stages=stages,
                                               scan_image=scan, lab_case=case, created_by_name=actor.name,
                                               created_at=now))
        await audit.record(actor, "aligners.started", patient_id=patient_id, object_type="aligner_series",
                           object_id=series.id, detail={"stages": stages, "days": days, "reminders": form.reminders})
    return series.id


async def _series(actor: Actor, patient_id: int, series_id: int) -> dict:
    row = await AlignerSeries.select().where(
        (AlignerSeries.id == series_id) & (AlignerSeries.patient == patient_id)
        & (AlignerSeries.clinic == actor.clinic_id)).first()
    if row is None:
        raise NotFound()
    return row


async def _rounds(series_ids: list[int]) -> dict[int, list[dict]]:
    """Each series' rounds in order, each with its batches in order."""
    if not series_ids:
        return {}
    rounds = await AlignerRound.select().where(AlignerRound.series.is_in(series_ids)).order_by(AlignerRound.number)
    batches = await AlignerBatch.select().where(AlignerBatch.round.is_in([r["id"] for r in rounds] or [0])).order_by(
        AlignerBatch.wear_from, AlignerBatch.id) if rounds else []
    by_series: dict[int, list[dict]] = {i: [] for i in series_ids}
    for r in rounds:
        r["batches"] = [b for b in batches if b["round"] == r["id"]]
        by_series[r["series"]].append(r)
    return by_series


async def deliver_batch(actor: Actor, patient_id: int, series_id: int, form: BatchForm) -> int:
    """Hand the patient the next aligners of the current round; the first goes in on `wear_from`."""
    require(actor, Permission.WRITE_CLINICAL)
    errors: dict[str, str] = {}
    first, last = whole_number(form.first_stage), whole_number(form.last_stage)
    wear_from = parse_date(form.wear_from)
    async with transaction():
        series = await _series(actor, patient_id, series_id)
        current = (await _rounds([series_id]))[series_id][-1]
        delivered = max((b["last_stage"] for b in current["batches"]), default=0)
        if first != delivered + 1:
            errors["first_stage"] = _("The next aligner to hand over is number %(number)s.", number=delivered + 1)
        if last is None or first is None or not (first or 0) <= last <= current["stages"]:
            errors["last_stage"] = _("Give the last aligner of this batch, up to %(stages)s.", stages=current["stages"])
        if wear_from is None:
            errors["wear_from"] = _("Give the day the first aligner goes in, e.g. 2027-03-15.")
        if errors:
            raise ValidationFailed(errors)
        batch_id = (await AlignerBatch.insert(AlignerBatch(
            clinic=actor.clinic_id, round=current["id"], first_stage=first, last_stage=last, wear_from=wear_from,
            delivered_by_name=actor.name, created_at=datetime.now(timezone.utc))))[0]["id"]
        await audit.record(actor, "aligners.batch_delivered", patient_id=patient_id, object_type="aligner_series",
                           object_id=series["id"], detail={"round": current["number"], "first": first, "last": last})
    return batch_id


async def refine(actor: Actor, patient_id: int, series_id: int, form: RefinementForm) -> int:
    """The refinement loop: a new scan starts a new round of stages (numbered from 1 again); its batches follow."""
    require(actor, Permission.WRITE_CLINICAL)
    errors: dict[str, str] = {}
    stages = _stages(form.stages, errors)
    scan = await _scan(actor, patient_id, form.scan_image_id, errors, required=True)
    case = await _case(actor, patient_id, form.lab_case_id, errors)
    if problem := too_long(form.note.strip(), 500):
        errors["note"] = problem
    async with transaction():
        series = await _series(actor, patient_id, series_id)
        if errors:
            raise ValidationFailed(errors)
        number = len((await _rounds([series_id]))[series_id])
        round_id = (await AlignerRound.insert(AlignerRound(
            clinic=actor.clinic_id, series=series["id"], number=number, stages=stages, scan_image=scan,
            lab_case=case, note=form.note.strip(), created_by_name=actor.name,
            created_at=datetime.now(timezone.utc))))[0]["id"]
        await audit.record(actor, "aligners.refinement", patient_id=patient_id, object_type="aligner_series",
                           object_id=series["id"], detail={"round": number, "stages": stages, "scan": scan})
    return round_id


def wearing(series: dict, rounds: list[dict], today: date) -> dict | None:
    """Which aligner the patient wears today: the latest batch's first aligner from `wear_from`, the next every
    `days_per_aligner` days, the batch's last one kept until the next batch. None before any batch is worn."""
    batches = [(r, b) for r in rounds for b in r["batches"] if b["wear_from"] <= today]
    if not batches:
        return None
    current_round, batch = max(batches, key=lambda pair: (pair[1]["wear_from"], pair[1]["id"]))
    days = series["days_per_aligner"]
    step = (today - batch["wear_from"]).days // days
    stage = min(batch["first_stage"] + step, batch["last_stage"])
    finished = batch["first_stage"] + step > batch["last_stage"]
    next_change = None if stage == batch["last_stage"] else batch["wear_from"] + timedelta(days=(step + 1) * days)
    return {"round": current_round["number"], "stage": stage, "of": current_round["stages"],
            "next_change": next_change, "batch_used_up": finished and stage == batch["last_stage"],
            "changes_today": step > 0 and (today - batch["wear_from"]).days % days == 0 and not finished}


async def series_for(actor: Actor, patient_id: int) -> list[dict]:
    """The patient's aligner series, newest first, each with its rounds, batches and the aligner worn today."""
    require(actor, Permission.READ_CLINICAL)
    await ensure_in_clinic(actor, patient_id)
    async with transaction():
        rows = await AlignerSeries.select().where(
            (AlignerSeries.patient == patient_id) & (AlignerSeries.clinic == actor.clinic_id)).order_by(
            AlignerSeries.id, ascending=False)
        rounds = await _rounds([r["id"] for r in rows])
        await audit.record(actor, "aligners.viewed", patient_id=patient_id, object_type="patient",
                           object_id=patient_id)
    today = clock.today(actor.time_zone)
    for row in rows:
        row["rounds"] = rounds[row["id"]]
        row["wearing"] = wearing(row, row["rounds"], today)
        current = row["rounds"][-1]
        row["next_first"] = max((b["last_stage"] for b in current["batches"]), default=0) + 1
        row["current_round"] = current
    return rows


_REMINDER_ROWS = (
    "SELECT s.id, s.clinic, s.patient, s.days_per_aligner, p.given_name, p.email, p.preferred_language, "
    "c.name AS clinic_name, c.time_zone, c.locale AS clinic_language "
    "FROM aligner_series s JOIN patient p ON p.id = s.patient AND p.isolated_at IS NULL "
    "JOIN clinic c ON c.id = s.clinic "
    "WHERE s.reminders AND p.email <> '' AND chairside_may_contact(p.id, 'reminder_email') "
    "AND EXISTS (SELECT 1 FROM aligner_round r JOIN aligner_batch b ON b.round = r.id WHERE r.series = s.id "
    "AND b.wear_from > {}::date - 730) ORDER BY s.id")


def reminder_key(series_id: int, round_number: int, stage: int) -> str:
    return f"aligner:{series_id}:{round_number}:{stage}"


async def plan_change_reminders(now: datetime | None = None) -> int:
    """Queue today's "time for your next aligner" mails (the worker runs this every hour; keys make it once)."""
    now = now or datetime.now(timezone.utc)
    queued = 0
    rows = await AlignerSeries.raw(_REMINDER_ROWS, now.date())
    rounds = await _rounds([r["id"] for r in rows])
    for row in rows:
        today = clock.local(now, row["time_zone"]).date()
        worn = wearing(row, rounds[row["id"]], today)
        if worn is None or not worn["changes_today"]:
            continue
        with i18n.using(i18n.choose(row["preferred_language"], row["clinic_language"])):
            email = outbox.Email(
                to=row["email"], subject=_("%(clinic)s: time for aligner %(stage)s", clinic=row["clinic_name"],
                                           stage=worn["stage"]),
                text=_("Dear %(name)s,\n\nToday you change to aligner %(stage)s of %(of)s. Wear it about 22 hours "
                       "a day and keep the last one in its case.\n\n%(clinic)s\n", name=row["given_name"],
                       stage=worn["stage"], of=worn["of"], clinic=row["clinic_name"]))
        async with transaction():
            if await outbox.enqueue(email, key=reminder_key(row["id"], worn["round"], worn["stage"]),
                                    clinic_id=row["clinic"], patient_id=row["patient"],
                                    guard_consent=REMINDER_CONSENT):
                queued += 1
                await audit.record(None, "aligners.reminder_queued", patient_id=row["patient"],
                                   clinic_id=row["clinic"], object_type="aligner_series", object_id=row["id"],
                                   detail={"round": worn["round"], "stage": worn["stage"]})
    return queued
