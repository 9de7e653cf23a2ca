"""The dashboard: today's clinic at a glance, with a chart of new patients."""

import re

from portal.permissions import Role
from tests import factories
from tests.factories import sign_in_as


async def test_dashboard_counts_patients_and_charts_this_month(client, clinic, other_clinic):
    for _ in range(3):
        await factories.make_patient(clinic)
    await factories.make_patient(other_clinic)
    await sign_in_as(client, clinic)
    page = await client.get("/")
    assert page.status_code == 200
    assert '<p class="stat">3</p>' in page.text and '<p class="stat">1</p>' in page.text
    assert "<svg" in page.text and ": 3</title>" in page.text


async def test_the_rarely_changing_figures_load_after_the_page(client, clinic):
    await sign_in_as(client, clinic)
    page = (await client.get("/")).text
    assert 'hx-get="/dashboard/figures" hx-trigger="load"' in page and 'id="owner-figures"' not in page
    figures = await client.get("/dashboard/figures", headers={"HX-Request": "true"})
    assert figures.status_code == 200 and "<html" not in figures.text
    assert '<div id="dashboard-figures">' in figures.text and 'id="owner-figures"' in figures.text


async def test_the_months_are_named_in_the_readers_language_each_time(clinic):
    from babel.dates import format_date

    from portal import dashboard, i18n

    english = await dashboard.clinic_overview(clinic)
    with i18n.using("nl"):
        dutch = await dashboard.clinic_overview(clinic)
        nl = i18n.babel_locale()
    months = [dashboard._shift_month(english["today"].replace(day=1), -k) for k in range(5, -1, -1)]
    assert [m["label"] for m in dutch["new_patients"]] == [format_date(m, "LLL", locale=nl) for m in months]
    assert [m["label"] for m in english["new_patients"]] != [m["label"] for m in dutch["new_patients"]]
    assert [m["label"] for m in (await dashboard.clinic_overview(clinic))["new_patients"]] == [
        m["label"] for m in english["new_patients"]]


def test_the_bar_chart_scales_to_its_tallest_bar_and_escapes_its_labels():
    from portal.views.bar_chart import bar_chart

    svg = bar_chart([{"label": "Jan", "count": 3}, {"label": "<Feb>", "count": 0}, {"label": "Mar", "count": 6}],
                    "New & returning")
    assert svg.startswith('<svg class="bar-chart" viewBox="0 0 240 160"')
    assert '<title id="chart-title">New &amp; returning</title>' in svg
    assert '<rect x="10" y="80.0" width="60" height="50.0" class="bar"><title>Jan: 3</title></rect>' in svg
    assert '<rect x="170" y="30.0" width="60" height="100.0" class="bar"><title>Mar: 6</title></rect>' in svg
    assert "<title>&lt;Feb&gt;: 0</title>" in svg and "<Feb>" not in svg
    assert 'y="25.0" text-anchor="middle" class="bar-value">6</text>' in svg


async def test_a_reload_keeps_its_counts_until_the_tally_or_the_staff_moves(client, clinic, monkeypatch):
    """The counts are kept under the today board's calendar version (which the tally moves) and the set-up
    version (which a staff change moves): a reload is one statement, and a new patient or colleague shows at once."""
    await factories.make_patient(clinic)
    await sign_in_as(client, clinic)
    assert '<p class="stat">1</p>' in (await client.get("/")).text
    sent = factories.statements_sent(monkeypatch, lambda sql: "web_session" not in sql)
    assert (await client.get("/")).status_code == 200
    assert len(sent) == 1 and "FROM calendar_version" in sent[0]  # no one booked today: nobody shown, no audit row
    await factories.make_patient(clinic)
    await factories.make_patient(clinic)
    sent.clear()
    page = (await client.get("/")).text
    assert '<p class="stat">3</p>' in page and ": 3</title>" in page
    assert any("FROM patient_tally" in sql for sql in sent)
    await factories.make_staff(clinic, Role.DENTIST, name="Dr. Visser")
    staff_counts = re.findall(r'<p class="stat">(\d+)</p>', (await client.get("/")).text)
    assert staff_counts[:2] == ["3", "2"]
