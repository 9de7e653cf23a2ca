"""Page insights against the stand-in Graph API: the daily job fetches followers and reach per week from
`/{page-id}/insights` (Meta's metric names and periods), keeps them as Page data, the owner's dashboard draws them
with the leads per week, and a disconnection deletes them with the token (at once and after the check)."""

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest

from portal.app import create_app
from portal.messaging import credentials, page_insights, social
from portal.permissions import Role
from portal.tables import Lead, MetaDisconnection, MetaPage, MetaPageInsight
from tests import factories
from tests.factories import sign_in_as
from tests.meta_stub import APP_ID, APP_SECRET, PAGE_ID, PAGE_NAME, PAGE_TOKEN, MetaStub

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)  # a Monday: the newest full day Meta reports is Sunday


@pytest.fixture
def meta_settings(settings, meta):
    return replace(settings, meta_app_id=APP_ID, meta_app_secret=APP_SECRET, meta_graph_url=meta.url,
                   public_url="http://testserver")


async def _connected(clinic, settings) -> None:
    await MetaPage.insert(MetaPage(clinic=clinic.clinic_id, page_id=PAGE_ID, name=PAGE_NAME, meta_user_id="1",
                                   connected_at=NOW - timedelta(days=90)))
    await credentials.save(clinic, settings, "meta", {"page_id": PAGE_ID, "page_token": PAGE_TOKEN})


def _meta_reports(meta: MetaStub, days: int = 30) -> None:
    """What Meta holds: per day a rolling seven-day reach and the follower total, ending at Pacific midnight."""
    for k in range(days):
        day = date(2026, 11, 29) - timedelta(days=k)  # the day counted; end_time is the next midnight (PST = 08 UTC)
        end_time = f"{(day + timedelta(days=1)).isoformat()}T08:00:00+0000"
        meta.add_insight("page_impressions_unique", end_time, 1000 + 10 * (days - k))
        meta.add_insight("page_follows", end_time, 500 + (days - k))


async def test_the_job_fetches_weeks_of_followers_and_reach_as_meta_reports_them(clinic, meta, meta_settings):
    await _connected(clinic, meta_settings)
    _meta_reports(meta)
    assert await page_insights.fetch(meta_settings, now=NOW) == 1
    queries = {(q["metric"], q["period"]) for q in meta.insight_queries}
    assert queries == {("page_impressions_unique", "week"), ("page_follows", "day")}
    assert all(q["access_token"] == PAGE_TOKEN for q in meta.insight_queries) and meta.refused == []
    rows = await MetaPageInsight.select(MetaPageInsight.week_ending, MetaPageInsight.followers,
                                        MetaPageInsight.reach).order_by(MetaPageInsight.week_ending, ascending=False)
    # every seventh rolling value back from Sunday 29 November: whole weeks, never overlapping
    assert [r["week_ending"] for r in rows] == [date(2026, 11, 29) - timedelta(days=7 * k) for k in range(5)]
    assert rows[0] == {"week_ending": date(2026, 11, 29), "followers": 530, "reach": 1300}
    assert rows[1] == {"week_ending": date(2026, 11, 22), "followers": 523, "reach": 1230}
    assert await page_insights.fetch(meta_settings, now=NOW) == 1  # a second run refreshes, never duplicates
    assert await MetaPageInsight.count() == 5


async def test_a_page_meta_refuses_is_skipped_and_nothing_is_kept(clinic, meta, meta_settings):
    await _connected(clinic, meta_settings)
    _meta_reports(meta)
    meta.pages[0]["access_token"] = "EAArevoked"  # the owner removed the app at Facebook
    assert await page_insights.fetch(meta_settings, now=NOW) == 0
    assert await MetaPageInsight.count() == 0 and meta.refused


def test_weeks_step_back_seven_days_from_the_newest_value():
    reach = {date(2026, 11, 29) - timedelta(days=k): k for k in range(20)}
    followers = {date(2026, 11, 27): 40}  # Meta sent no follower total for the last two days
    weeks = page_insights.weeks_of(reach, followers)
    assert [w[0] for w in weeks] == [date(2026, 11, 29), date(2026, 11, 22), date(2026, 11, 15)]
    assert weeks[0] == (date(2026, 11, 29), 40, 0) and weeks[1] == (date(2026, 11, 22), None, 7)
    assert page_insights.weeks_of({}, {}) == []


async def test_the_owners_dashboard_draws_the_weeks_with_leads_per_week(client, clinic, meta, meta_settings):
    await _connected(clinic, meta_settings)
    _meta_reports(meta)
    await page_insights.fetch(meta_settings, now=NOW)
    for when, source in ((datetime(2026, 11, 25, 10, tzinfo=timezone.utc), "facebook"),
                         (datetime(2026, 11, 29, 23, tzinfo=timezone.utc), "instagram"),
                         (datetime(2026, 11, 30, 1, tzinfo=timezone.utc), "facebook"),  # the next week
                         (datetime(2026, 11, 26, 10, tzinfo=timezone.utc), "")):  # wrote by email: not from ads
        await Lead.insert(Lead(clinic=clinic.clinic_id, email=f"{when.day}@lead.test", source=source,
                               created_at=when))
    figures = await page_insights.weekly(clinic)
    assert [(w["week_ending"], w["leads"]) for w in figures["weeks"]][-2:] == [
        (date(2026, 11, 22), 0), (date(2026, 11, 29), 2)]
    assert len(figures["bars"]) == 5 and figures["bars"][-1]["h"] == 110  # the highest reach fills the chart
    await sign_in_as(client, clinic)
    page = await client.get("/dashboard/figures")
    assert page.status_code == 200 and 'id="social-insights"' in page.text and "<svg" in page.text
    assert "<td>1.300</td>" in page.text or "<td>1,300</td>" in page.text  # the clinic's number format
    assert page.text.count('class="insights-dot"') == 5 and "<polyline" in page.text
    receptionist = await factories.make_staff(clinic, Role.RECEPTIONIST)
    await sign_in_as(client, receptionist)
    assert 'id="social-insights"' not in (await client.get("/dashboard/figures")).text


async def test_without_a_page_the_dashboard_shows_no_social_panel(client, clinic):
    await sign_in_as(client, clinic)
    assert await page_insights.weekly(clinic) is None
    assert 'id="social-insights"' not in (await client.get("/dashboard/figures")).text


async def test_disconnecting_deletes_the_insights_with_the_token(clinic, meta, meta_settings):
    await _connected(clinic, meta_settings)
    _meta_reports(meta)
    await page_insights.fetch(meta_settings, now=NOW)
    app = create_app(meta_settings, manage_pool=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web:
        await sign_in_as(web, clinic)
        assert (await factories.post_form(web, "/settings/social/disconnect")).status_code == 303
    assert await MetaPageInsight.count() == 0
    [proof] = await MetaDisconnection.select().output(load_json=True)
    assert proof["deleted"]["insights"] == 5 and proof["deleted"]["tokens"] == 1
    # A fetch that raced the disconnection keeps nothing: the Page is gone.
    assert await page_insights.fetch(meta_settings, now=NOW) == 0 and await MetaPageInsight.count() == 0
    # Left-overs written before the disconnection was committed are found by the check.
    await MetaPageInsight.insert(MetaPageInsight(clinic=clinic.clinic_id, page_id=PAGE_ID, week_ending=NOW.date(),
                                                 followers=1, reach=1, fetched_at=NOW))
    assert await social.verify_disconnections() == 1
    [proof] = await MetaDisconnection.select().output(load_json=True)
    assert proof["verified"]["insights"] == 1 and await MetaPageInsight.count() == 0
