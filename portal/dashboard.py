"""The signed-in home page: today's clinic at a glance (the calendar fills in appointments later)."""

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date

from portal import i18n
from portal.billing import reports
from portal.lab import cases as lab_cases
from portal.messaging import page_insights
from portal.permissions import Actor, Permission, can, require
from portal.privacy import breaches
from portal.privacy.requests import clock_counts
from portal.tables import PatientTally


async def clinic_overview(actor: Actor, calendar_version: int | None = None) -> dict:
    """Counts and a six-month series of new patients (the rest of the page comes with `clinic_figures`).

    `calendar_version`: the clinic's calendar version as the caller read it (the today board's), which moves with
    the patient tally (migration 2026-12-04T12:20); the staff count moves the set-up version. Under both, the counts
    are kept in this process, so a dashboard reload reads nothing for them."""
    require(actor, Permission.VIEW_DASHBOARD)
    zone = ZoneInfo(actor.time_zone)
    today = datetime.now(zone).date()
    first = date(today.year, today.month, 1)
    months = [_shift_month(first, -k) for k in range(5, -1, -1)]
    key = (actor.clinic_id, actor.setup_version, calendar_version, first)
    keep = calendar_version is not None and bool(actor.setup_version)
    counts = _kept_counts.get(key) if keep else None
    if counts is None:
        counts = await _read_counts(actor, months[0])
        if keep:
            if len(_kept_counts) >= KEPT_COUNTS:
                _kept_counts.clear()
            _kept_counts[key] = counts
    per_month = dict(zip(counts["months"] or (), counts["counts"] or (), strict=True))
    locale = i18n.babel_locale()
    series = [{"label": _month_label(m, locale), "count": per_month.get(m, 0)} for m in months]
    return {
        "today": today,
        "patients": counts["patients"],
        "staff": counts["staff"],
        "new_patients": series,
    }


# Per (clinic, set-up version, calendar version, month): counts only, no one's personal data; a moved version is a
# new key, and the memory is emptied when it holds this many.
_kept_counts: dict[tuple, dict] = {}
KEPT_COUNTS = 1_000


async def _read_counts(actor: Actor, since: date) -> dict:
    # One round trip and one pass over a clinic's tally rows (one per month, kept by triggers: migration
    # 2026-12-04T10:10), so the page staff reload all day never counts every patient. Arrays rather than a JSON
    # object built with to_char: half the statement's time.
    rows = await PatientTally.raw(
        "SELECT coalesce(sum(patients), 0) AS patients, array_agg(month) FILTER (WHERE month >= {}) AS months, "
        "array_agg(patients) FILTER (WHERE month >= {}) AS counts, "
        "(SELECT count(*) FROM staff WHERE clinic = {} AND active) AS staff FROM patient_tally WHERE clinic = {}",
        since, since, actor.clinic_id, actor.clinic_id)
    return rows[0]


def forget_counts() -> None:
    """Forget the kept counts (tests that start on empty tables, where versions begin again)."""
    _kept_counts.clear()


# The blocks that change rarely, each one query, read by a fragment the page loads after its first paint.
FIGURE_PERMISSIONS = (Permission.MANAGE_CALENDAR, Permission.HANDLE_PRIVACY_REQUESTS, Permission.MANAGE_CLINIC,
                      Permission.VIEW_REPORTS)


def has_figures(actor: Actor) -> bool:
    """Whether the dashboard has a figures block to load for this person at all."""
    return any(can(actor, p) for p in FIGURE_PERMISSIONS)


async def clinic_figures(actor: Actor) -> dict:
    """Breach clocks, privacy request clocks, the month's money, lab work late for its seating (those names
    audited) and the Page's reach, as far as the role may see each."""
    require(actor, Permission.VIEW_DASHBOARD)
    lab_late = await lab_cases.late_cases(actor) if can(actor, Permission.MANAGE_CALENDAR) else []
    privacy = None
    if can(actor, Permission.HANDLE_PRIVACY_REQUESTS):
        privacy = await clock_counts(actor)
    breach_clocks = await breaches.open_clocks(actor) if can(actor, Permission.MANAGE_CLINIC) else []
    money = await reports.headline(actor) if can(actor, Permission.VIEW_REPORTS) else None
    social = await page_insights.weekly(actor) if can(actor, Permission.MANAGE_CLINIC) else None
    return {"social": social, "breach_clocks": breach_clocks, "money": money, "privacy": privacy,
            "lab_late": lab_late}


@lru_cache(maxsize=512)
def _month_label(month: date, locale) -> str:
    """A month's name in the reader's language (CLDR stand-alone abbreviations: "Nov", "nov.", "Kas"), kept: Babel
    resolves the pattern on every call, and the dashboard shows the same six months all month."""
    return format_date(month, "LLL", locale=locale)


def _shift_month(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


