"""Page insights: a connected Facebook Page's followers and reach per week, fetched by a periodic job from the Graph
API's `/{page-id}/insights`, kept as Page data (deleted with the Page on disconnection), and drawn with the leads
per week on the owner's dashboard.

Meta's shape: `GET /{version}/{page-id}/insights?metric=…&period=…&since=…&until=…` with the Page token answers
`{"data": [{"name": metric, "period": period, "values": [{"value": n, "end_time": "2026-11-23T08:00:00+0000"}]}]}`.
A `week` value counts the seven days before its `end_time`, one value per day (a rolling window), so every seventh
value back from the newest is one calendar week. Reach is `page_impressions_unique` (period `week`); followers are
`page_follows` (period `day`, the total on that day). Leads per week are counted from the leads inbox, where lead
ads already land: that count is ours, not Meta's estimate, and is never stored twice.
"""

import logging
from datetime import date, datetime, timedelta, timezone

import httpx

from portal.db import transaction
from portal.messaging import credentials, social
from portal.permissions import Actor, Permission, require
from portal.settings import Settings
from portal.tables import MetaPage, MetaPageInsight

log = logging.getLogger(__name__)
REACH = ("page_impressions_unique", "week")
FOLLOWERS = ("page_follows", "day")
WEEKS = 8


def _values(answer: dict, metric: str, period: str) -> dict[date, int]:
    """{the last day counted: value} for one metric of an insights answer; anything not of Meta's shape is skipped."""
    found = {}
    for item in answer.get("data") or []:
        if not isinstance(item, dict) or item.get("name") != metric or item.get("period") != period:
            continue
        for point in item.get("values") or []:
            if not isinstance(point, dict) or isinstance(point.get("value"), bool):
                continue
            if not isinstance(point.get("value"), int) or not isinstance(point.get("end_time"), str):
                continue
            try:
                ends = datetime.strptime(point["end_time"], "%Y-%m-%dT%H:%M:%S%z")
            except ValueError:
                continue
            found[(ends.astimezone(timezone.utc) - timedelta(days=1)).date()] = point["value"]
    return found


def weeks_of(reach: dict[date, int], followers: dict[date, int]) -> list[tuple[date, int | None, int | None]]:
    """(week ending, followers then, reach that week) for up to WEEKS calendar weeks back from the newest value."""
    if not reach and not followers:
        return []
    newest = max(reach or followers)
    rows = []
    for k in range(WEEKS):
        day = newest - timedelta(days=7 * k)
        known = [d for d in followers if d <= day]
        if day not in reach and not known:
            break
        rows.append((day, followers[max(known)] if known else None, reach.get(day)))
    return rows


async def _fetch_page(http: httpx.AsyncClient, settings: Settings, page_id: str, token: str,
                      now: datetime) -> list[tuple[date, int | None, int | None]]:
    since, until = now - timedelta(days=7 * WEEKS + 1), now  # every value whose period ended by now
    found = {}
    for metric, period in (REACH, FOLLOWERS):
        answer = await social._call(http, "GET", social._graph(settings, f"{page_id}/insights"), params={
            "metric": metric, "period": period, "since": int(since.timestamp()), "until": int(until.timestamp()),
            "access_token": token})
        found[metric] = _values(answer, metric, period)
    return weeks_of(found[REACH[0]], found[FOLLOWERS[0]])


async def fetch(settings: Settings, client: httpx.AsyncClient | None = None, now: datetime | None = None) -> int:
    """The periodic job: refresh every connected Page's weeks; returns how many Pages answered. A Page Meta refuses
    is skipped (logged) and tried again next run."""
    now = now or datetime.now(timezone.utc)
    fetched = 0
    for page in await MetaPage.select(MetaPage.clinic, MetaPage.page_id):
        try:
            saved = await credentials.load(settings, page["clinic"], "meta")
        except credentials.CredentialsUnreadable:
            continue
        if not saved or saved.get("page_id") != page["page_id"]:
            continue
        try:
            async with httpx.AsyncClient() if client is None else social._borrowed(client) as http:
                weeks = await _fetch_page(http, settings, page["page_id"], saved["page_token"], now)
        except social.GraphError as exc:
            log.info("meta insights for page %s not fetched: %s", page["page_id"], exc)
            continue
        async with transaction():
            for week_ending, followers, reach in weeks:
                # Only while the Page is still connected: a disconnection that raced this fetch keeps nothing.
                await MetaPageInsight.raw(
                    "INSERT INTO meta_page_insight (clinic, page_id, week_ending, followers, reach, fetched_at) "
                    "SELECT {}, {}, {}, {}, {}, now() WHERE EXISTS (SELECT 1 FROM meta_page WHERE clinic = {} "
                    "AND page_id = {}) ON CONFLICT (clinic, page_id, week_ending) DO UPDATE SET "
                    "followers = EXCLUDED.followers, reach = EXCLUDED.reach, fetched_at = EXCLUDED.fetched_at",
                    page["clinic"], page["page_id"], week_ending, followers, reach, page["clinic"], page["page_id"])
        fetched += 1
    return fetched


async def weekly(actor: Actor) -> dict | None:
    """The owner's chart: per week (oldest first) followers, reach and leads; None without a connected Page."""
    require(actor, Permission.MANAGE_CLINIC)
    page = await MetaPage.select(MetaPage.page_id, MetaPage.name).where(MetaPage.clinic == actor.clinic_id).first()
    if page is None:
        return None
    rows = await MetaPageInsight.raw(
        "SELECT i.week_ending, i.followers, i.reach, (SELECT count(*) FROM lead l WHERE l.clinic = i.clinic "
        "AND l.source <> '' AND l.created_at >= (i.week_ending - 6)::timestamp AT TIME ZONE 'UTC' "
        "AND l.created_at < (i.week_ending + 1)::timestamp AT TIME ZONE 'UTC') AS leads "
        "FROM meta_page_insight i WHERE i.clinic = {} AND i.page_id = {} ORDER BY i.week_ending DESC LIMIT {}",
        actor.clinic_id, page["page_id"], WEEKS)
    weeks = list(reversed(rows))
    return {"name": page["name"], "weeks": weeks, **chart(weeks)}


def chart(weeks: list[dict], width: int = 480, height: int = 160) -> dict:
    """Geometry for the server-drawn SVG: reach as bars, followers as a line, each on its own scale."""
    if not weeks:
        return {"bars": [], "line": "", "dots": [], "width": width, "height": height}
    step = width / len(weeks)
    top, bottom = 20, height - 30
    reach_max = max([w["reach"] or 0 for w in weeks] + [1])
    known = [w["followers"] for w in weeks if w["followers"] is not None]
    low, high = (min(known), max(known)) if known else (0, 1)
    span = max(high - low, 1)
    bars, dots = [], []
    for i, week in enumerate(weeks):
        h = round((week["reach"] or 0) / reach_max * (bottom - top), 1)
        x = round(i * step + step * 0.15, 1)
        bars.append({"x": x, "y": round(bottom - h, 1), "w": round(step * 0.7, 1), "h": h,
                     "mid": round(i * step + step / 2, 1), "week": week})
        if week["followers"] is not None:
            y = round(bottom - (week["followers"] - low) / span * (bottom - top), 1) if high > low else (top + 10)
            dots.append({"x": round(i * step + step / 2, 1), "y": y, "week": week})
    line = " ".join(f"{d['x']},{d['y']}" for d in dots)
    return {"bars": bars, "line": line, "dots": dots, "width": width, "height": height}
