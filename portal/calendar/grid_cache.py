"""The calendar grids' and the today board's appointments (and the grids' drawn cards), kept per web process under
the clinic's calendar version.

Staff reload the day and week all day, and most reloads show what the last one showed. The version
(`calendar_version`, migration 2026-12-04T12:10) moves at the commit of every change to an appointment, an alert or
a patient's name, and is read before the rows it guards, so a kept copy is served only while nothing it shows has
changed (a change committed during the read leaves a newer copy under the older version: redrawn at the next
look). Every showing is audited, a copy's too (`shown`).

A copy holds patients' names, so a newer version replaces it and it is served for at most `KEEP_SECONDS`; the
calendar's next read after that drops every copy that old (`_sweep`), so an erased patient's name does not stay in
the memory of a process in use, even if nobody looks at that day again.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from portal import audit
from portal.permissions import Actor
from portal.tables import CalendarVersion

ENTRIES = 256
KEEP_SECONDS = 300.0


@dataclass
class Kept:
    version: int
    rows: list[dict]  # shared by every request that is served them: read, never changed
    patients: list[int]
    read_at: float
    # what is derived from the rows and shown as they are: the grids' cards per placement (grid_html.cards), the
    # today board per minute (front_desk.today)
    drawn: dict[tuple, object] = field(default_factory=dict)


_kept: dict[tuple, Kept] = {}
_swept_at = 0.0


async def shown(actor: Actor, key: tuple, read: Callable[[], Awaitable[tuple[list[dict], list[int]]]],
                action: str) -> Kept:
    """This process's copy under `key` while the clinic's version has not moved, else `read()` (rows, patients
    shown) kept anew; the showing audited as `action` either way (audit.record_patients_shown).

    The usual reload (a copy held, its patients' own rows of the day written) is one statement: the version read
    and the list's audit row, written only if the version has not moved (audit.record_list_while). Otherwise the
    version is read first (a copy is never older than the version it is kept under), then the rows if they changed,
    then the audit rows."""
    _sweep()
    held = _kept.get(key)
    if held is not None and _fresh(held) and held.patients and audit.seen_today(actor, action, held.patients):
        current = await audit.record_list_while(actor, action, held.patients, _VERSION, (actor.clinic_id,),
                                                held.version)
        if current == held.version:
            return held
    else:
        current = await version(actor.clinic_id)
    found = await _kept_at(key, current, read)
    await audit.record_patients_shown(actor, action, found.patients)
    return found


async def _kept_at(key: tuple, current: int | None, read) -> Kept:
    found = get(key, current)
    if found is None:
        rows, patients = await read()
        found = put(key, current, rows, patients)
    return found


_VERSION = "SELECT version FROM calendar_version WHERE clinic = {}"


async def version(clinic_id: int) -> int | None:
    rows = await CalendarVersion.raw(_VERSION, clinic_id)
    return rows[0]["version"] if rows else None


def get(key: tuple, current: int | None) -> Kept | None:
    kept = _kept.get(key)
    if kept is None or current is None or kept.version != current or not _fresh(kept):
        return None
    return kept


def _fresh(kept: Kept) -> bool:
    return time.monotonic() - kept.read_at <= KEEP_SECONDS


def put(key: tuple, current: int | None, rows: list[dict], patients: list[int]) -> Kept:
    kept = Kept(current if current is not None else -1, rows, patients, time.monotonic())
    if current is not None:
        if len(_kept) >= ENTRIES and key not in _kept:
            _kept.clear()
        _kept[key] = kept
    return kept


def _sweep() -> None:
    """Drop the copies older than `KEEP_SECONDS` (looked at once every tenth of that)."""
    global _swept_at
    now = time.monotonic()
    if now - _swept_at < KEEP_SECONDS / 10:
        return
    _swept_at = now
    for key in [key for key, kept in _kept.items() if now - kept.read_at > KEEP_SECONDS]:
        del _kept[key]


def forget() -> None:
    """Drop every copy (tests that start on empty tables, where versions begin again)."""
    _kept.clear()
