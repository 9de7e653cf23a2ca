"""The dashboard: today's clinic at a glance, with a chart of new patients."""

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
