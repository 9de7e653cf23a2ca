"""The audit trail: who read or changed which personal data, written in the caller's transaction, and the proof
that it is whole: PostgreSQL chains each clinic's rows by hash on insert; `verify_chain` walks a chain and names
the first changed, deleted or inserted row."""

import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from piccolo.columns.combination import WhereRaw
from piccolo.utils.encoding import dump_json

from portal import clock, display
from portal.db import engine
from portal.permissions import Actor, Permission, require
from portal.tables import AuditChainPurge, AuditEntry, Patient, Staff

# Set by the request middleware so domain code can stamp rows without being handed the request.
request_id_var: ContextVar[str] = ContextVar("request_id", default="")


# Written out: every page that shows personal data writes one, and building a Piccolo row object and its insert
# cost more than the statement itself. The chain trigger fills chain_seq, prev_hash and row_hash.
_INTO = ("INSERT INTO audit_entry (clinic_id, actor_kind, actor_id, actor_name, patient_id, action, object_type, "
         "object_id, request_id, detail, at) ")
_ROW = "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}::jsonb, {})"  # one row's values, in _INTO's order
_INSERT = _INTO + "VALUES " + _ROW
# The same values as a SELECT list, typed, for an INSERT ... SELECT ... WHERE: a row written only if a check holds.
_TYPED_ROW = ("SELECT {}::int, {}::text, {}::int, {}::text, {}::int, {}::text, {}::text, {}::text, {}::text, "
              "{}::jsonb, {}::timestamptz ")


async def record(actor: Actor | None, action: str, *, patient_id: int | None = None, object_type: str = "",
                 object_id=None, detail: dict | None = None, clinic_id: int | None = None) -> None:
    """Append one audit row (inside the current transaction, if any; outside one, at the end of `together`)."""
    values = (clinic_id if clinic_id is not None else (actor.clinic_id if actor else None),
              actor.kind if actor else "anonymous", actor.id if actor else None, actor.name if actor else "",
              patient_id, action, object_type, str(object_id) if object_id is not None else "",
              request_id_var.get(), dump_json(detail or {}), datetime.now(timezone.utc))
    pending = _pending.get()
    if pending is not None and engine().current_transaction.get() is None:
        pending.append(values)
        return
    await AuditEntry.raw(_INSERT, *values)


# The rows of reads made inside `together`, written when it ends.
_pending: ContextVar[list[tuple] | None] = ContextVar("audit_pending", default=None)


@asynccontextmanager
async def together() -> AsyncIterator[None]:
    """The audit rows of the reads made inside (outside a transaction), written in one statement when they have all
    succeeded: a page made of several audited reads, like the chart, pays one round trip for its rows. A row
    recorded inside a transaction stays in it (a change and its row commit together); if a read fails, the page is
    not shown and none of its rows is written."""
    rows: list[tuple] = []
    token = _pending.set(rows)
    try:
        yield
    finally:
        _pending.reset(token)
    if rows:
        await AuditEntry.raw(_INTO + "VALUES " + ", ".join([_ROW] * len(rows)), *(v for row in rows for v in row))


def logged(read_sql: str) -> str:
    """`read_sql` (a SELECT whose rows have `id` and `patient` columns) as one statement that also appends an audit
    row for each row it reads, with `logged_values` after the read's own values: a read and its audit row in one
    round trip, and no row for a read that found nothing."""
    return ("WITH shown AS (" + read_sql + "), logged AS (" + _INTO
            + "SELECT {}::int, {}::text, {}::int, {}::text, shown.patient, {}::text, {}::text, shown.id::text, "
            "{}::text, jsonb_build_object(), {}::timestamptz FROM shown) SELECT * FROM shown")


def logged_values(actor: Actor, action: str, object_type: str) -> tuple:
    return (actor.clinic_id, actor.kind, actor.id, actor.name, action, object_type, request_id_var.get(),
            datetime.now(timezone.utc))


