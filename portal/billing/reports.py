"""The owner's reports: production, collections and aging read from the ledger, and the practice reports of
`calendar_reports` read from the calendar (never stored).

Production is what was charged less what credit notes took back, by month, provider and fee code; collections
are payments less refunds, by month and method; aging sums every account's open debt by age. Months are the
clinic's local months. Each report is a table, a bar chart drawn on the server (`bars`) and a CSV file.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from portal import audit
from portal.billing import calendar_reports, ledger
from portal.billing.ledger import ZERO
from portal.charts.fee_schedule import currency
from portal.errors import ValidationFailed
from portal.forms import parse_date
from portal.i18n import _, lazy_gettext
from portal.permissions import Actor, Permission, require
from portal.tables import LedgerEntry

REPORTS = {"production_month": lazy_gettext("Production by month"),
           "production_provider": lazy_gettext("Production by provider"),
           "production_code": lazy_gettext("Production by fee code"),
           "collections_month": lazy_gettext("Collections by month and method"),
           "aging": lazy_gettext("Outstanding balances by age"), **calendar_reports.REPORTS}
MAX_DAYS = 3 * 366
# What each report's table shows: (row key, heading, how the value reads: text, method, money, number, percent).
_MONEY = [("label", lazy_gettext("Period or name"), "text"), ("amount", lazy_gettext("Amount"), "money"),
          ("items", lazy_gettext("Count"), "number")]
COLUMNS = {name: _MONEY for name in REPORTS} | {
    "collections_month": [_MONEY[0], ("method", lazy_gettext("Method"), "method"), *_MONEY[1:]],
    "no_shows_month": [("label", lazy_gettext("Month"), "text"), ("amount", lazy_gettext("No-show rate"), "percent"),
                       ("cancel_rate", lazy_gettext("Cancellation rate"), "percent"),
                       ("items", lazy_gettext("Appointments"), "number"),
                       ("no_shows", lazy_gettext("No-shows"), "number"),
                       ("cancellations", lazy_gettext("Cancellations"), "number")],
    "utilisation_week": [("label", lazy_gettext("Week"), "text"), ("amount", lazy_gettext("Utilisation"), "percent"),
                         ("booked_hours", lazy_gettext("Chair hours booked"), "number"),
                         ("open_hours", lazy_gettext("Chair hours open"), "number"),
                         ("items", lazy_gettext("Appointments"), "number")],
    "new_patients_month": [("label", lazy_gettext("Month"), "text"),
                           ("amount", lazy_gettext("New patients"), "number")]}
# Bars drawn per row: the chart's series (a second series sits beside the first, in its own colour).
SERIES = {"no_shows_month": (("amount", lazy_gettext("No-show rate")),
                             ("cancel_rate", lazy_gettext("Cancellation rate")))}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    def bounds(self, zone: str) -> tuple[datetime, datetime]:
        tz = ZoneInfo(zone)
        return (datetime.combine(self.start, time(), tz).astimezone(timezone.utc),
                datetime.combine(self.end + timedelta(days=1), time(), tz).astimezone(timezone.utc))


def period(actor: Actor, start: str, end: str) -> Period:
    """The chosen range, by default the twelve months up to today (local)."""
    today = datetime.now(timezone.utc).astimezone(ZoneInfo(actor.time_zone)).date()
    months_back = today.year * 12 + today.month - 1 - 11
    first = parse_date(start) if start.strip() else date(months_back // 12, months_back % 12 + 1, 1)
    last = parse_date(end) if end.strip() else today
    errors = {}
    if first is None:
        errors["start"] = _("Enter a date like 2026-01-31.")
    if last is None:
        errors["end"] = _("Enter a date like 2026-01-31.")
    if not errors and (last < first or (last - first).days > MAX_DAYS):
        errors["end"] = _("Choose an end after the start and at most three years later.")
    if errors:
        raise ValidationFailed(errors)
    return Period(first, last)


async def _rows(actor: Actor, report: str, span: Period) -> list[dict]:
    low, high = span.bounds(actor.time_zone)
    zone = actor.time_zone
    if report == "production_month":
        return await LedgerEntry.raw(
            "SELECT to_char(date_trunc('month', at AT TIME ZONE {}), 'YYYY-MM') AS label, sum(amount) AS amount, "
            "count(*) FILTER (WHERE kind = 'charge') AS items FROM ledger_entry WHERE clinic = {} "
            "AND kind IN ('charge', 'credit_note') AND at >= {} AND at < {} GROUP BY 1 ORDER BY 1",
            zone, actor.clinic_id, low, high)
    if report == "production_provider":
        return await LedgerEntry.raw(
            "SELECT coalesce(s.name, {}) AS label, sum(e.amount) AS amount, "
            "count(*) FILTER (WHERE e.kind = 'charge') AS items FROM ledger_entry e LEFT JOIN staff s "
            "ON s.id = e.provider WHERE e.clinic = {} AND e.kind IN ('charge', 'credit_note') AND e.at >= {} "
            "AND e.at < {} GROUP BY 1 ORDER BY 2 DESC", _("(no provider)"), actor.clinic_id, low, high)
    if report == "production_code":
        return await LedgerEntry.raw(
            "SELECT code AS label, sum(amount) AS amount, count(*) FILTER (WHERE kind = 'charge') AS items "
            "FROM ledger_entry WHERE clinic = {} AND kind IN ('charge', 'credit_note') AND at >= {} AND at < {} "
            "GROUP BY 1 ORDER BY 2 DESC", actor.clinic_id, low, high)
    if report == "collections_month":
        rows = await LedgerEntry.raw(
            "SELECT to_char(date_trunc('month', at AT TIME ZONE {}), 'YYYY-MM') AS label, method, "
            "-sum(amount) AS amount, count(*) AS items FROM ledger_entry WHERE clinic = {} "
            "AND kind IN ('payment', 'refund') AND at >= {} AND at < {} GROUP BY 1, 2 ORDER BY 1, 2",
            zone, actor.clinic_id, low, high)
        return rows
    if report in calendar_reports.REPORTS:
        return await calendar_reports.rows(actor, report, span)
    return await _aging(actor)  # aging is as of today: the range does not apply


async def _aging(actor: Actor) -> list[dict]:
    """Every account that owes something, aged as its own page ages it, summed per bucket."""
    entries = await LedgerEntry.raw(
        "SELECT e.id, e.account, e.amount, e.at FROM ledger_entry e WHERE e.clinic = {} AND e.account IN "
        "(SELECT account FROM ledger_entry WHERE clinic = {} GROUP BY account HAVING sum(amount) > 0)",
        actor.clinic_id, actor.clinic_id)
    by_account: dict[int, list[dict]] = {}
    for entry in entries:
        by_account.setdefault(entry["account"], []).append(entry)
    today = datetime.now(timezone.utc).astimezone(ZoneInfo(actor.time_zone)).date()
    totals = {key: ZERO for key in ledger.BUCKETS}
    counts = {key: 0 for key in ledger.BUCKETS}
    for rows in by_account.values():
        for key, value in ledger.aging(rows, today).buckets:
            totals[key] += value
            counts[key] += 1 if value else 0
    return [{"label": str(ledger.BUCKETS[key]), "amount": totals[key], "items": counts[key]} for key in totals]


def bars(rows: list[dict], width: int = 900, height: int = 240, series: tuple = (("amount", ""),)) -> list[dict]:
    """Bar geometry for the SVG chart: one group per row, one bar per series in it; the tallest reaches the top,
    negatives draw at zero."""
    top = max((r[key] for r in rows for key, _name in series), default=ZERO)
    if not rows or top <= 0:
        return []
    step = width / len(rows)
    bar = step * 0.8 / len(series)
    out = []
    for i, row in enumerate(rows):
        for k, (key, name) in enumerate(series):
            h = float(max(row[key], ZERO) / top) * height
            out.append({"x": round(i * step + step * 0.1 + k * bar, 1), "w": round(bar, 1), "y": round(height - h, 1),
                        "h": round(h, 1), "cx": round(i * step + step / 2, 1), "label": row["label"],
                        "method": row.get("method"), "amount": row[key], "series": str(name) if k or name else "",
                        "second": k > 0})
    return out


async def report(actor: Actor, name: str, start: str = "", end: str = "") -> dict:
    """One report over the chosen range: rows, total, chart bars; reading it is audited."""
    require(actor, Permission.VIEW_REPORTS)
    if name not in REPORTS:
        raise ValidationFailed({"report": _("Choose a report from the list.")})
    span = period(actor, start, end)
    rows = await _rows(actor, name, span)
    await audit.record(actor, "reports.viewed", object_type="report", object_id=name,
                       detail={"start": span.start.isoformat(), "end": span.end.isoformat()})
    columns = COLUMNS[name]
    unit = columns[-1][2] if name == "new_patients_month" else "percent" if name in calendar_reports.REPORTS \
        else "money"
    return {"name": name, "period": span, "rows": rows, "columns": columns, "unit": unit,
            "bars": bars(rows, series=SERIES.get(name, (("amount", ""),))), "currency": await currency(actor.clinic_id),
            "total": None if unit == "percent" else sum((r["amount"] for r in rows), Decimal("0.00") if
                                                        unit == "money" else 0)}


def as_csv(result: dict) -> str:
    """The report's table as CSV: machine keys as headings, plain numbers (a dot for decimals)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["count" if key == "items" else key for key, _heading, _kind in result["columns"]])
    for row in result["rows"]:
        writer.writerow([f"{row[key]:.2f}" if kind == "money" else row[key]
                         for key, _heading, kind in result["columns"]])
    return out.getvalue()