_INSERT_IF_IN_CLINIC = (
    _INTO + _TYPED_ROW
    + "WHERE EXISTS (SELECT 1 FROM patient WHERE id = {} AND clinic = {} AND isolated_at IS NULL) RETURNING id")


async def record_if_in_clinic(actor: Actor, action: str, patient_id: int, *, object_type: str = "patient",
                             object_id=None, detail: dict | None = None) -> bool:
    """Append one audit row about a patient of the actor's clinic who is not isolated, and say whether there was
    one: the check a read needs and its audit row in one statement, so the read itself can go out at the same time
    (clinic-scoped, it finds nothing of another clinic's patient; the caller raises NotFound on False)."""
    rows = await AuditEntry.raw(_INSERT_IF_IN_CLINIC,
        actor.clinic_id, actor.kind, actor.id, actor.name, patient_id, action, object_type,
        str(object_id if object_id is not None else patient_id), request_id_var.get(), dump_json(detail or {}),
        datetime.now(timezone.utc), patient_id, actor.clinic_id)
    return bool(rows)


# Patients whose own row for the day this process has seen committed, per (clinic, actor kind, actor id, action,
# the clinic's day): the next showing asks the database only about the others. Rows are append-only, so a
# remembered row stays true; a forgotten one only costs the lookup.
_seen_today: dict[tuple, set[int]] = {}
SEEN_KEYS_KEPT = 5_000


async def record_patients_shown(actor: Actor, action: str, patient_ids: list[int]) -> None:
    """A list of patients was shown: one row for the showing, naming every patient on it, and a row of each
    patient's own (their access log) the first time this person is shown them under `action` on the clinic's day.

    The calendar and the front desk are reloaded all day: a row per patient per reload was most of their server
    time (the chain trigger hashes each row) and buried the log a patient reads under repeats. One statement, and
    after a first showing of the day none of its index lookups either.
    """
    if not patient_ids:
        return
    ids = sorted(set(patient_ids))
    day = _clinic_day(actor)
    since, _ = clock.day_bounds(day, actor.time_zone)
    key = (actor.clinic_id, actor.kind, actor.id, action, day)
    known = _seen_today.get(key, ())
    unknown = [pid for pid in ids if pid not in known]
    if not unknown:  # every patient's own row of the day is there: the list's row alone, without the lookups
        await AuditEntry.raw(_INSERT, *_list_row(actor, action, ids))
        return
    await AuditEntry.raw(
        "WITH fresh AS (SELECT pid FROM unnest({}::int[]) AS pid WHERE NOT EXISTS ("
        " SELECT 1 FROM audit_entry e WHERE e.clinic_id = {} AND e.object_type = 'patient' AND e.actor_id = {}"
        " AND e.patient_id = pid AND e.at >= {} AND e.action = {} AND e.actor_kind = {})) "
        + _INTO + "SELECT {}::int, {}::text, {}::int, {}::text, NULL::int, {}::text, 'patient_list', '', {}::text, "
        "jsonb_build_object('patients', {}::int[]), now() "
        "UNION ALL "
        "SELECT {}, {}, {}, {}, pid, {}, 'patient', pid::text, {}, jsonb_build_object(), now() FROM fresh",
        unknown, actor.clinic_id, actor.id, since, action, actor.kind,
        actor.clinic_id, actor.kind, actor.id, actor.name, action, request_id_var.get(), ids,
        actor.clinic_id, actor.kind, actor.id, actor.name, action, request_id_var.get())
    if unknown and engine().current_transaction.get() is None:  # committed: the rows are there for good
        if key not in _seen_today and len(_seen_today) >= SEEN_KEYS_KEPT:
            _seen_today.clear()
        _seen_today.setdefault(key, set()).update(unknown)


def seen_today(actor: Actor, action: str, patient_ids: list[int]) -> bool:
    """Whether this process has seen every one of these patients' own row of the clinic's day under `action`
    written, so that showing them again needs only the list's row (record_patients_shown)."""
    known = _seen_today.get((actor.clinic_id, actor.kind, actor.id, action, _clinic_day(actor)), ())
    return all(pid in known for pid in patient_ids)


async def record_list_while(actor: Actor, action: str, patient_ids: list[int], current_sql: str,
                            current_args: tuple, expected) -> object:
    """The list's own row of a showing whose patients' rows of the day are all there (`seen_today`), written only
    while `current_sql` (a SELECT of one value) still reads `expected`, in the same statement as that read: a kept
    copy's check and its audit row in one round trip. Returns what `current_sql` read; when that is not `expected`
    nothing was written, and the caller shows (and records) afresh."""
    rows = await AuditEntry.raw(
        "WITH current AS (" + current_sql + "), logged AS (" + _INTO + _TYPED_ROW
        + "WHERE (SELECT * FROM current) = {}) SELECT (SELECT * FROM current) AS current",
        *current_args, *_list_row(actor, action, sorted(set(patient_ids))), expected)
    return rows[0]["current"]


def _list_row(actor: Actor, action: str, ids: list[int]) -> tuple:
    """The values of a showing's own row (`_INSERT`): no patient of its own, every patient shown in its detail."""
    return (actor.clinic_id, actor.kind, actor.id, actor.name, None, action, "patient_list", "", request_id_var.get(),
            dump_json({"patients": ids}), datetime.now(timezone.utc))


def _clinic_day(actor: Actor) -> date:
    return datetime.now(timezone.utc).astimezone(ZoneInfo(actor.time_zone)).date()


def forget_seen() -> None:
    """Forget which rows this process has seen, so that a test starting on empty tables asks the database."""
    _seen_today.clear()


@dataclass(frozen=True)
class AuditFilter:
    staff_id: int | None = None
    patient_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def _bounds(actor: Actor, day: date, end: bool) -> datetime:
    local = datetime.combine(day + timedelta(days=1) if end else day, time.min, ZoneInfo(actor.time_zone))
    return local.astimezone(timezone.utc)


async def list_entries(actor: Actor, filters: AuditFilter, limit: int = 200) -> list[dict]:
    """The owner's view of the trail, newest first, scoped to the actor's clinic."""
    require(actor, Permission.VIEW_AUDIT)
    query = AuditEntry.select().where(AuditEntry.clinic_id == actor.clinic_id)
    if filters.staff_id is not None:
        query = query.where((AuditEntry.actor_kind == "staff") & (AuditEntry.actor_id == filters.staff_id))
    if filters.patient_id is not None:  # the patient's own rows and every showing of a list that named them
        query = query.where(WhereRaw("(patient_id = {} OR (object_type = 'patient_list' "
                                     "AND detail -> 'patients' @> to_jsonb({}::int)))",
                                     filters.patient_id, filters.patient_id))
    if filters.date_from is not None:
        query = query.where(AuditEntry.at >= _bounds(actor, filters.date_from, end=False))
    if filters.date_to is not None:
        query = query.where(AuditEntry.at < _bounds(actor, filters.date_to, end=True))
    rows = await query.order_by(AuditEntry.id, ascending=False).limit(limit)
    names = await _patient_names(actor, {r["patient_id"] for r in rows if r["patient_id"]})
    zone = ZoneInfo(actor.time_zone)
    for row in rows:
        row["patient_name"] = names.get(row["patient_id"], "")
        row["local_at"] = row["at"].astimezone(zone)
    await record(actor, "audit.viewed", detail={"filters": {k: str(v) for k, v in filters.__dict__.items()
                                                            if v is not None}, "rows": len(rows)})
    return rows


async def _patient_names(actor: Actor, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await Patient.select(Patient.id, Patient.given_name, Patient.family_name).where(
        (Patient.clinic == actor.clinic_id) & Patient.id.is_in(list(ids))
    )
    return {r["id"]: f'{r["given_name"]} {r["family_name"]}' for r in rows}


async def export_csv(actor: Actor, filters: AuditFilter) -> str:
    """The same rows as the page, as CSV for the clinic's records (the export itself is audited)."""
    rows = await list_entries(actor, filters, limit=50_000)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["at", "actor_kind", "actor_id", "actor_name", "patient_id", "patient_name", "action",
                     "object_type", "object_id", "request_id"])
    for r in rows:
        writer.writerow([display.csv_cell(v) for v in [r["local_at"].isoformat(), r["actor_kind"], r["actor_id"] or "",
                         r["actor_name"],
                         r["patient_id"] or "", r["patient_name"], r["action"], r["object_type"],
                         r["object_id"], r["request_id"]]])
    await record(actor, "audit.exported", detail={"rows": len(rows)})
    return out.getvalue()