async def headline(actor: Actor) -> dict:
    """The owner's few numbers for the dashboard, in one round trip: this month's production and collections,
    what accounts owe today, the no-show rate of the last 30 days, and this month's new patients."""
    require(actor, Permission.VIEW_REPORTS)
    zone = ZoneInfo(actor.time_zone)
    now = datetime.now(timezone.utc)
    today = now.astimezone(zone).date()
    month = datetime.combine(today.replace(day=1), time(), zone).astimezone(timezone.utc)
    row = (await LedgerEntry.raw(
        "SELECT (SELECT coalesce(sum(amount), 0) FROM ledger_entry WHERE clinic = {} "
        "AND kind IN ('charge', 'credit_note') AND at >= {}) AS production, "
        "(SELECT coalesce(-sum(amount), 0) FROM ledger_entry WHERE clinic = {} AND kind IN ('payment', 'refund') "
        "AND at >= {}) AS collections, "
        "(SELECT coalesce(sum(owed), 0) FROM (SELECT sum(amount) AS owed FROM ledger_entry WHERE clinic = {} "
        "GROUP BY account HAVING sum(amount) > 0) o) AS outstanding, "
        "(SELECT count(*) FILTER (WHERE status = 'no_show') FROM appointment WHERE clinic = {} "
        "AND starts_at >= {} AND starts_at < {}) AS no_shows, "
        "(SELECT count(*) FILTER (WHERE status <> 'cancelled') FROM appointment WHERE clinic = {} "
        "AND starts_at >= {} AND starts_at < {}) AS kept, "
        "(SELECT count(*) FROM patient WHERE clinic = {} AND created_at >= {}) AS new_patients, "
        "(SELECT currency FROM clinic WHERE id = {}) AS currency",
        actor.clinic_id, month, actor.clinic_id, month, actor.clinic_id, actor.clinic_id, now - timedelta(days=30),
        now, actor.clinic_id, now - timedelta(days=30), now, actor.clinic_id, month, actor.clinic_id))[0]
    return {**row, "no_show_rate": calendar_reports.rate(row["no_shows"], row["kept"])}