async def staff_choices(actor: Actor) -> list[dict]:
    """Staff of the actor's clinic, for the audit filter."""
    require(actor, Permission.VIEW_AUDIT)
    return await Staff.select(Staff.id, Staff.name).where(Staff.clinic == actor.clinic_id).order_by(Staff.name)


async def filer_of(clinic_id: int, action: str, object_type: str, object_id) -> tuple[str, int | None] | None:
    """(actor kind, actor id) of the first row recording `action` on an object: who filed it, from the trail."""
    row = await AuditEntry.select(AuditEntry.actor_kind, AuditEntry.actor_id).where(
        (AuditEntry.clinic_id == clinic_id) & (AuditEntry.action == action) & (AuditEntry.object_type == object_type)
        & (AuditEntry.object_id == str(object_id))).order_by(AuditEntry.chain_seq).first()
    return (row["actor_kind"], row["actor_id"]) if row else None


@dataclass(frozen=True)
class ChainReport:
    """One clinic's chain (0: rows of no clinic): how many rows, up to which row it verified, what is wrong."""

    chain: int
    rows: int
    verified_up_to: int
    problems: tuple[str, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


async def verify_chain(chain: int) -> ChainReport:
    """Recompute every row's hash in chain order; a gap is fine only where the retention engine left its mark."""
    rows = await AuditEntry.raw(
        "SELECT id, chain_seq, prev_hash, row_hash, audit_entry_digest(a) AS computed FROM audit_entry a "
        "WHERE coalesce(clinic_id, 0) = {} ORDER BY chain_seq NULLS FIRST, id", chain)
    purged = {r["chain_seq"]: r["row_hash"] for r in await AuditChainPurge.select(
        AuditChainPurge.chain_seq, AuditChainPurge.row_hash).where(AuditChainPurge.chain == chain)}
    problems: list[str] = []
    expected, previous_hash, verified = 1, "", 0
    for row in rows:
        seq = row["chain_seq"]
        if seq is None:
            problems.append(f"row id {row['id']} is outside the chain: inserted around the trigger")
            continue
        while expected < seq and expected in purged:  # purged by retention: its hash still links the chain
            previous_hash, expected = purged[expected], expected + 1
        if expected < seq:
            missing = f"row {expected}" if seq == expected + 1 else f"rows {expected}-{seq - 1}"
            problems.append(f"{missing} deleted (before row {seq}, id {row['id']})")
        elif row["prev_hash"] != previous_hash:
            problems.append(f"row {seq} (id {row['id']}) does not follow row {seq - 1}: a row was changed, deleted "
                            "or inserted before it")
        if row["computed"] != row["row_hash"]:
            problems.append(f"row {seq} (id {row['id']}) was changed after it was written")
        if not problems:
            verified = seq
        previous_hash, expected = row["row_hash"], seq + 1
    return ChainReport(chain=chain, rows=len(rows), verified_up_to=verified, problems=tuple(problems))


async def verify_all() -> list[ChainReport]:
    """Every chain in the database, for `portal audit verify`."""
    chains = await AuditEntry.raw("SELECT DISTINCT coalesce(clinic_id, 0) AS chain FROM audit_entry ORDER BY 1")
    return [await verify_chain(r["chain"]) for r in chains]


async def chain_status(actor: Actor) -> ChainReport:
    """The owner's audit page: is this clinic's trail whole, and up to which row."""
    require(actor, Permission.VIEW_AUDIT)
    return await verify_chain(actor.clinic_id)
